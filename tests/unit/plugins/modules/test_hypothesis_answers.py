# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Property test over what a node answers: every MCM module (the action group mimoe.edge.mcm of
meta/runtime.yml) runs in-process against a loopback server whose answers are generated: invalid JSON, missing
fields, wrong types, HTML error pages, huge bodies, odd status codes. 200 cases per module. Each case must end in
exit_json or in fail_json with a message: never an unhandled exception, never a traceback, never a secret."""

from __future__ import annotations

import json
import os

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hypothesis_support import ROOT, SECRET_VALUE, TOKEN, ScriptedServer, assert_clean, run_module
from mim_tar import build_tar


def mcm_group():
    with open(os.path.join(ROOT, 'meta', 'runtime.yml'), encoding='utf-8') as fh:
        return sorted(yaml.safe_load(fh)['action_groups']['mcm'])


def module_arg_sets(tmp_path):
    """Valid arguments per MCM module (several task shapes each); the answers are what varies."""
    tar = build_tar(str(tmp_path / 'hello-v1-1.0.0.tar'), name='hello-v1', version='1.0.0')
    fingerprints = str(tmp_path / 'fingerprints.json')
    mim = dict(name='hello-v1', image='hello-v1', env={'MCM.BASE_API_PATH': '/hello/v1'},
               secret_env={'API_KEY': SECRET_VALUE}, wait_timeout=1, wait_sleep=0.05,
               fingerprint_file=fingerprints)
    return {
        'mcm_info': [{}, {'name': ['hello-v1']}, {'images': False},
                     {'mim_filters': {'label': ['tier=web', 'canary'], 'image': ['hello-v1', 'sha256:' + 'a' * 64],
                                      'state': ['started'], 'composition': ['shop'], 'name': ['h*']},
                      'image_filters': {'in_use': False, 'digest': ['sha256:' + 'a' * 64], 'name': ['*']}}],
        'mcm_export': [{}, {'dest': str(tmp_path / 'export.yml')}],
        'mcm_prune': [{}, {'filters': {'name': ['hello-*'], 'keep': ['x'], 'until': '1h'}},
                      {'mims': True, 'mims_filters': {'label': ['tier=web'], 'composition': 'shop'}}],
        'mcm_image': [{'src': tar}, {'src': tar, 'force': True, 'wait_timeout': 1}, {'name': 'hello-v1', 'state': 'absent'},
                      {'name': 'hello-v1', 'url': 'http://127.0.0.1:1/hello.tar', 'digest': 'sha256:' + 'a' * 64}],
        'mcm_mim': [dict(mim), dict(mim, wait=False), dict(mim, state='absent'), dict(mim, state='stopped'),
                    dict(mim, state='restarted')],
        'mcm_composition': [dict(name='shop', mims=[dict(name='a', image='hello-v1', env={'K': 'v'},
                                                         secret_env={'API_KEY': SECRET_VALUE})],
                                 prune=True, atomic=True, wait_timeout=1, wait_sleep=0.05,
                                 fingerprint_file=fingerprints)],
        'mcm_datastore': [dict(action='backup', mim='hello-v1', path='b.json', wait_timeout=1, poll_interval=0.05),
                          dict(action='restore', mim='hello-v1', path='b.json', wait_timeout=1,
                               poll_interval=0.05)],
        'mim_release': [dict(src=tar, env={'MCM.BASE_API_PATH': '/hello/v1'}, secret_env={'API_KEY': SECRET_VALUE},
                             wait_timeout=1, datastore_timeout=1, poll_interval=0.05, cache_dir=str(tmp_path),
                             health={'retries': 1, 'delay': 0, 'timeout': 1}),
                        dict(src=tar, allow_no_rollback=True, wait_timeout=1, datastore_timeout=1,
                             poll_interval=0.05, health={'enabled': False})],
        'mim_release_info': [dict(name='hello-v1')],
    }


FIELD = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=12),
    st.sampled_from(['hello-v1', 'api-hello-v1', 'hello-v1:1.0.0', 'started', 'up', 'stopped', 'inProgress',
                     'completed', 'failed', 'backup', 'restore', 'b.json', 'sha256:' + 'a' * 64, 'sha265:00',
                     '/api/hello/v1', 'shop', 'a', 'sha256:../../../outside-private', '\x1b]0;title\x07',
                     '\x1b[31mred']),
    st.lists(st.sampled_from(['hello-v1:1.0.0', 'x', 1, None]), max_size=3),
    st.dictionaries(st.sampled_from(['MCM.BASE_API_PATH', 'MIMOE_COMPOSITION', 'K', 'API_KEY']),
                    st.one_of(st.text(max_size=8), st.integers(), st.none(), st.just('shop')), max_size=3),
)
KEYS = ['id', 'name', 'image', 'imageId', 'clientId', 'created', 'state', 'status', 'env', 'digest', 'repoTags',
        'size', 'action', 'path', 'percentage', 'message', 'repoDigests', 'containers', 'data', 'error', 'mims']
OBJECT = st.dictionaries(st.sampled_from(KEYS), FIELD, max_size=8)
JSON_ANY = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=8)),
                        lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                st.dictionaries(st.text(max_size=6), inner, max_size=3)),
                        max_leaves=8)
JSON_BODY = st.one_of(
    st.builds(lambda items: {'data': items}, st.lists(st.one_of(OBJECT, OBJECT, JSON_ANY), max_size=4)),
    OBJECT,
    st.builds(lambda err: {'error': err}, st.one_of(FIELD, OBJECT)),
    JSON_ANY,
).map(lambda value: json.dumps(value).encode())
RAW_BODY = st.sampled_from([
    b'', b'{', b'not json', b'{"data": [', b'\xff\xfe\x00', b'null', b'[]', b'"text"',
    b'<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1><hr>nginx</body></html>',
    b'<!DOCTYPE html><html><body><script>alert(1)</script><p>Service Unavailable</p></body></html>',
    b'x' * (2 * 1024 * 1024),
    json.dumps({'data': [{'id': 'api-x%d' % i, 'name': 'x%d' % i} for i in range(20000)]}).encode(),
    json.dumps({'error': {'code': 500, 'message': 'y' * 100000}}).encode(),
    # Mims named 5 and null using the image (mcm_image sorted their names: TypeError), and a digest that is a path.
    json.dumps({'data': [{'name': 'hello-v1', 'id': 'img-1', 'image': 'hello-v1', 'repoTags': ['hello-v1:1.0.0'],
                          'digest': 'sha256:../../../outside-private'},
                         {'name': 5, 'id': 'm5', 'image': 'hello-v1'},
                         {'name': None, 'id': None, 'image': 'hello-v1'}]}).encode(),
])
ANSWER = st.tuples(
    st.sampled_from([200, 200, 200, 201, 204, 301, 400, 401, 403, 404, 404, 409, 413, 500, 502, 503]),
    st.sampled_from(['application/json', 'application/json', 'text/html', 'text/plain']),
    st.one_of(JSON_BODY, JSON_BODY, RAW_BODY),
)


class Script:
    """Serves the drawn answers in order, then the last one again."""

    def __init__(self, answers):
        self.answers = list(answers)
        self.index = 0

    def __call__(self, _method, _path, _body):
        answer = self.answers[min(self.index, len(self.answers) - 1)]
        self.index += 1
        return answer


@pytest.fixture(scope='module')
def server():
    scripted = ScriptedServer()
    yield scripted
    scripted.close()


def test_every_mcm_module_has_arguments_here(tmp_path):
    missing = sorted(set(mcm_group()) - set(module_arg_sets(tmp_path)))
    assert not missing, ('modules of the action group mimoe.edge.mcm without arguments in module_arg_sets() of %s: '
                         '%s; add them so that they are tested against bad answers' % (__file__, missing))


@pytest.mark.parametrize('name', mcm_group())
def test_module_survives_any_answer(name, server, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv('HOME', str(tmp_path))
    arg_sets = module_arg_sets(tmp_path)
    assert name in arg_sets, 'no arguments for %s (see test_every_mcm_module_has_arguments_here)' % name

    @settings(max_examples=200, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(args=st.sampled_from(arg_sets[name]), answers=st.lists(ANSWER, min_size=1, max_size=6),
           api_version=st.sampled_from(['auto', 'current', 'legacy']), check=st.booleans())
    def check(args, answers, api_version, check):
        server.answer = Script(answers)
        full = dict(args, mcm_url=server.url, mcm_token=TOKEN, retries=0, timeout=5, api_version=api_version,
                    _ansible_check_mode=check, _ansible_diff=True)
        assert_clean(name, run_module(name, full))

    check()
