# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""mcm_composition decisions against an in-memory node."""

from __future__ import annotations

from ansible_collections.mimoe.edge.plugins.modules import mcm_composition

from fake_mcm import write_kinds

SECRET = 'cart-s3cret-unit'
DIGEST = 'sha256:' + 'c' * 64


def members(cart_port='8080'):
    return [
        {'name': 'catalog-v1', 'image': 'catalog-v1', 'env': {'MCM.BASE_API_PATH': '/catalog/v1'}},
        {'name': 'cart-v1', 'image': 'cart-v1', 'env': {'MCM.BASE_API_PATH': '/cart/v1', 'PORT': cart_port},
         'secret_env': {'API_KEY': SECRET}},
    ]


def with_images(node):
    node.add_image('catalog-v1', DIGEST)
    node.add_image('cart-v1', DIGEST)
    return node


def test_deploy_then_idempotent(node, run_module):
    with_images(node)
    first = run_module(mcm_composition, node, dict(name='shop', mims=members()), diff=True)
    assert first['changed'] is True
    assert write_kinds(node) == ['composition']
    assert node.writes[0][1] == ['catalog-v1', 'cart-v1']
    assert all(s['env']['MIMOE_COMPOSITION'] == 'shop' for s in node.writes[0][2])
    assert first['deployed'] == ['catalog-v1', 'cart-v1']
    assert SECRET not in first['_raw']
    second = run_module(mcm_composition, node, dict(name='shop', mims=members()))
    assert second['changed'] is False and second['unchanged'] == ['catalog-v1', 'cart-v1']
    assert write_kinds(node) == ['composition']


def test_only_changed_members_are_redeployed(node, run_module):
    with_images(node)
    run_module(mcm_composition, node, dict(name='shop', mims=members()))
    result = run_module(mcm_composition, node, dict(name='shop', mims=members('8081')), diff=True)
    assert result['deployed'] == ['cart-v1'] and result['unchanged'] == ['catalog-v1']
    assert write_kinds(node) == ['composition', 'delete', 'composition']
    assert node.writes[-1][1] == ['cart-v1']
    assert result['diff'] == {'before': {'cart-v1': {'env': {'PORT': '8080'}}},
                              'after': {'cart-v1': {'env': {'PORT': '8081'}}}}


def test_prune_removes_only_members_of_this_composition(node, run_module):
    with_images(node)
    run_module(mcm_composition, node, dict(name='shop', mims=members()))
    node.add_mim('other-v1', 'cart-v1', {'MIMOE_COMPOSITION': 'other'})
    node.add_mim('loose-v1', 'cart-v1', {})
    kept = run_module(mcm_composition, node, dict(name='shop', mims=members()[:1]))
    assert kept['changed'] is False  # prune is off
    pruned = run_module(mcm_composition, node, dict(name='shop', mims=members()[:1], prune=True), check=True)
    assert pruned['pruned'] == ['cart-v1'] and write_kinds(node) == ['composition']
    pruned = run_module(mcm_composition, node, dict(name='shop', mims=members()[:1], prune=True))
    assert pruned['pruned'] == ['cart-v1']
    assert sorted(m['name'] for m in node.mims) == ['catalog-v1', 'loose-v1', 'other-v1']


def test_atomic_restores_previous_spec(node, run_module):
    with_images(node)
    run_module(mcm_composition, node, dict(name='shop', mims=members()))
    node.fail_composition = 'simulated deploy failure'
    result = run_module(mcm_composition, node, dict(name='shop', mims=members('9999'), atomic=True))
    assert result['failed'] is True
    assert 'simulated deploy failure' in result['msg']
    assert result['rolled_back'] == ['restored the previous cart-v1']
    cart = [m for m in node.mims if m['name'] == 'cart-v1'][0]
    assert cart['env']['PORT'] == '8080' and cart['env']['API_KEY'] == SECRET
    assert SECRET not in result['_raw']


def test_without_atomic_a_failure_restores_the_removed_member(node, run_module):
    with_images(node)
    run_module(mcm_composition, node, dict(name='shop', mims=members()))
    node.fail_composition = 'boom'
    result = run_module(mcm_composition, node, dict(name='shop', mims=members('9999')))
    assert result['failed'] is True and result['rolled_back'] == ['restored the previous cart-v1']
    assert 'Restored the members whose update failed' in result['msg']
    cart = [m for m in node.mims if m['name'] == 'cart-v1'][0]
    assert cart['env']['PORT'] == '8080' and cart['env']['API_KEY'] == SECRET
    assert cart['env']['MIMOE_SECRET_KEYS'] == 'API_KEY' and cart['env']['MIMOE_COMPOSITION'] == 'shop'
    assert SECRET not in result['_raw']


def test_without_atomic_only_the_failed_member_is_restored(node, run_module):
    with_images(node)
    run_module(mcm_composition, node, dict(name='shop', mims=members()))
    changed = members('9999')
    changed[0]['env']['GREETING'] = 'new'
    node.crash_on_deploy.add('cart-v1')
    result = run_module(mcm_composition, node, dict(name='shop', mims=changed, wait_timeout=0, wait_sleep=0.01))
    assert result['failed'] is True
    assert result['rolled_back'] == ['removed cart-v1', 'restored the previous cart-v1']
    on_node = dict((m['name'], m) for m in node.mims)
    assert on_node['catalog-v1']['env']['GREETING'] == 'new'  # updated fine: kept
    assert on_node['cart-v1']['env']['PORT'] == '8080'


def test_composition_writes_the_secret_marker_and_masks_removed_keys(node, run_module):
    with_images(node)
    run_module(mcm_composition, node, dict(name='shop', mims=members()))
    assert node.writes[0][2][1]['env']['MIMOE_SECRET_KEYS'] == 'API_KEY'
    assert run_module(mcm_composition, node, dict(name='shop', mims=members()))['changed'] is False
    plain = members()
    del plain[1]['secret_env']
    result = run_module(mcm_composition, node, dict(name='shop', mims=plain), diff=True)
    assert result['diff']['before']['cart-v1']['env'] == {'API_KEY': '********'}
    assert SECRET not in result['_raw']


def test_legacy_deploys_one_by_one_and_tracks_membership(legacy_node, run_module):
    with_images(legacy_node)
    first = run_module(mcm_composition, legacy_node, dict(name='shop', mims=members()))
    assert write_kinds(legacy_node) == ['deploy', 'deploy']
    assert 'one by one' in first['actions'][0]
    assert run_module(mcm_composition, legacy_node, dict(name='shop', mims=members()))['changed'] is False
    shrunk = run_module(mcm_composition, legacy_node, dict(name='shop', mims=members()[:1]))
    assert shrunk['changed'] is False  # without prune the unlisted member stays, and stays tracked
    pruned = run_module(mcm_composition, legacy_node, dict(name='shop', mims=members()[:1], prune=True))
    assert pruned['pruned'] == ['cart-v1']


def test_validation_names_index_and_field(node, run_module):
    bad = members()
    bad.append({'name': 'x', 'image': 'cart-v1', 'env': {'PORT': 8080}})
    result = run_module(mcm_composition, node, dict(name='shop', mims=bad))
    assert result['failed'] is True
    assert "mims[2].env.PORT: 8080 is not of type 'string'" in result['msg']
    assert node.writes == []


def test_missing_images_fail_before_any_write(node, run_module):
    node.add_image('catalog-v1', DIGEST)
    result = run_module(mcm_composition, node, dict(name='shop', mims=members()))
    assert result['failed'] is True and 'cart-v1' in result['msg']
    assert node.writes == []
