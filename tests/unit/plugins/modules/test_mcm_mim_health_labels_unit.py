# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""mcm_mim: labels, the health check (restart on failure), start.json naming a tar, check mode in the primitives."""

from __future__ import annotations

import json

import pytest

from ansible_collections.mimoe.edge.plugins.module_utils import _health
from ansible_collections.mimoe.edge.plugins.module_utils._mcm_mim import Desired, MimManager, mask_mim, remove_mim
from ansible_collections.mimoe.edge.plugins.module_utils._recorder import Recorder
from ansible_collections.mimoe.edge.plugins.modules import mcm_mim

from fake_mcm import FakeNode, write_kinds
from mim_tar import build_tar

ENV = {'MCM.BASE_API_PATH': '/hello/v1', 'GREETING': 'hi'}
DIGEST = 'sha256:' + 'a' * 64


def args(**extra):
    base = dict(name='hello-v1', image='hello-v1', env=dict(ENV))
    base.update(extra)
    return base


class Answer:
    def __init__(self, status, text):
        self.status_code = status
        self.text = text


@pytest.fixture
def answers(monkeypatch):
    """The answers of the mim's health URL, in order (the last one repeats); the URLs called are kept."""
    state = dict(queue=[], calls=[])

    def get(url, timeout, verify, cert=None):
        state['calls'].append(url)
        return state['queue'].pop(0) if len(state['queue']) > 1 else state['queue'][0]

    monkeypatch.setattr(_health, '_requests_get', get)
    return state


# ------------------------------------------------------------------ labels

def test_labels_are_kept_in_the_reserved_key_and_shown_as_labels(node, run_module):
    node.add_image('hello-v1', DIGEST)
    result = run_module(mcm_mim, node, args(labels={'app': 'hello', 'tier': 'edge'}), diff=True)
    assert result['changed'] is True
    assert node.writes[0][2]['env']['MIMOE_LABELS'] == '{"app":"hello","tier":"edge"}'
    assert result['labels'] == {'app': 'hello', 'tier': 'edge'}
    assert result['mim']['labels'] == {'app': 'hello', 'tier': 'edge'}
    assert 'MIMOE_LABELS' not in result['mim']['env']  # never shown as ordinary env
    assert result['diff']['after']['labels'] == {'app': 'hello', 'tier': 'edge'}
    assert 'MIMOE_LABELS' not in result['diff']['after']['env']


def test_same_labels_do_not_change_and_labels_alone_redeploy(node, run_module):
    node.add_image('hello-v1', DIGEST)
    run_module(mcm_mim, node, args(labels={'app': 'hello'}))
    again = run_module(mcm_mim, node, args(labels={'app': 'hello'}))
    assert again['changed'] is False and write_kinds(node) == ['deploy']
    kept = run_module(mcm_mim, node, args())  # labels not given: the node's are kept, not compared
    assert kept['changed'] is False and kept['labels'] == {'app': 'hello'}
    changed = run_module(mcm_mim, node, args(labels={'app': 'hello', 'tier': 'edge'}), diff=True)
    assert changed['changed'] is True and write_kinds(node) == ['deploy', 'delete', 'deploy']
    assert changed['reasons'] == ['labels differ in tier']
    assert changed['diff'] == {'before': {'labels': {'app': 'hello'}},
                               'after': {'labels': {'app': 'hello', 'tier': 'edge'}}}
    cleared = run_module(mcm_mim, node, args(labels={}))
    assert cleared['changed'] is True and cleared['labels'] == {}
    assert 'MIMOE_LABELS' not in node.writes[-1][2]['env']


def test_an_env_change_keeps_the_labels_on_the_node(node, run_module):
    node.add_image('hello-v1', DIGEST)
    run_module(mcm_mim, node, args(labels={'app': 'hello'}))
    result = run_module(mcm_mim, node, args(env=dict(ENV, GREETING='hey')))
    assert result['changed'] is True and result['labels'] == {'app': 'hello'}
    assert node.writes[-1][2]['env']['MIMOE_LABELS'] == '{"app":"hello"}'


def test_labels_are_idempotent_on_the_legacy_generation(legacy_node, run_module):
    legacy_node.add_image('hello-v1', DIGEST)
    assert run_module(mcm_mim, legacy_node, args(labels={'app': 'hello'}))['changed'] is True
    assert run_module(mcm_mim, legacy_node, args(labels={'app': 'hello'}))['changed'] is False
    # Without labels the recorded ones are kept: no redeploy that would drop them.
    kept = run_module(mcm_mim, legacy_node, args())
    assert kept['changed'] is False and kept['labels'] == {'app': 'hello'}
    assert run_module(mcm_mim, legacy_node, args(labels={'app': 'other'}))['changed'] is True
    redeployed = run_module(mcm_mim, legacy_node, args(env=dict(ENV, GREETING='hey')))
    assert redeployed['changed'] is True and legacy_node.writes[-1][2]['env']['MIMOE_LABELS'] == '{"app":"other"}'


def test_labels_must_be_strings_and_may_not_be_set_as_env(node, run_module):
    node.add_image('hello-v1', DIGEST)
    bad = run_module(mcm_mim, node, args(labels={'replicas': 3}))
    assert bad['failed'] is True and 'labels.replicas' in bad['msg'] and 'quote it' in bad['msg']
    reserved = run_module(mcm_mim, node, args(env=dict(ENV, MIMOE_LABELS='{}')))
    assert reserved['failed'] is True and 'env.MIMOE_LABELS: this key is reserved' in reserved['msg']
    assert node.writes == []


def test_the_node_read_model_exposes_labels():
    mim = {'name': 'a', 'image': 'a', 'clientId': 'api',
           'env': {'MCM.BASE_API_PATH': '/api/a', 'MIMOE_LABELS': '{"app":"a"}', 'X': '1'}}
    desired = Desired.from_node(mim, 'api')
    assert desired.labels == {'app': 'a'} and 'MIMOE_LABELS' not in desired.env
    assert desired.spec()['env']['MIMOE_LABELS'] == '{"app":"a"}'  # a redeploy keeps them
    shown = mask_mim(mim)
    assert shown['labels'] == {'app': 'a'} and 'MIMOE_LABELS' not in shown['env']


# ------------------------------------------------------------------ health

def test_health_passes_and_is_returned(node, run_module, answers):
    node.add_image('hello-v1', DIGEST)
    answers['queue'] = [Answer(503, 'starting'), Answer(200, '{"ok": true}')]
    result = run_module(mcm_mim, node, args(health={'path': '/healthcheck', 'body_regex': 'ok', 'delay': 0}))
    assert result['changed'] is True
    assert answers['calls'] == ['http://node.test:8083/api/hello/v1/healthcheck'] * 2
    assert result['health'] == {'url': 'http://node.test:8083/api/hello/v1/healthcheck', 'status': 200,
                                'healthy': True, 'restarted': False}
    # Up to date and healthy: no change, one more check.
    again = run_module(mcm_mim, node, args(health={'path': '/healthcheck', 'delay': 0}))
    assert again['changed'] is False and again['health']['healthy'] is True


def test_failing_health_names_node_url_status_and_body(node, run_module, answers):
    node.add_image('hello-v1', DIGEST)
    answers['queue'] = [Answer(500, 'database unreachable')]
    result = run_module(mcm_mim, node, args(health={'retries': 3, 'delay': 0}))
    assert result['failed'] is True and result['changed'] is True
    msg = result['msg']
    assert 'The mim hello-v1 on http://node.test:8083 is not healthy' in msg
    assert 'GET http://node.test:8083/api/hello/v1/healthcheck: status 500, expected 200: database unreachable' in msg
    assert '(after 3 attempts)' in msg and 'Hint:' in msg
    assert len(answers['calls']) == 3 and write_kinds(node) == ['deploy']
    assert result['health']['healthy'] is False and result['health']['status'] == 500


def test_body_regex_mismatch_fails(node, run_module, answers):
    node.add_image('hello-v1', DIGEST)
    answers['queue'] = [Answer(200, 'degraded')]
    result = run_module(mcm_mim, node, args(health={'retries': 1, 'body_regex': '^ok$'}))
    assert result['failed'] is True and 'the body does not match ^ok$: degraded' in result['msg']


def test_restart_on_failure_restarts_once(node, run_module, answers):
    node.add_image('hello-v1', DIGEST)
    node.add_mim('hello-v1', 'hello-v1', ENV)
    answers['queue'] = [Answer(500, 'stuck'), Answer(500, 'stuck'), Answer(200, 'ok')]
    result = run_module(mcm_mim, node, args(health={'retries': 2, 'delay': 0}, restart_on_failure=True))
    assert result['changed'] is True and result['health']['restarted'] is True
    assert write_kinds(node) == ['delete', 'deploy']  # the current generation restarts by redeploying
    assert any('restart_on_failure' in r for r in result['reasons'])


def test_restart_on_failure_on_legacy_stops_and_starts(legacy_node, run_module, answers):
    legacy_node.add_image('hello-v1', DIGEST)
    run_module(mcm_mim, legacy_node, args())
    answers['queue'] = [Answer(500, 'stuck'), Answer(200, 'ok')]
    result = run_module(mcm_mim, legacy_node, args(health={'retries': 1}, restart_on_failure=True))
    assert result['changed'] is True and write_kinds(legacy_node)[-2:] == ['stop', 'start']


def test_restart_that_does_not_help_fails(node, run_module, answers):
    node.add_image('hello-v1', DIGEST)
    node.add_mim('hello-v1', 'hello-v1', ENV)
    answers['queue'] = [Answer(404, 'no route')]
    result = run_module(mcm_mim, node, args(health={'retries': 1}, restart_on_failure=True))
    assert result['failed'] is True and 'after a restart (restart_on_failure)' in result['msg']
    assert write_kinds(node) == ['delete', 'deploy']


def test_no_health_check_in_check_mode(node, run_module, answers):
    node.add_image('hello-v1', DIGEST)
    answers['queue'] = [Answer(500, 'x')]
    result = run_module(mcm_mim, node, args(health={}), check=True)
    assert result['changed'] is True and answers['calls'] == [] and node.writes == []


def test_check_health_counts_attempts():
    calls = []

    def get(url, timeout, verify, cert=None):
        calls.append(url)
        return Answer(500, 'x')

    with pytest.raises(_health.HealthError) as info:
        _health.check_health('http://n/x', dict(retries=4, delay=0), get=get, sleep=lambda s: None)
    assert len(calls) == 4 and str(info.value) == 'GET http://n/x: status 500, expected 200: x (after 4 attempts)'


# ------------------------------------------------------------------ check mode inside the primitives

def test_remove_mim_records_and_applies_once():
    node = FakeNode()
    node.add_mim('a', 'a', {})
    dry = Recorder(check_mode=True)
    remove_mim(node, dry, {'id': 'api-a', 'name': 'a'})
    assert dry.actions == ['removed mim a'] and dry.changed and node.writes == []
    real = Recorder()
    remove_mim(node, real, {'id': 'api-a', 'name': 'a'})
    assert real.actions == ['removed mim a'] and node.writes == [('delete', 'a')]


def test_manager_takes_a_recorder():
    class Mcm:
        client = FakeNode()
        recorder = Recorder(check_mode=True)
        client_id = 'api'
        params = {}
    Mcm.client.add_image('a', DIGEST)
    mgr = MimManager(Mcm)
    assert mgr.deploy(Desired('a', 'a', {})) == {}
    assert Mcm.recorder.actions == ['deployed mim a from image a'] and Mcm.client.writes == []


# ------------------------------------------------------------------ start.json naming its image archive

def test_start_file_may_name_the_image_by_its_tar(node, run_module, tmp_path):
    build_tar(str(tmp_path / 'hello-v1-1.0.0.tar'), name='hello-v1')
    start = tmp_path / 'start.json'
    start.write_text(json.dumps({'name': 'hello-v1', 'image': 'hello-v1-1.0.0.tar', 'env': ENV}))
    node.add_image('hello-v1', DIGEST)
    result = run_module(mcm_mim, node, dict(start_file=str(start)))
    assert result['changed'] is True and node.writes[0][2]['image'] == 'hello-v1'
    assert result['actions'] == ['deployed mim hello-v1 from image hello-v1']


def test_start_file_naming_a_missing_tar_says_what_to_do(node, run_module, tmp_path):
    start = tmp_path / 'start.json'
    start.write_text(json.dumps({'name': 'hello-v1', 'image': 'hello-v1-1.0.0.tar'}))
    result = run_module(mcm_mim, node, dict(start_file=str(start)))
    assert result['failed'] is True and node.writes == []
    msg = result['msg']
    assert msg.startswith('Invalid mim spec: start_file: image hello-v1-1.0.0.tar names an image archive, but ')
    assert str(tmp_path / 'hello-v1-1.0.0.tar') in msg and 'set image to the image name' in msg


def test_check_mode_and_real_run_report_the_same_actions(legacy_node, run_module):
    legacy_node.add_image('hello-v1', DIGEST)
    run_module(mcm_mim, legacy_node, args())
    writes = list(legacy_node.writes)
    for state, expected in (('restarted', ['stopped mim hello-v1', 'started mim hello-v1']),
                            ('stopped', ['stopped mim hello-v1'])):
        dry = run_module(mcm_mim, legacy_node, args(state=state), check=True)
        assert dry['changed'] is True and dry['actions'] == expected and legacy_node.writes == writes
        real = run_module(mcm_mim, legacy_node, args(state=state))
        assert real['actions'] == expected
        writes = list(legacy_node.writes)
    changed = run_module(mcm_mim, legacy_node, args(env=dict(ENV, GREETING='hey'), state='stopped'), check=True)
    assert changed['actions'] == ['removed mim hello-v1', 'deployed mim hello-v1 from image hello-v1',
                                  'stopped mim hello-v1']
    assert legacy_node.writes == writes


def test_health_calls_present_the_node_clients_certificate(monkeypatch):
    seen = []

    def get(url, timeout, verify, cert=None):
        seen.append((verify, cert))
        return Answer(200, 'ok')

    monkeypatch.setattr(_health, '_requests_get', get)

    class Client(object):
        class tls(object):
            verify = '/ca.pem'
            cert = ('/client.pem', '/client.key')

    client = Client()
    _health.check_health('https://node/x', {'retries': 1}, _health.client_verify(client),
                         cert=_health.client_cert(client))
    assert seen == [('/ca.pem', ('/client.pem', '/client.key'))]
