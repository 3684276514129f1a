# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""mcm_composition state=absent (purge of an application) and remove_images, against an in-memory node."""

from __future__ import annotations

from ansible_collections.mimoe.edge.plugins.modules import mcm_composition

from fake_mcm import write_kinds


def members():
    return [
        {'name': 'catalog-v1', 'image': 'catalog-v1', 'env': {'MCM.BASE_API_PATH': '/catalog/v1'}},
        {'name': 'cart-v1', 'image': 'cart-v1', 'env': {'MCM.BASE_API_PATH': '/cart/v1'},
         'secret_env': {'API_KEY': 'absent-s3cret'}},
    ]


def shop(node, run_module, extra_image_user=True):
    for name, hexdigit in (('catalog-v1', 'a'), ('cart-v1', 'b'), ('shared-v1', 'c')):
        node.add_image(name, 'sha256:' + hexdigit * 64)  # distinct: the legacy API names images by digest
    run_module(mcm_composition, node, dict(name='shop', mims=members()))
    # Not members: another composition and a loose mim, one of them on the image a member uses too.
    node.add_mim('other-v1', 'shared-v1', {'MIMOE_COMPOSITION': 'other'})
    if extra_image_user:
        node.add_mim('loose-v1', 'catalog-v1', {})
    del node.writes[:]
    return node


def test_absent_removes_the_members_and_only_the_images_they_alone_used(node, run_module):
    shop(node, run_module)
    check = run_module(mcm_composition, node, dict(name='shop', state='absent', remove_images=True), check=True,
                       diff=True)
    assert check['changed'] is True and node.writes == []
    assert check['removed'] == ['cart-v1', 'catalog-v1'] and check['removed_images'] == ['cart-v1']
    assert check['diff']['after'] == {'cart-v1': {'state': 'absent'}, 'catalog-v1': {'state': 'absent'},
                                      'image/cart-v1': {'state': 'absent'}}
    assert check['actions'] == ['removed mim catalog-v1', 'removed mim cart-v1', 'removed image cart-v1']

    real = run_module(mcm_composition, node, dict(name='shop', state='absent', remove_images=True), diff=True)
    assert real['changed'] is True and real['actions'] == check['actions']
    assert real['removed'] == check['removed'] and real['removed_images'] == ['cart-v1']
    assert write_kinds(node) == ['delete', 'delete', 'delete_image']
    assert sorted(m['name'] for m in node.mims) == ['loose-v1', 'other-v1']
    assert sorted(i['name'] for i in node.images) == ['catalog-v1', 'shared-v1']  # loose-v1 still uses catalog-v1
    assert 'absent-s3cret' not in real['_raw']

    again = run_module(mcm_composition, node, dict(name='shop', state='absent', remove_images=True))
    assert again['changed'] is False and again['removed'] == [] and again['removed_images'] == []
    assert write_kinds(node) == ['delete', 'delete', 'delete_image']


def test_absent_without_remove_images_keeps_every_image(node, run_module):
    shop(node, run_module, extra_image_user=False)
    result = run_module(mcm_composition, node, dict(name='shop', state='absent'))
    assert result['removed'] == ['cart-v1', 'catalog-v1'] and result['removed_images'] == []
    assert write_kinds(node) == ['delete', 'delete'] and len(node.images) == 3


def test_absent_with_mims_removes_listed_loose_mims_but_never_another_composition(node, run_module):
    shop(node, run_module)
    listed = members() + [{'name': 'loose-v1', 'image': 'catalog-v1'}, {'name': 'other-v1', 'image': 'shared-v1'}]
    result = run_module(mcm_composition, node, dict(name='shop', state='absent', mims=listed, remove_images=True))
    assert result['removed'] == ['cart-v1', 'catalog-v1', 'loose-v1']
    assert result['removed_images'] == ['cart-v1', 'catalog-v1']  # shared-v1: other-v1 of "other" still uses it
    assert [m['name'] for m in node.mims] == ['other-v1']


def test_prune_with_remove_images_removes_the_pruned_members_images(node, run_module):
    shop(node, run_module)
    result = run_module(mcm_composition, node, dict(name='shop', mims=members()[:1], prune=True, remove_images=True))
    assert result['pruned'] == ['cart-v1'] and result['removed_images'] == ['cart-v1']
    assert write_kinds(node) == ['delete', 'delete_image']


def test_present_needs_mims_and_absent_validates_them(node, run_module):
    result = run_module(mcm_composition, node, dict(name='shop'))
    assert result['failed'] is True and 'mims' in result['msg'] and 'state' in result['msg']
    bad = run_module(mcm_composition, node, dict(name='shop', state='absent', mims=[{'name': 'x'}]))
    assert bad['failed'] is True and 'Invalid composition' in bad['msg'] and "'image' is a required" in bad['msg']
    assert node.writes == []


def test_legacy_absent_uses_the_recorded_membership(legacy_node, run_module):
    shop(legacy_node, run_module)
    result = run_module(mcm_composition, legacy_node, dict(name='shop', state='absent', remove_images=True))
    assert result['removed'] == ['cart-v1', 'catalog-v1'] and result['removed_images'] == ['cart-v1']
    assert sorted(m['name'] for m in legacy_node.mims) == ['loose-v1', 'other-v1']
    assert run_module(mcm_composition, legacy_node, dict(name='shop', state='absent'))['changed'] is False


def test_unwritable_fingerprint_file_fails_naming_the_option(legacy_node, run_module, tmp_path):
    blocked = tmp_path / 'file'
    blocked.write_text('')
    for name, hexdigit in (('catalog-v1', 'a'), ('cart-v1', 'b')):
        legacy_node.add_image(name, 'sha256:' + hexdigit * 64)
    result = run_module(mcm_composition, legacy_node,
                        dict(name='shop', mims=members(), fingerprint_file=str(blocked / 'state.json')))
    assert result['failed'] is True and 'Cannot write the fingerprint file' in result['msg']
    assert 'set fingerprint_file' in result['msg'] and result['error']['path'] == str(blocked / 'state.json')
    assert 'Traceback' not in result['_raw'] and 'absent-s3cret' not in result['_raw']
