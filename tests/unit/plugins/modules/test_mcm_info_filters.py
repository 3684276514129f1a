# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""mcm_info filters (issue 18 items 1 and 3): mims by state, status, image, label, composition and name pattern;
images by name pattern, use and digest; labels shown as ``labels``, never as env."""

from __future__ import annotations

import json

from ansible_collections.mimoe.edge.plugins.module_utils._markers import (
    COMPOSITION_KEY, LABELS_KEY, RELEASE_KEY, encode_labels, encode_release,
)
from ansible_collections.mimoe.edge.plugins.modules import mcm_info

from fake_mcm import write_kinds

DIGEST_A = 'sha256:' + 'a' * 64
DIGEST_B = 'sha256:' + 'b' * 64
DIGEST_C = 'sha256:' + 'c' * 64
RELEASE_DIGEST = 'sha256:' + 'd' * 64


def fleet(node):
    node.add_image('hello-v1', DIGEST_A)
    node.add_image('shop-v1', DIGEST_B)
    node.add_image('unused-v1', DIGEST_C)
    node.add_mim('hello-v1', 'hello-v1', {'GREETING': 'hi', LABELS_KEY: encode_labels({'tier': 'web', 'canary': 'yes'}),
                                          RELEASE_KEY: encode_release(dict(image='hello-v1', digest=RELEASE_DIGEST))})
    node.add_mim('hello-v2', 'hello-v1', {LABELS_KEY: encode_labels({'tier': 'api'})}, state='stopped')
    node.add_mim('cart', 'shop-v1', {COMPOSITION_KEY: 'shop', LABELS_KEY: encode_labels({'tier': 'web'})})
    node.add_mim('pay', 'shop-v1', {COMPOSITION_KEY: 'shop'})
    node.mims[-1]['status'] = 'crashed'
    return node


def names(result, kind='mims'):
    return [item['name'] for item in result[kind]]


def mims_with(run_module, node, **filters):
    return names(run_module(mcm_info, node, dict(images=False, mim_filters=filters)))


def test_every_mim_has_labels_and_composition_and_the_marker_is_not_env(node, run_module):
    fleet(node)
    result = run_module(mcm_info, node, {})
    by_name = dict((m['name'], m) for m in result['mims'])
    assert by_name['hello-v1']['labels'] == {'tier': 'web', 'canary': 'yes'}
    assert by_name['pay']['labels'] == {} and by_name['pay']['composition'] == 'shop'
    assert by_name['hello-v1']['composition'] is None
    for mim in result['mims']:
        assert LABELS_KEY not in mim['env'] and LABELS_KEY not in mim['spec_env']
    assert LABELS_KEY not in result['_raw']
    unmasked = run_module(mcm_info, node, dict(unmask_secret_env=True))
    assert LABELS_KEY not in unmasked['_raw']
    assert result['changed'] is False and write_kinds(node) == []


def test_state_status_and_name_patterns(node, run_module):
    fleet(node)
    assert mims_with(run_module, node, state=['STOPPED']) == ['hello-v2']
    assert mims_with(run_module, node, status=['crashed']) == ['pay']
    assert mims_with(run_module, node, state=['started'], status=['up']) == ['hello-v1', 'cart']
    assert mims_with(run_module, node, name=['hello-*']) == ['hello-v1', 'hello-v2']
    assert mims_with(run_module, node, name=['hello-*', 'ca?t']) == ['hello-v1', 'hello-v2', 'cart']


def test_labels_are_anded_key_or_key_value(node, run_module):
    fleet(node)
    assert mims_with(run_module, node, label=['tier=web']) == ['hello-v1', 'cart']
    assert mims_with(run_module, node, label=['tier']) == ['hello-v1', 'hello-v2', 'cart']
    assert mims_with(run_module, node, label=['tier=web', 'canary']) == ['hello-v1']
    assert mims_with(run_module, node, label=['tier=web', 'canary=no']) == []
    assert mims_with(run_module, node, label=['tier=']) == []  # set to the empty value: none is


def test_image_by_name_or_digest_and_composition(node, run_module):
    fleet(node)
    assert mims_with(run_module, node, image=['shop-v1']) == ['cart', 'pay']
    assert mims_with(run_module, node, image=[DIGEST_A]) == ['hello-v1', 'hello-v2']
    assert mims_with(run_module, node, image=[RELEASE_DIGEST]) == ['hello-v1']  # its release marker
    assert mims_with(run_module, node, image=['sha265:' + 'B' * 64]) == ['cart', 'pay']  # a real node's spelling
    assert mims_with(run_module, node, composition=['shop']) == ['cart', 'pay']
    assert mims_with(run_module, node, composition=['shop'], label=['tier=web']) == ['cart']


def test_image_filters(node, run_module):
    fleet(node)

    def images(**filters):
        return names(run_module(mcm_info, node, dict(mims=False, image_filters=filters)), 'images')
    assert images(in_use=False) == ['unused-v1']
    assert images(in_use=True) == ['hello-v1', 'shop-v1']
    assert images(name=['*-v1'], in_use=True) == ['hello-v1', 'shop-v1']
    assert images(name=['shop*']) == ['shop-v1']
    assert images(digest=[DIGEST_C.upper().replace('SHA256', 'sha256')]) == ['unused-v1']
    assert images(digest=[RELEASE_DIGEST]) == ['hello-v1']


def test_filters_and_name_and_compare_together(node, run_module, tmp_path):
    fleet(node)
    result = run_module(mcm_info, node, dict(name=['hello-v1', 'cart'], mim_filters={'label': ['tier=web']},
                                             image_filters={'in_use': True},
                                             compare_mim=dict(name='pay', image='shop-v1'),
                                             fingerprint_file=str(tmp_path / 'f.json')))
    assert names(result) == ['hello-v1', 'cart'] and names(result, 'images') == ['hello-v1']
    assert result['mim_comparison']['name'] == 'pay'  # the comparison sees mims the filters leave out


def test_bad_filters_name_the_field(node, run_module):
    fleet(node)
    bad_label = run_module(mcm_info, node, dict(mim_filters={'label': ['=web']}))
    assert bad_label['failed'] and 'mim_filters.label' in bad_label['msg'] and 'key=value' in bad_label['msg']
    bad_digest = run_module(mcm_info, node, dict(image_filters={'digest': ['sha256:abc']}))
    assert bad_digest['failed'] and 'image_filters.digest' in bad_digest['msg']
    bad_image = run_module(mcm_info, node, dict(mim_filters={'image': ['sha256:xyz']}))
    assert bad_image['failed'] and 'mim_filters.image' in bad_image['msg']
    assert 'Traceback' not in json.dumps([bad_label, bad_digest, bad_image])
    assert write_kinds(node) == []


def test_legacy_node_that_hides_env_has_no_labels(legacy_node, run_module):
    """A legacy node may filter env out of its answers (seed 002): its mims show no labels, and a label filter
    selects none of them rather than guessing; the other filters work."""
    fleet(legacy_node)
    assert mims_with(run_module, legacy_node, state=['started']) == ['hello-v1', 'cart', 'pay']
    assert mims_with(run_module, legacy_node, label=['tier=web']) == []
    assert all(m['labels'] == {} for m in run_module(mcm_info, legacy_node, {})['mims'])
