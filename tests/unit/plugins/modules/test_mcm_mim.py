# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""mcm_mim decisions against an in-memory node."""

from __future__ import annotations

import json

from ansible_collections.mimoe.edge.plugins.modules import mcm_mim

from fake_mcm import TOKEN, write_kinds

ENV = {'MCM.BASE_API_PATH': '/hello/v1', 'GREETING': 'hi'}
SECRET = 'pa55-W0rd-unit'
DIGEST = 'sha256:' + 'a' * 64


def args(**extra):
    base = dict(name='hello-v1', image='hello-v1', env=dict(ENV))
    base.update(extra)
    return base


def test_deploys_a_missing_mim(node, run_module):
    node.add_image('hello-v1', DIGEST)
    result = run_module(mcm_mim, node, args(secret_env={'API_KEY': SECRET}), diff=True)
    assert result['changed'] is True
    assert write_kinds(node) == ['deploy']
    # The names (never the values) of the secret keys are kept on the node, for a later diff and mcm_info.
    assert node.writes[0][2]['env'] == dict(ENV, API_KEY=SECRET, MIMOE_SECRET_KEYS='API_KEY')
    assert result['mim']['env']['API_KEY'] == '********'
    assert 'MIMOE_SECRET_KEYS' not in result['diff']['after']['env']  # not shown as a user env change
    assert result['diff']['after']['env']['API_KEY'] == '********'
    assert result['actions'] == ['deployed mim hello-v1 from image hello-v1']
    assert SECRET not in result['_raw'] and TOKEN not in result['_raw']
    assert node.init_kwargs['token'] == TOKEN and node.init_kwargs['retries'] == 3


def test_same_spec_is_not_redeployed(node, run_module):
    node.add_image('hello-v1', DIGEST)
    node.add_mim('hello-v1', 'hello-v1', dict(ENV, API_KEY=SECRET))
    result = run_module(mcm_mim, node, args(secret_env={'API_KEY': SECRET}), diff=True)
    assert result['changed'] is False
    assert node.writes == []
    assert result['diff'] == {'before': {}, 'after': {}}


def test_env_change_redeploys_with_only_changed_keys_in_diff(node, run_module):
    node.add_image('hello-v1', DIGEST)
    node.add_mim('hello-v1', 'hello-v1', dict(ENV, API_KEY='old-secret'))
    result = run_module(mcm_mim, node, args(env=dict(ENV, GREETING='hello'), secret_env={'API_KEY': SECRET}), diff=True)
    assert result['changed'] is True
    assert write_kinds(node) == ['delete', 'deploy']
    assert result['diff'] == {
        'before': {'env': {'API_KEY': '********', 'GREETING': 'hi'}},
        'after': {'env': {'API_KEY': '******** (changed)', 'GREETING': 'hello'}},
    }
    assert 'old-secret' not in result['_raw'] and SECRET not in result['_raw']


def test_check_mode_reports_but_writes_nothing(node, run_module):
    node.add_image('hello-v1', DIGEST)
    node.add_mim('hello-v1', 'hello-v1', ENV)
    result = run_module(mcm_mim, node, args(env=dict(ENV, GREETING='hey')), check=True, diff=True)
    assert result['changed'] is True
    assert node.writes == []
    assert result['actions'] == ['removed mim hello-v1', 'deployed mim hello-v1 from image hello-v1']
    assert result['diff']['after'] == {'env': {'GREETING': 'hey'}}


def test_image_replaced_after_deploy_triggers_redeploy(node, run_module):
    node.add_mim('hello-v1', 'hello-v1', ENV, created=1000)
    node.add_image('hello-v1', DIGEST, created=2000)
    result = run_module(mcm_mim, node, args())
    assert result['changed'] is True
    assert any('replaced' in r for r in result['reasons'])


def test_missing_image_fails_without_writing(node, run_module):
    result = run_module(mcm_mim, node, args())
    assert result['failed'] is True
    assert 'upload it first with mimoe.edge.mcm_image' in result['msg']
    assert node.writes == []


def test_missing_image_in_check_mode_warns(node, run_module):
    result = run_module(mcm_mim, node, args(), check=True)
    assert result['changed'] is True and not result.get('failed')
    assert 'is not on the node' in json.dumps(result['warnings'])


def test_env_values_must_be_strings(node, run_module):
    result = run_module(mcm_mim, node, args(env={'PORT': 8080}))
    assert result['failed'] is True
    assert "env.PORT: 8080 is not of type 'string'" in result['msg']


def test_secret_env_type_error_hides_the_value(node, run_module):
    result = run_module(mcm_mim, node, args(secret_env={'PIN': 424242}))
    assert result['failed'] is True
    assert 'secret_env.PIN' in result['msg'] and '424242' not in result['_raw'].replace('"PIN": 424242', '')


def test_payload_is_exclusive_with_name(node, run_module):
    result = run_module(mcm_mim, node, dict(name='x', payload={'name': 'x', 'image': 'y'}))
    assert result['failed'] is True
    assert 'mutually exclusive' in result['msg']


def test_start_file_is_used_as_is(node, run_module, tmp_path):
    node.add_image('hello-v1', DIGEST)
    start = tmp_path / 'start.json'
    start.write_text(json.dumps({'name': 'hello-v1', 'image': 'hello-v1', 'env': ENV}))
    result = run_module(mcm_mim, node, dict(start_file=str(start)))
    assert result['changed'] is True
    assert node.writes[0][2] == {'name': 'hello-v1', 'image': 'hello-v1', 'env': ENV}


def test_stopped_on_current_generation_fails_honestly(node, run_module):
    node.add_image('hello-v1', DIGEST)
    node.add_mim('hello-v1', 'hello-v1', ENV)
    result = run_module(mcm_mim, node, dict(name='hello-v1', state='stopped'))
    assert result['failed'] is True
    assert 'no stop call' in result['msg']
    assert node.writes == []


def test_restarted_on_current_generation_redeploys(node, run_module):
    node.add_image('hello-v1', DIGEST)
    node.add_mim('hello-v1', 'hello-v1', ENV)
    result = run_module(mcm_mim, node, args(state='restarted'))
    assert result['changed'] is True
    assert write_kinds(node) == ['delete', 'deploy']


def test_absent(node, run_module):
    node.add_image('hello-v1', DIGEST)
    node.add_mim('hello-v1', 'hello-v1', ENV)
    assert run_module(mcm_mim, node, dict(name='hello-v1', state='absent'))['changed'] is True
    assert write_kinds(node) == ['delete']
    assert run_module(mcm_mim, node, dict(name='hello-v1', state='absent'))['changed'] is False
    assert write_kinds(node) == ['delete']


# ---------------------------------------------------------------- legacy generation

def test_legacy_idempotency_by_fingerprint(legacy_node, run_module, tmp_path):
    legacy_node.add_image('hello-v1', DIGEST)
    first = run_module(mcm_mim, legacy_node, args(secret_env={'API_KEY': SECRET}))
    assert first['changed'] is True and write_kinds(legacy_node) == ['deploy']
    second = run_module(mcm_mim, legacy_node, args(secret_env={'API_KEY': SECRET}))
    assert second['changed'] is False and write_kinds(legacy_node) == ['deploy']
    third = run_module(mcm_mim, legacy_node, args(secret_env={'API_KEY': 'rotated'}), diff=True)
    assert third['changed'] is True and write_kinds(legacy_node) == ['deploy', 'delete', 'deploy']
    assert third['diff']['before'] == {'env': '(not readable: the legacy API does not return env)'}
    assert third['diff']['after']['env']['API_KEY'] == '********'
    state = (tmp_path / 'fingerprints.json').read_text()
    assert SECRET not in state and 'rotated' not in state


def test_legacy_mim_without_fingerprint_is_redeployed_once(legacy_node, run_module):
    legacy_node.add_image('hello-v1', DIGEST)
    legacy_node.add_mim('hello-v1', 'hello-v1', ENV)
    result = run_module(mcm_mim, legacy_node, args())
    assert result['changed'] is True
    assert 'no fingerprint is recorded' in result['reasons'][0]
    assert run_module(mcm_mim, legacy_node, args())['changed'] is False


def test_legacy_stop_and_start(legacy_node, run_module):
    legacy_node.add_image('hello-v1', DIGEST)
    run_module(mcm_mim, legacy_node, args())
    stopped = run_module(mcm_mim, legacy_node, dict(name='hello-v1', state='stopped'))
    assert stopped['changed'] is True and legacy_node.writes[-1] == ('stop', 'hello-v1')
    assert run_module(mcm_mim, legacy_node, dict(name='hello-v1', state='stopped'))['changed'] is False
    started = run_module(mcm_mim, legacy_node, args(state='started', wait=False))
    assert started['changed'] is True and legacy_node.writes[-1] == ('start', 'hello-v1')
    restarted = run_module(mcm_mim, legacy_node, args(state='restarted', wait=False))
    assert restarted['changed'] is True
    assert legacy_node.writes[-2:] == [('stop', 'hello-v1'), ('start', 'hello-v1')]


# ---------------------------------------------------------------- secret key marker (MIMOE_SECRET_KEYS)

def test_removed_secret_key_shows_as_removed_with_a_masked_value(node, run_module):
    node.add_image('hello-v1', DIGEST)
    run_module(mcm_mim, node, args(secret_env={'API_KEY': SECRET, 'PIN': 'pin-0000-unit'}))
    result = run_module(mcm_mim, node, args(secret_env={'PIN': 'pin-0000-unit'}), diff=True)
    assert result['changed'] is True
    assert result['diff']['before']['env'] == {'API_KEY': '********'}
    assert 'API_KEY' not in result['diff']['after'].get('env', {})
    assert result['diff']['before']['secret_env_keys'] == ['API_KEY', 'PIN']
    assert SECRET not in result['_raw'] and 'pin-0000-unit' not in result['_raw']
    assert node.writes[-1][2]['env']['MIMOE_SECRET_KEYS'] == 'PIN'
    # A secret moved to env: its old value is masked too (the node says it was secret).
    result = run_module(mcm_mim, node, args(env=dict(ENV, PIN='now-public')), diff=True)
    assert result['diff']['before']['env'] == {'PIN': '********'} and 'pin-0000-unit' not in result['_raw']
    assert 'MIMOE_SECRET_KEYS' not in node.writes[-1][2]['env']


def test_rerun_with_marker_is_idempotent(node, run_module):
    node.add_image('hello-v1', DIGEST)
    run_module(mcm_mim, node, args(secret_env={'API_KEY': SECRET}))
    again = run_module(mcm_mim, node, args(secret_env={'API_KEY': SECRET}), diff=True)
    assert again['changed'] is False and write_kinds(node) == ['deploy']


def test_node_deployed_before_the_marker_is_not_redeployed_for_it(node, run_module):
    node.add_image('hello-v1', DIGEST)
    node.add_mim('hello-v1', 'hello-v1', dict(ENV, API_KEY=SECRET))  # no MIMOE_SECRET_KEYS: an older deploy
    result = run_module(mcm_mim, node, args(secret_env={'API_KEY': SECRET}), diff=True)
    assert result['changed'] is False and node.writes == []
    assert result['mim']['env']['API_KEY'] == '********'


def test_secret_keys_changed_redeploys_to_fix_the_marker(node, run_module):
    node.add_image('hello-v1', DIGEST)
    run_module(mcm_mim, node, args(secret_env={'API_KEY': SECRET}))
    moved = dict(ENV, API_KEY=SECRET)
    result = run_module(mcm_mim, node, dict(name='hello-v1', image='hello-v1', env=moved, secret_env={'X': 'y'}),
                        diff=True)
    assert result['changed'] is True
    assert result['diff']['before'] == {'secret_env_keys': ['API_KEY'], 'env': {'API_KEY': '********'}} or \
        result['diff']['before']['secret_env_keys'] == ['API_KEY']


def test_reserved_keys_may_not_be_set(node, run_module):
    node.add_image('hello-v1', DIGEST)
    for field, key in (('env', 'MIMOE_RELEASE'), ('env', 'MIMOE_COMPOSITION'), ('secret_env', 'MIMOE_SECRET_KEYS')):
        result = run_module(mcm_mim, node, args(**{field: dict(ENV if field == 'env' else {}, **{key: 'x'})}))
        assert result['failed'] is True and 'Traceback' not in result['_raw']
        assert '%s.%s: this key is reserved' % (field, key) in result['msg'], result['msg']
    assert node.writes == []


def test_env_read_back_from_a_node_redeploys_with_its_secrets_marked(node, run_module):
    node.add_image('hello-v1', DIGEST)
    env = dict(ENV, API_KEY=SECRET, MIMOE_SECRET_KEYS='API_KEY')  # as mcm_info unmask_secret_env=true returns it
    result = run_module(mcm_mim, node, args(env=env), diff=True)
    assert result['changed'] is True and result['diff']['after']['env']['API_KEY'] == '********'
    assert node.writes[-1][2]['env']['MIMOE_SECRET_KEYS'] == 'API_KEY'


# ---------------------------------------------------------------- started brings a crashed or stopped mim back

def test_started_redeploys_a_crashed_mim_on_the_current_generation(node, run_module):
    node.add_image('hello-v1', DIGEST)
    node.add_mim('hello-v1', 'hello-v1', ENV).update(state='stopped', status='crashed')
    result = run_module(mcm_mim, node, args(state='started'), diff=True)
    assert result['changed'] is True and write_kinds(node) == ['delete', 'deploy']
    assert 'stopped/crashed' in result['reasons'][0]
    assert result['diff'] == {'before': {'state': 'stopped/crashed'}, 'after': {'state': 'started'}}
    assert result['mim']['status'] == 'up'
    assert run_module(mcm_mim, node, args(state='started'))['changed'] is False
    # present does not touch the run state
    node.mims[0].update(state='stopped', status='crashed')
    assert run_module(mcm_mim, node, args())['changed'] is False


def test_started_starts_a_crashed_mim_on_the_legacy_generation(legacy_node, run_module):
    legacy_node.add_image('hello-v1', DIGEST)
    run_module(mcm_mim, legacy_node, args())
    legacy_node.mims[0].update(state='stopped', status='crashed')
    result = run_module(mcm_mim, legacy_node, args(state='started'))
    assert result['changed'] is True and legacy_node.writes[-1] == ('start', 'hello-v1')


def test_wait_needs_a_healthy_status(node, run_module):
    node.add_image('hello-v1', DIGEST)
    node.crash_on_deploy.add('hello-v1')
    result = run_module(mcm_mim, node, args(wait_timeout=0, wait_sleep=0.01))
    assert result['failed'] is True
    assert 'not running and healthy' in result['msg'] and 'stopped/crashed' in result['msg']


def test_is_running_needs_state_and_status():
    from ansible_collections.mimoe.edge.plugins.module_utils._mcm_mim import is_running
    assert is_running({'state': 'started', 'status': 'up'}) and is_running({'state': 'running'})
    assert not is_running({'state': 'stopped', 'status': 'crashed'})
    assert not is_running({'state': 'started', 'status': 'crashed'})


def test_wrong_client_id_names_the_client_the_image_is_under(monkeypatch, capsys):
    import pytest
    from compat import patch_module_args
    from ansible_collections.mimoe.edge.plugins.module_utils import _mcm_module
    from fake_mcm import FakeNode
    shop, own = FakeNode(client_id='shop'), FakeNode()
    own.add_image('cart-v1', DIGEST)  # uploaded without client_id: under the token's own client
    monkeypatch.setattr(_mcm_module, 'MCMClient', lambda **kw: shop if kw['client_id'] == 'shop' else own)
    with patch_module_args(dict(mcm_url=own.base_url, mcm_token=TOKEN, client_id='shop', name='cart-v1',
                                image='cart-v1', fingerprint_file='/nonexistent/fp.json')):
        with pytest.raises(SystemExit):
            mcm_mim.main()
    result = json.loads(capsys.readouterr().out)
    assert result['failed'] is True and shop.writes == [] and own.writes == []
    assert "cart-v1 is there under the token's own client" in result['msg'], result['msg']
    assert 'not under client_id shop' in result['msg']
