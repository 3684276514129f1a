# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The EXAMPLES of mcm_prune run as written (only the connection defaults point at simulator nodes)."""

from __future__ import annotations

import ast
import os

import yaml

from mcm_it import ROOT, counter_tar, image_task, mim_task


def module_examples(name):
    """The EXAMPLES string of a module file (read, not imported: the collection is not on sys.path here)."""
    with open(os.path.join(ROOT, 'plugins', 'modules', name + '.py'), encoding='utf-8') as handle:
        tree = ast.parse(handle.read())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, 'id', None) == 'EXAMPLES' for t in node.targets):
            return ast.literal_eval(node.value)
    raise AssertionError('no EXAMPLES in %s' % name)


def test_mcm_prune_examples_run(sim, ansible_for, tmp_path):
    # A current node: the label example needs the env a legacy node does not return (that refusal has its own test).
    nodes = {'current': sim('current')}
    ansible = ansible_for(nodes)
    setup = [image_task(counter_tar(tmp_path)), image_task(counter_tar(tmp_path, name='hello-old-v1')),
             image_task(counter_tar(tmp_path, name='hello-base-v1')), mim_task()]
    assert ansible.run(setup).rc == 0
    plays = yaml.safe_load(module_examples('mcm_prune'))
    assert len(plays) == 1 and plays[0]['module_defaults']['group/mimoe.edge.mcm']
    run = ansible.run(plays[0]['tasks'])
    for host in nodes:
        results = run.host(host)
        assert [r['_status'] for r in results] == ['ok'] * len(plays[0]['tasks']), run.explain()
        pruned, filtered, canary, purge = results
        assert sorted(pruned['images']) == ['hello-base-v1', 'hello-old-v1']
        assert filtered['changed'] is False and canary['changed'] is False
        assert purge['mims'] == ['counter-v1'] and purge['images'] == ['counter-v1']
