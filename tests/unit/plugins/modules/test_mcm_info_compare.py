# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""mcm_info compare_mim: one read tells what mcm_mim would do (same comparison, secrets masked, no write)."""

from __future__ import annotations

from ansible_collections.mimoe.edge.plugins.modules import mcm_info, mcm_mim

from fake_mcm import write_kinds

SECRET = 'compare-secret-value-91'
ENV = {'MCM.BASE_API_PATH': '/hello/v1', 'GREETING': 'hello'}


def deployed(node, env=None):
    node.add_image('hello-v1', 'sha256:' + 'a' * 64)
    node.add_mim('hello-v1', 'hello-v1', dict(env or ENV, API_KEY=SECRET))
    return node


def spec(env=None, secret=SECRET, image='hello-v1'):
    return dict(name='hello-v1', image=image, env=env or ENV, secret_env={'API_KEY': secret})


def info(run_module, node, tmp_path, compare, **extra):
    args = dict(compare_mim=compare, fingerprint_file=str(tmp_path / 'fingerprints.json'))
    args.update(extra)
    return run_module(mcm_info, node, args)


def test_equal_spec_is_equal_and_nothing_is_written(node, run_module, tmp_path):
    deployed(node)
    result = info(run_module, node, tmp_path, spec())
    assert result['mim_comparison'] == {'name': 'hello-v1', 'equal': True, 'reasons': [],
                                        'diff': {'before': {}, 'after': {}}}
    assert result['changed'] is False and write_kinds(node) == []


def test_same_answer_as_mcm_mim_check_mode(node, run_module, tmp_path):
    deployed(node)
    changed_env = dict(ENV, GREETING='hi')
    compared = info(run_module, node, tmp_path, spec(env=changed_env, secret='rotated-secret-22'))['mim_comparison']
    check = run_module(mcm_mim, node, dict(spec(env=changed_env, secret='rotated-secret-22')), check=True, diff=True)
    assert compared['equal'] is False and check['changed'] is True
    assert compared['reasons'] == check['reasons']
    assert compared['diff'] == check['diff']
    assert compared['diff']['after']['env'] == {'GREETING': 'hi', 'API_KEY': '******** (changed)'}
    assert write_kinds(node) == []


def test_missing_mim_and_other_image(node, run_module, tmp_path):
    node.add_image('hello-v1', 'sha256:' + 'a' * 64)
    missing = info(run_module, node, tmp_path, spec())['mim_comparison']
    assert missing['equal'] is False and missing['reasons'] == ['the mim hello-v1 is not deployed']
    assert missing['diff']['after']['env']['API_KEY'] == '********'
    deployed_node = deployed(type(node)())
    other = info(run_module, deployed_node, tmp_path, spec(image='hello-v2'))['mim_comparison']
    assert other['reasons'] == ['image hello-v1 -> hello-v2']


def test_secret_never_in_the_result(node, run_module, tmp_path):
    deployed(node)
    result = info(run_module, node, tmp_path, spec(env=dict(ENV, GREETING='x')), mims=False, images=False)
    # The listing is filtered by images/mims, the comparison still sees the node's mim; the secret stays masked.
    assert result['images'] == [] and result['mims'] == []
    assert SECRET not in result['_raw']
    assert result['mim_comparison']['equal'] is False


def test_legacy_node_without_fingerprint_differs(legacy_node, run_module, tmp_path):
    deployed(legacy_node)
    compared = info(run_module, legacy_node, tmp_path, spec())['mim_comparison']
    assert compared['equal'] is False
    assert 'no fingerprint is recorded' in compared['reasons'][0]
    assert not (tmp_path / 'fingerprints.json').exists()


def test_bad_spec_names_the_field(node, run_module, tmp_path):
    deployed(node)
    result = info(run_module, node, tmp_path, dict(name='hello-v1', image='hello-v1', env={'GREETING': 'x'},
                                                   secret_env={'GREETING': SECRET}))
    assert result['failed'] and 'compare_mim.env and compare_mim.secret_env both set GREETING' in result['msg']
    assert SECRET not in result['_raw']


def test_info_returns_normalised_image_and_spec_env(node, run_module, tmp_path):
    """Issue 14 item 6: digest, version, repo_tag per image and the spec-form env per mim, computed once in Python."""
    from ansible_collections.mimoe.edge.plugins.module_utils._markers import RELEASE_KEY, encode_release
    node.add_image('hello-v1', 'sha265:' + 'A' * 64)
    node.add_image('evil-v1', 'sha256:../../x')
    node.add_mim('hello-v1', 'hello-v1', dict(ENV, API_KEY=SECRET,
                                              **{RELEASE_KEY: encode_release(dict(image='hello-v1', version='1.0.0'))}))
    result = run_module(mcm_info, node, {})
    hello, evil = result['images']
    assert (hello['digest'], hello['version'], hello['repo_tag']) == ('sha256:' + 'a' * 64, '1.0.0', 'hello-v1:1.0.0')
    assert evil['digest'] is None  # never a path component
    mim = result['mims'][0]
    # No /api prefix, no node-filled "false" flags, no marker; the execution time is kept (a node default cannot
    # be told from a value the user set, and keeping it redeploys the same).
    assert mim['spec_env'] == dict(ENV, API_KEY=SECRET, **{'MCM.MAX_EXECUTION_TIME_SEC': '30'})
    assert mim['release'] == {'image': 'hello-v1', 'version': '1.0.0'}
    assert mim['env']['MCM.BASE_API_PATH'] == '/api/hello/v1'  # the node's own view is unchanged


def test_listing_masks_the_values_the_node_marks_as_secret(node, run_module, tmp_path):
    node.add_image('hello-v1', 'sha256:' + 'a' * 64)
    run_module(mcm_mim, node, dict(name='hello-v1', image='hello-v1', env=ENV, secret_env={'API_KEY': SECRET}))
    listed = run_module(mcm_info, node, {})  # a fresh controller: no spec, only the node's marker
    env = listed['mims'][0]['env']
    assert env['API_KEY'] == '********' and env['GREETING'] == 'hello' and env['MIMOE_SECRET_KEYS'] == 'API_KEY'
    assert SECRET not in listed['_raw']
    shown = run_module(mcm_info, node, dict(unmask_secret_env=True))
    assert shown['mims'][0]['env']['API_KEY'] == SECRET  # for a no_log rollback task only


def test_listing_masks_the_compared_secret_keys_on_an_unmarked_node(node, run_module, tmp_path):
    deployed(node)  # deployed before the marker existed
    result = info(run_module, node, tmp_path, spec())
    assert result['mims'][0]['env']['API_KEY'] == '********' and SECRET not in result['_raw']


def test_spec_env_is_masked_like_env(node, run_module):
    """The normalised spec_env (identity work) and the node's secret key marker (secrets work) meet: no clear value."""
    node.add_image('hello-v1', 'sha256:' + 'a' * 64)
    run_module(mcm_mim, node, dict(name='hello-v1', image='hello-v1', env=ENV, secret_env={'API_KEY': SECRET}))
    listed = run_module(mcm_info, node, {})
    assert listed['mims'][0]['spec_env']['API_KEY'] == '********'
    assert SECRET not in listed['_raw']
