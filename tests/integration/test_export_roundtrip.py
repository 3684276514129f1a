# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""mcm_export and playbooks/export.yml against simulator nodes (issue 18 item 5): deploy on one node, export,
apply the exported file to a fresh node with mcm_mim / mcm_composition, export again gives the same spec, and
applying it again to the first node changes nothing."""

from __future__ import annotations

import json
import os
import sys

import requests
import yaml

from mcm_it import SECRET, counter_tar, image_task, write_requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from inventory_it import ANSIBLE_PLAYBOOK, ROOT, run  # noqa: E402  pylint: disable=wrong-import-position

JINJA = "{{ lookup('pipe', 'echo PWNED') }}"
ON_ONE = "inventory_hostname == 'one'"


def deploy_tasks(tars):
    """What the first node runs: a standalone mim with a secret, and a composition of two (one with a secret)."""
    return [image_task(tar) for tar in tars] + [
        {'name': 'web', 'when': ON_ONE, 'mimoe.edge.mcm_mim': {
            'name': 'web', 'image': 'counter-v1', 'env': {'MCM.BASE_API_PATH': '/web/v1', 'GREETING': 'hello'},
            'secret_env': {'API_KEY': SECRET}}},
        {'name': 'shop', 'when': ON_ONE, 'mimoe.edge.mcm_composition': {'name': 'shop', 'mims': [
            {'name': 'cart', 'image': 'shop-v1', 'env': {'MCM.BASE_API_PATH': '/cart/v1'},
             'secret_env': {'TOKEN': SECRET}},
            {'name': 'pay', 'image': 'shop-v1', 'env': {'MCM.BASE_API_PATH': '/pay/v1', 'CURRENCY': 'EUR'}}]}},
    ]


def export_task(tmp_path, name='export'):
    return {'name': name, 'mimoe.edge.mcm_export': {'dest': str(tmp_path) + '/{{ inventory_hostname }}.yml'}}


def apply_tasks(path):
    """The apply side, as a user writes it: the exported file, its secret values filled in, loaded and applied."""
    return [
        {'name': 'load', 'ansible.builtin.include_vars': {'file': str(path), 'name': 'exported'}},
        {'name': 'mims', 'mimoe.edge.mcm_mim': {'name': '{{ item.name }}', 'image': '{{ item.image }}',
                                                'env': '{{ item.env }}',
                                                'secret_env': '{{ item.secret_env | default({}) }}'},
         'loop': '{{ exported.mims }}', 'loop_control': {'label': '{{ item.name }}'}},
        {'name': 'compositions', 'mimoe.edge.mcm_composition': {'name': '{{ item.name }}', 'mims': '{{ item.mims }}'},
         'loop': '{{ exported.compositions }}', 'loop_control': {'label': '{{ item.name }}'}},
    ]


def fill_secrets(source, target):
    """What the user does with the export before applying it: supply every secret value (null in the file)."""
    spec = yaml.safe_load(source.read_text())
    for mim in spec['mims'] + [m for c in spec['compositions'] for m in c['mims']]:
        for key in mim.get('secret_env') or {}:
            mim['secret_env'][key] = SECRET
    target.write_text(yaml.safe_dump(spec))


def test_export_apply_export_round_trip(sim, ansible_for, tmp_path):
    nodes = {'one': sim('current'), 'two': sim('current')}
    ansible = ansible_for(nodes)
    tars = [counter_tar(tmp_path, 'counter-v1'), counter_tar(tmp_path, 'shop-v1')]
    ansible.run(deploy_tasks(tars))

    exported = ansible.run([export_task(tmp_path)], diff=True)
    one = exported.host('one')[0]
    spec = one['spec']
    assert [m['name'] for m in spec['mims']] == ['web']
    assert spec['mims'][0]['secret_env'] == {'API_KEY': None}
    assert [(c['name'], [m['name'] for m in c['mims']]) for c in spec['compositions']] == [('shop', ['cart', 'pay'])]
    assert one['secret_env_keys'] == {'web': ['API_KEY'], 'cart': ['TOKEN']}
    assert one['changed'] and exported.host('two')[0]['spec']['mims'] == []
    assert SECRET not in json.dumps(exported.results) + exported.stdout
    assert SECRET not in (tmp_path / 'one.yml').read_text()

    # Apply to the fresh node: the images first (the export lists them; content comes from the build), then the file.
    fill_secrets(tmp_path / 'one.yml', tmp_path / 'filled.yml')
    ansible.run([dict(image_task(tar), when="inventory_hostname == 'two'") for tar in tars]
                + [dict(task, when="inventory_hostname == 'two'") for task in apply_tasks(tmp_path / 'filled.yml')])
    answer = requests.get(nodes['two'].url + '/api/web/v1/', headers={'Authorization': 'Bearer ' + SECRET},
                          timeout=20)
    assert answer.status_code == 200 and answer.json()['greeting'] == 'hello'  # the secret really was applied

    again = ansible.run([export_task(tmp_path)], diff=True)
    assert again.host('two')[0]['spec'] == spec
    assert (tmp_path / 'two.yml').read_text() == (tmp_path / 'one.yml').read_text()
    assert not again.host('one')[0]['changed']  # the file of node one is already up to date

    # Applying the export to the node it came from changes nothing, and the node sees no write.
    for node in nodes.values():
        node.reset_stats()
    back = ansible.run([dict(task, when=ON_ONE) for task in apply_tasks(tmp_path / 'filled.yml')])
    assert back.changed('one') == 0, back.explain()
    assert write_requests(nodes['one'].stats()) == 0


def test_a_secret_not_supplied_fails_and_deploys_nothing(sim, ansible_for, tmp_path):
    nodes = {'one': sim('current'), 'two': sim('current')}
    ansible = ansible_for(nodes)
    tars = [counter_tar(tmp_path, 'counter-v1'), counter_tar(tmp_path, 'shop-v1')]
    ansible.run(deploy_tasks(tars))
    ansible.run([export_task(tmp_path)])
    ansible.run([dict(image_task(tar), when="inventory_hostname == 'two'") for tar in tars])
    nodes['two'].reset_stats()
    failed = ansible.run([dict(task, when="inventory_hostname == 'two'") for task in apply_tasks(tmp_path / 'one.yml')],
                         expect_rc=2)
    result = [r for r in failed.host('two') if r['_task'] == 'mims'][0]
    assert result['_status'] == 'failed' and 'secret_env' in json.dumps(result)
    assert write_requests(nodes['two'].stats()) == 0


def test_fleet_export_playbook(sim, tmp_path):
    nodes = {'edge-a': sim('current'), 'edge-b': sim('current')}
    tar = counter_tar(tmp_path, 'counter-v1')
    for node in nodes.values():
        with open(tar, 'rb') as handle:
            answer = requests.post(node.url + '/mcm/v1/images', files={'image': ('i.tar', handle, 'application/x-tar')},
                                   headers={'Authorization': 'Bearer ' + node.api_key}, timeout=20)
        assert answer.status_code in (200, 201), answer.text
    # A node-sent value that looks like Jinja, and labels kept in the reserved marker (mcm_mim labels).
    answer = requests.post(nodes['edge-a'].url + '/mcm/v1/mims', headers={'Authorization': 'Bearer ' + nodes['edge-a'].api_key},
                           json={'name': 'web', 'image': 'counter-v1',
                                 'env': {'MCM.BASE_API_PATH': '/web/v1', 'NOTE': JINJA,
                                         'MIMOE_LABELS': json.dumps({'tier': 'web'})}}, timeout=20)
    assert answer.status_code in (200, 201), answer.text
    inventory = tmp_path / 'hosts.yml'
    inventory.write_text(yaml.safe_dump({'all': {'children': {'mimoe_nodes': {'hosts': dict(
        (name, {'mcm_url': node.url, 'mcm_token': node.api_key, 'ansible_connection': 'local',
                'ansible_python_interpreter': sys.executable}) for name, node in nodes.items())}}}}))
    playbook = os.path.join(ROOT, 'playbooks', 'export.yml')
    out = tmp_path / 'fleet.yml'

    def export(*extra):
        done = run([ANSIBLE_PLAYBOOK, '-i', str(inventory), playbook, '-e', 'export_file=%s' % out] + list(extra),
                   tmp_path)
        assert done.rc == 0, done.explain()
        return done

    check = export('--check')
    assert not out.exists() and 'changed=1' in check.stdout
    first = export()
    text = out.read_text()
    assert text.startswith('# mimOE fleet state exported by playbooks/export.yml')
    assert "NOTE: !unsafe '{{ lookup(''pipe'', ''echo PWNED'') }}'" in text
    fleet = yaml.safe_load(text.replace('!unsafe', ''))
    assert sorted(fleet['nodes']) == ['edge-a', 'edge-b'] and fleet['export_format'] == 1
    web = fleet['nodes']['edge-a']['mims'][0]
    assert web['labels'] == {'tier': 'web'} and web['env']['NOTE'] == JINJA
    assert fleet['nodes']['edge-b']['mims'] == [] and fleet['nodes']['edge-b']['images'][0]['used_by'] == []
    assert 'PWNED' not in first.stdout.replace("echo PWNED", '')
    second = export('--diff')
    assert 'changed=0' in second.stdout and 'changed=1' not in second.stdout

    # Loading the file never evaluates what a node sent.
    show = tmp_path / 'show.yml'
    show.write_text(yaml.safe_dump([{'hosts': 'localhost', 'gather_facts': False, 'tasks': [
        {'ansible.builtin.include_vars': {'file': str(out), 'name': 'fleet'}},
        {'ansible.builtin.debug': {'msg': "VALUE={{ fleet.nodes['edge-a'].mims[0].env.NOTE }}"}}]}]))
    shown = run([ANSIBLE_PLAYBOOK, '-i', 'localhost,', '-c', 'local', str(show)], tmp_path)
    assert shown.rc == 0, shown.explain()
    assert "VALUE={{ lookup('pipe', 'echo PWNED') }}" in shown.stdout
