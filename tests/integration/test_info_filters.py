# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""mcm_info filters and labels (issue 18 items 1 and 3) through ansible-playbook against simulator nodes.

Labels are written as the reserved env marker directly through the node API (what mcm_mim ``labels`` keeps), so
these tests do not depend on that option."""

from __future__ import annotations

import json
import os

import requests

from mcm_it import ROOT, counter_tar, image_task

LABELS_KEY = 'MIMOE_LABELS'
COMPOSITION_KEY = 'MIMOE_COMPOSITION'


def encode_labels(labels):
    """The marker as mcm_mim writes it: compact JSON with sorted keys."""
    return json.dumps(labels, sort_keys=True, separators=(',', ':'))


def deploy_raw(node, name, image, env, legacy=False):
    """POST a mim to the node as another tool would (the reserved markers included)."""
    path = '/mcm/v1/containers' if legacy else '/mcm/v1/mims'
    answer = requests.post(node.url + path, json={'name': name, 'image': image, 'env': env},
                           headers={'Authorization': 'Bearer ' + node.api_key}, timeout=20)
    assert answer.status_code in (200, 201), answer.text


def labelled_node(nodes, ansible, tmp_path):
    tars = [counter_tar(tmp_path, 'counter-v1'), counter_tar(tmp_path, 'shop-v1'), counter_tar(tmp_path, 'spare-v1')]
    ansible.run([image_task(tar) for tar in tars])
    for host, node in nodes.items():
        legacy = host == 'legacy'
        deploy_raw(node, 'web', 'counter-v1', {'MCM.BASE_API_PATH': '/web/v1',
                                               LABELS_KEY: encode_labels({'tier': 'web', 'canary': 'yes'})}, legacy)
        deploy_raw(node, 'cart', 'shop-v1', {'MCM.BASE_API_PATH': '/cart/v1', COMPOSITION_KEY: 'shop',
                                             LABELS_KEY: encode_labels({'tier': 'web'})}, legacy)
        deploy_raw(node, 'pay', 'shop-v1', {'MCM.BASE_API_PATH': '/pay/v1', COMPOSITION_KEY: 'shop'}, legacy)


def info(filters=None, **args):
    return {'name': 'info', 'mimoe.edge.mcm_info': dict(args, **(filters or {}))}


def test_filters_select_mims_and_images_on_real_nodes(both, tmp_path):
    nodes, ansible = both
    labelled_node(nodes, ansible, tmp_path)
    digest = requests.get(nodes['current'].url + '/mcm/v1/images', timeout=20,
                          headers={'Authorization': 'Bearer ' + nodes['current'].api_key}).json()['data']
    shop_digest = [i['digest'] for i in digest if i['name'] == 'shop-v1'][0]
    run = ansible.run([
        info(),
        info({'mim_filters': {'label': ['tier=web', 'canary']}}),
        info({'mim_filters': {'label': ['tier=web']}, 'images': False}),
        info({'mim_filters': {'composition': ['shop'], 'state': ['started', 'running']}}),
        info({'mim_filters': {'image': [shop_digest]}}),
        info({'mim_filters': {'name': ['c*', 'we?']}}),
        info({'image_filters': {'in_use': False}}),
        info({'image_filters': {'name': ['shop-*', 'counter-*'], 'in_use': True}}),
    ], check=True)
    current = run.host('current')
    names = [[m['name'] for m in r['mims']] for r in current]
    assert names[0] == ['web', 'cart', 'pay']
    assert names[1:6] == [['web'], ['web', 'cart'], ['cart', 'pay'], ['cart', 'pay'], ['web', 'cart']]
    assert [i['name'] for i in current[6]['images']] == ['spare-v1']
    assert [i['name'] for i in current[7]['images']] == ['counter-v1', 'shop-v1']
    everything = dict((m['name'], m) for m in current[0]['mims'])
    assert everything['web']['labels'] == {'tier': 'web', 'canary': 'yes'}
    assert everything['pay']['labels'] == {} and everything['pay']['composition'] == 'shop'
    assert LABELS_KEY not in json.dumps(current)  # never shown as env or spec_env
    assert all(not r['changed'] for r in current)

    # Legacy: the node filters env out of its answers, so no labels or composition can be read; state and image
    # filters still work, and image usage still counts.
    legacy = run.host('legacy')
    assert [m['name'] for m in legacy[3]['mims']] == []
    assert [m['name'] for m in legacy[5]['mims']] == ['web', 'cart']
    assert [i['name'] for i in legacy[6]['images']] == ['spare-v1']


def test_a_bad_filter_fails_with_the_field_and_the_fix(sim, ansible_for):
    ansible = ansible_for({'current': sim('current')})
    run = ansible.run([info({'mim_filters': {'label': ['=x']}})], expect_rc=2)
    failed = run.host('current')[0]
    assert failed['_status'] == 'failed' and 'mim_filters.label' in failed['msg'] and 'key=value' in failed['msg']
    assert 'Traceback' not in run.stdout + run.stderr


def module_examples(name):
    """The tasks of a module's EXAMPLES (its first play), read from the module file."""
    import ast
    import yaml
    path = os.path.join(ROOT, 'plugins', 'modules', name + '.py')
    with open(path, encoding='utf-8') as handle:
        tree = ast.parse(handle.read())
    text = [node.value.value for node in tree.body if isinstance(node, ast.Assign)
            and getattr(node.targets[0], 'id', None) == 'EXAMPLES'][0]
    return yaml.safe_load(text)[0]['tasks']


def test_the_documented_examples_run(sim, ansible_for, tmp_path):
    """Every task of mcm_info's EXAMPLES runs against a node (the play's module_defaults point at it)."""
    node = sim('current')
    ansible = ansible_for({'edge': node})
    ansible.run([image_task(counter_tar(tmp_path, 'hello-v1'))])
    deploy_raw(node, 'hello-v1', 'hello-v1', {'MCM.BASE_API_PATH': '/hello/v1', COMPOSITION_KEY: 'shop',
                                              LABELS_KEY: encode_labels({'tier': 'web', 'canary': 'yes'})})
    tasks = module_examples('mcm_info')
    run = ansible.run(tasks)
    results = dict((r['_task'], r) for r in run.host('edge'))
    assert all(r['_status'] in ('ok', 'skipped') for r in results.values()), run.explain()
    selected = results['The started mims of the shop composition labelled tier=web, and the images no mim uses']
    assert [m['name'] for m in selected['mims']] == ['hello-v1'] and selected['images'] == []
    assert [m['name'] for m in results['The mims that run hello images, by name pattern or by digest']['mims']] \
        == ['hello-v1']
