# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""mcm_prune: unused images with filters, purge of mims by name / composition / label, check mode, idempotency."""

from __future__ import annotations

import time

import pytest

from ansible_collections.mimoe.edge.plugins.module_utils._markers import COMPOSITION_KEY, encode_labels
from ansible_collections.mimoe.edge.plugins.module_utils._mcm_prune import parse_duration
from ansible_collections.mimoe.edge.plugins.modules import mcm_prune

from fake_mcm import FakeNode, write_kinds


def fill(node):
    """Images a (used), b, c-old (unused); mims a-web (image a, composition shop, tier=web)."""
    for name in ('a', 'b', 'c-old'):
        node.add_image(name, 'sha256:' + name[0] * 64, created=int(time.time()) - 60)
    node.images[2]['created'] = 1000  # long ago
    node.add_mim('a-web', 'a', {COMPOSITION_KEY: 'shop', 'MIMOE_LABELS': encode_labels({'tier': 'web'})})
    return node


def test_prune_unused_images_then_idempotent(node, run_module):
    fill(node)
    dry = run_module(mcm_prune, node, {}, check=True, diff=True)
    assert dry['changed'] is True and node.writes == []
    assert dry['images'] == ['b', 'c-old'] and dry['mims'] == [] and dry['bytes_freed'] == 20
    assert dry['diff'] == {'before': {'images': ['a', 'b', 'c-old'], 'mims': ['a-web']},
                           'after': {'images': ['a'], 'mims': ['a-web']}}
    real = run_module(mcm_prune, node, {})
    assert real['actions'] == dry['actions'] == ['removed image b', 'removed image c-old']
    assert [i['name'] for i in node.images] == ['a']
    again = run_module(mcm_prune, node, {})
    assert again['changed'] is False and again['actions'] == [] and again['bytes_freed'] == 0


def test_image_filters_name_keep_until(node, run_module):
    fill(node)
    assert run_module(mcm_prune, node, {'filters': {'name': ['c-*', 'b'], 'keep': ['b']}},
                      check=True)['images'] == ['c-old']
    assert run_module(mcm_prune, node, {'filters': {'until': '24h'}}, check=True)['images'] == ['c-old']
    bad = run_module(mcm_prune, node, {'filters': {'until': 'soon'}})
    assert bad['failed'] is True and 'filters.until must be a duration' in bad['msg'] and node.writes == []


def test_purge_selected_mims_and_only_their_images(node, run_module):
    fill(node)
    node.add_image('d', 'sha256:' + 'd' * 64)
    node.add_mim('d-api', 'd', {COMPOSITION_KEY: 'other'})
    result = run_module(mcm_prune, node, {'mims': True, 'mims_filters': {'label': ['tier=web']}}, diff=True)
    assert result['mims'] == ['a-web'] and result['images'] == ['a']  # b, c-old: unused but not the purge's
    assert write_kinds(node) == ['delete', 'delete_image']
    assert sorted(i['name'] for i in node.images) == ['b', 'c-old', 'd']
    assert run_module(mcm_prune, node, {'mims': True, 'mims_filters': {'label': ['tier=web']}})['changed'] is False
    by_composition = run_module(mcm_prune, node, {'mims': True, 'mims_filters': {'composition': 'other'}})
    assert by_composition['mims'] == ['d-api'] and by_composition['images'] == ['d']


def test_purge_everything_and_keep(node, run_module):
    fill(node)
    node.add_image('d', 'sha256:' + 'd' * 64)
    node.add_mim('d-api', 'd', {})
    result = run_module(mcm_prune, node, {'mims': True, 'mims_filters': {'keep': ['d-*']}, 'images': False})
    assert result['mims'] == ['a-web'] and result['images'] == [] and [m['name'] for m in node.mims] == ['d-api']
    everything = run_module(mcm_prune, node, {'mims': True})
    assert everything['mims'] == ['d-api'] and everything['images'] == ['d']


def test_legacy_node_label_filter_is_refused_and_name_works(run_module):
    node = fill(FakeNode(api='legacy'))
    refused = run_module(mcm_prune, node, {'mims': True, 'mims_filters': {'label': ['tier']}})
    assert refused['failed'] is True and 'legacy node does not return the env' in refused['msg']
    assert node.writes == []
    result = run_module(mcm_prune, node, {'mims': True, 'mims_filters': {'name': ['a-*']}})
    assert result['mims'] == ['a-web'] and result['images'] == ['a']


def test_unknown_sizes_give_no_bytes_freed(node, run_module):
    fill(node)
    node.images[1]['size'] = None
    assert run_module(mcm_prune, node, {}, check=True)['bytes_freed'] is None


@pytest.mark.parametrize('text,seconds', [('90', 90), ('30m', 1800), ('1h30m', 5400), ('7d', 604800), ('2h', 7200)])
def test_durations(text, seconds):
    assert parse_duration(text, 'x') == seconds


def test_an_image_the_legacy_node_counts_as_used_is_kept(run_module):
    node = fill(FakeNode(api='legacy'))
    view = node.image_view
    node.image_view = lambda img: dict(view(img), containers=1 if img['name'] == 'b' else 0)
    assert run_module(mcm_prune, node, {}, check=True)['images'] == ['c-old']


def test_a_purge_on_legacy_discounts_the_containers_it_removed(run_module):
    """The image listing (with its containers count) is read before the purge removes the mims."""
    node = fill(FakeNode(api='legacy'))
    view = node.image_view
    node.image_view = lambda img: dict(view(img), containers=sum(1 for m in node.mims if m['image'] == img['name']))
    result = run_module(mcm_prune, node, {'mims': True})
    assert result['mims'] == ['a-web'] and result['images'] == ['a']
