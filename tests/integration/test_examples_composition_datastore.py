# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The EXAMPLES of mcm_composition and mcm_datastore run as written (only the connection defaults point at
simulator nodes)."""

from __future__ import annotations

import os

import yaml

from mcm_it import ROOT, counter_tar, image_task


def example_tasks(module):
    """The tasks of the one play in a module's EXAMPLES (cut from the file: the collection is not importable here)."""
    with open(os.path.join(ROOT, 'plugins', 'modules', module + '.py'), encoding='utf-8') as handle:
        plays = yaml.safe_load(handle.read().split("EXAMPLES = r'''", 1)[1].split("'''", 1)[0])
    assert len(plays) == 1 and plays[0]['module_defaults']['group/mimoe.edge.mcm']
    return plays[0]['tasks']


def test_mcm_composition_examples_deploy_then_purge(both, tmp_path):
    nodes, ansible = both
    setup = [image_task(counter_tar(tmp_path, name=name)) for name in ('catalog-v1', 'cart-v1')]
    assert ansible.run(setup).rc == 0
    tasks = [dict(task, vars={'cart_api_key': 'example-s3cret'}) for task in example_tasks('mcm_composition')]
    run = ansible.run(tasks)
    for host in nodes:
        deploy, purge = run.host(host)
        assert deploy['changed'] is True and deploy['deployed'] == ['catalog-v1', 'cart-v1'], run.explain()
        assert purge['removed'] == ['cart-v1', 'catalog-v1'] and purge['removed_images'] == ['cart-v1', 'catalog-v1']
        assert 'example-s3cret' not in run.stdout


def test_mcm_datastore_examples_back_up_restore_and_start(sim, ansible_for, tmp_path):
    nodes = {'current': sim('current')}  # the legacy API has no datastore call
    ansible = ansible_for(nodes)
    hello = {'name': 'hello-v1', 'image': 'hello-v1', 'env': {'MCM.BASE_API_PATH': '/hello/v1'}}
    assert ansible.run([image_task(counter_tar(tmp_path, name='hello-v1')),
                        {'name': 'mim', 'mimoe.edge.mcm_mim': hello}]).rc == 0
    run = ansible.run(example_tasks('mcm_datastore'))
    backup, restore, started = run.host('current')
    assert backup['status'] == 'completed' and backup['path'] == 'backups/hello-v1.json', run.explain()
    assert restore['status'] == 'completed' and restore['action'] == 'restore'
    assert started['changed'] is True and started['status'] in ('inProgress', 'completed')
