# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Issue 18 item 3 against simulator nodes: mims' labels (the reserved env marker, written here as mcm_mim
``labels`` keeps it) become inventory groups, and the fleet report shows them, from the inventory plugin and from
a static inventory read with mcm_info."""

from __future__ import annotations

import json
import os
import sys

import pytest
import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from inventory_it import (  # noqa: E402  pylint: disable=wrong-import-position
    ANSIBLE_PLAYBOOK, ROOT, deploy_mim, groups_of, image_bytes, inventory_list, plain, run, upload_image,
)
from mimoe_sim.testing import SimNode  # noqa: E402  pylint: disable=wrong-import-position

TOKEN = 'Labels-Fleet-Key-81c4'
LABELS_KEY = 'MIMOE_LABELS'


def marker(labels):
    return json.dumps(labels, sort_keys=True, separators=(',', ':'))


@pytest.fixture
def nodes(tmp_path):
    started = [SimNode(data_dir=str(tmp_path / ('n%d' % i)), api_key=TOKEN).start() for i in range(3)]
    labels = [{'tier': 'web', 'ring': 'canary'}, {'tier': 'web'}, None]
    for node, mim_labels in zip(started, labels):
        upload_image(node.url, TOKEN, image_bytes('hello-v1', '1.0.0'))
        env = {'MCM.BASE_API_PATH': '/hello/v1', 'API_KEY': 'Labels-Mim-Secret'}
        if mim_labels:
            env[LABELS_KEY] = marker(mim_labels)
        deploy_mim(node.url, TOKEN, 'current', 'hello-v1', 'hello-v1', env)
    yield started
    for node in started:
        node.close()


def config(tmp_path, nodes):
    path = tmp_path / 'fleet.mcm_nodes.yml'
    path.write_text(yaml.safe_dump({
        'plugin': 'mimoe.edge.mcm_nodes', 'timeout': 5,
        'nodes': [{'url': n.url, 'name': 'node%d' % i} for i, n in enumerate(nodes)],
        'keyed_groups': [{'key': 'mcm_labels', 'prefix': 'label'}],
        'groups': {'canary_ring': "(mcm_mim_labels['hello-v1'] | default({})).ring | default('') == 'canary'"},
    }))
    return path


def test_groups_by_label_and_hostvars(nodes, tmp_path):
    done = inventory_list([config(tmp_path, nodes)], tmp_path, MCM_TOKEN=TOKEN)
    assert done.rc == 0, done.explain()
    groups = groups_of(done.data)
    assert groups['label_tier_web'] == ['node0', 'node1']
    assert groups['label_ring_canary'] == ['node0'] and groups['canary_ring'] == ['node0']
    hostvars = plain(done.data['_meta']['hostvars'])
    assert hostvars['node0']['mcm_labels'] == ['ring=canary', 'tier=web']
    assert hostvars['node0']['mcm_mims'][0]['labels'] == {'ring': 'canary', 'tier': 'web'}
    assert hostvars['node2']['mcm_labels'] == [] and hostvars['node2']['mcm_mim_labels'] == {'hello-v1': {}}
    assert 'Labels-Mim-Secret' not in done.stdout and LABELS_KEY not in done.stdout


def report(work, inventory):
    done = run([ANSIBLE_PLAYBOOK, '-i', str(inventory), os.path.join(ROOT, 'playbooks', 'report.yml'),
                '-e', 'report_dir=%s' % (work / 'out')], work, MCM_TOKEN=TOKEN)
    assert done.rc == 0, done.explain()
    with open(work / 'out' / 'report.json', encoding='utf-8') as fh:
        data = json.load(fh)
    with open(work / 'out' / 'report.html', encoding='utf-8') as fh:
        page = fh.read()
    return dict((n['name'], n) for n in data['nodes']), page


@pytest.mark.parametrize('source', ['plugin', 'static'])
def test_report_shows_labels(nodes, tmp_path, source):
    if source == 'plugin':
        inventory = config(tmp_path, nodes)
    else:  # the mcm_info path of report.yml
        inventory = tmp_path / 'hosts.yml'
        inventory.write_text(yaml.safe_dump({'all': {'children': {'mimoe_nodes': {'hosts': dict(
            ('node%d' % i, {'mcm_url': n.url, 'mcm_token': TOKEN, 'ansible_connection': 'local',
                            'ansible_python_interpreter': sys.executable})
            for i, n in enumerate(nodes))}}}}))
    by_name, page = report(tmp_path, inventory)
    assert by_name['node0']['labels'] == ['ring=canary', 'tier=web']
    assert by_name['node0']['mims']['hello-v1']['labels'] == {'ring': 'canary', 'tier': 'web'}
    assert by_name['node2']['labels'] == []
    assert 'data-labels="ring=canary tier=web"' in page
