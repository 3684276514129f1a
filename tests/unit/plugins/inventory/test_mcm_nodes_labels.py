# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Issue 18 item 3: the inventory plugin exposes the mims' labels so keyed_groups/groups can group nodes by label;
labels come from the reserved marker, never with the rest of the env."""

from __future__ import annotations

import json

from ansible_collections.mimoe.edge.plugins.inventory.mcm_nodes import CACHE_FORMAT
from ansible_collections.mimoe.edge.plugins.module_utils._markers import COMPOSITION_KEY, LABELS_KEY, encode_labels
from ansible_collections.mimoe.edge.plugins.plugin_utils import _mcm_inventory as inv

from test_mcm_nodes import TOKEN, plugin_with, trusted

IMAGES = [{'id': 'api-hello-v1', 'name': 'hello-v1', 'repoTags': ['hello-v1:1.2.0'], 'digest': 'sha256:' + 'a' * 64}]


def mim(name, labels=None, **env):
    env = dict(env, API_KEY='never-in-the-inventory')
    if labels is not None:
        env[LABELS_KEY] = encode_labels(labels)
    return {'id': 'api-' + name, 'name': name, 'image': 'hello-v1', 'state': 'started', 'status': 'up', 'env': env}


def test_summaries_carry_labels_and_composition_not_env():
    mims = [mim('web', {'tier': 'web', 'ring': 'canary'}), mim('cart', {'tier': 'web'}, **{COMPOSITION_KEY: 'shop'}),
            mim('bare'), {'id': 'x', 'name': 'legacy', 'image': 'hello-v1', 'state': 'started'},
            mim('broken', None, **{LABELS_KEY: '{not json'})]
    summary = dict((m['name'], m) for m in inv.summarize_mims(mims, IMAGES))
    assert summary['web']['labels'] == {'ring': 'canary', 'tier': 'web'} and summary['web']['composition'] is None
    assert summary['cart']['composition'] == 'shop'
    assert summary['bare']['labels'] == {} and summary['legacy']['labels'] == {} and summary['broken']['labels'] == {}
    text = json.dumps(summary)
    assert 'never-in-the-inventory' not in text and LABELS_KEY not in text and 'env' not in text
    assert inv.node_labels(summary.values()) == ['ring=canary', 'tier=web']


def test_keyed_groups_and_groups_by_label():
    plugin = plugin_with({'keyed_groups': [{'key': trusted('mcm_labels'), 'prefix': 'label'}],
                          'groups': {'canary_ring': trusted(
                              "(mcm_mim_labels['web'] | default({})).ring | default('') == 'canary'")},
                          'strict': True})
    nodes = [{'name': n, 'url': 'http://%s:8083' % n, 'token': TOKEN, 'vars': {}, 'source': 'config'}
             for n in ('n1', 'n2', 'n3')]
    results = {
        'http://n1:8083': {'reachable': True, 'api': 'current', 'images': [],
                           'mims': inv.summarize_mims([mim('web', {'tier': 'web', 'ring': 'canary'})], IMAGES)},
        'http://n2:8083': {'reachable': True, 'api': 'current', 'images': [],
                           'mims': inv.summarize_mims([mim('web', {'tier': 'web'}), mim('db', {'tier': 'db'})],
                                                      IMAGES)},
        'http://n3:8083': {'reachable': False, 'reason': 'connection refused', 'mims': [], 'images': []},
    }
    plugin._populate(nodes, results)
    inventory = plugin.inventory

    def members(group):
        return sorted(h.name for h in inventory.groups[group].get_hosts())
    assert members('label_tier_web') == ['n1', 'n2']
    assert members('label_ring_canary') == ['n1'] and members('label_tier_db') == ['n2']
    assert members('canary_ring') == ['n1']
    n2 = inventory.get_host('n2').get_vars()
    assert n2['mcm_labels'] == ['tier=db', 'tier=web']
    assert n2['mcm_mim_labels'] == {'web': {'tier': 'web'}, 'db': {'tier': 'db'}}
    assert inventory.get_host('n3').get_vars()['mcm_labels'] == []


def test_cache_format_changed_so_old_caches_without_labels_are_read_again():
    assert CACHE_FORMAT == 2
