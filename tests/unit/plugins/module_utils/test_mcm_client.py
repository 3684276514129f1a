# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The MCM client against a scripted loopback HTTP server that records every request it receives."""

from __future__ import annotations

import json
import os
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ansible_collections.mimoe.edge.plugins.module_utils._mcm_client import (
    IDEMPOTENT_METHODS,
    MCMClient,
    MCMError,
    build_retry,
)

TOKEN = 'tok-3f9a1c77e0b24d51'


class Recorder:
    """A loopback HTTP server; ``script(handler) -> (status, body, headers)`` decides each answer."""

    def __init__(self):
        self.requests = []
        self.script = lambda req: (200, {'data': []}, {})
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _handle(self):
                length = int(self.headers.get('Content-Length') or 0)
                body = self.rfile.read(length) if length else b''
                req = dict(method=self.command, path=self.path, headers=dict(self.headers.items()), body=body)
                recorder.requests.append(req)
                answer = recorder.script(req)
                if answer is None:  # drop the connection without an answer
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                status, payload, headers = answer
                data = payload if isinstance(payload, bytes) else (
                    payload.encode() if isinstance(payload, str) else json.dumps(payload).encode())
                self.send_response(status)
                ctype = 'application/json' if not isinstance(payload, (bytes, str)) else 'text/plain'
                for key, value in dict({'Content-Type': ctype}, **headers).items():
                    self.send_header(key, value)
                self.send_header('Content-Length', str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _handle

        self.server = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={'poll_interval': 0.05}, daemon=True)
        self.thread.start()
        self.url = 'http://127.0.0.1:%d' % self.server.server_address[1]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def server():
    recorder = Recorder()
    yield recorder
    recorder.close()


def client_for(server, **kwargs):
    kwargs.setdefault('retries', {'total': 2, 'backoff_factor': 0})
    kwargs.setdefault('timeout', 5)
    return MCMClient(server.url, TOKEN, **kwargs)


# ---------------------------------------------------------------- headers

def test_auth_header_and_client_id(server):
    client = client_for(server, client_id='edge-client', api_version='current')
    client.list_images()
    headers = server.requests[0]['headers']
    assert headers['Authorization'] == 'Bearer ' + TOKEN
    assert headers['x-client-id'] == 'edge-client'
    assert server.requests[0]['path'] == '/mcm/v1/images'


def test_no_client_id_header_without_client_id(server):
    client_for(server, api_version='current').list_images()
    assert 'x-client-id' not in {k.lower() for k in server.requests[0]['headers']}


def test_base_url_accepts_trailing_api_prefix(server):
    client = MCMClient(server.url + '/mcm/v1/', TOKEN, api_version='current')
    client.list_images()
    assert server.requests[0]['path'] == '/mcm/v1/images'


@pytest.mark.parametrize('url', ['', 'node:8083', 'ftp://node'])
def test_bad_url_is_refused(url):
    with pytest.raises(MCMError, match='mcm_url'):
        MCMClient(url, TOKEN)


def test_empty_token_is_refused():
    with pytest.raises(MCMError, match='mcm_token'):
        MCMClient('http://127.0.0.1:1', '')


# ---------------------------------------------------------------- retries

def test_get_is_retried_on_503(server):
    server.script = lambda req: (503, {'error': {'code': 503, 'message': 'busy'}}, {})
    client = client_for(server, api_version='current')
    with pytest.raises(MCMError) as info:
        client.list_images()
    assert len(server.requests) == 3  # 1 + 2 retries
    assert info.value.status == 503
    assert 'retried' in info.value.hint


@pytest.mark.parametrize('method,status', [('PUT', 502), ('DELETE', 504), ('GET', 502)])
def test_idempotent_methods_recover_after_a_transient_error(server, method, status):
    answers = iter([(status, 'bad gateway', {}), (200, {'data': {}}, {})])
    server.script = lambda req: next(answers)
    client = client_for(server, api_version='legacy')
    client.request(method, '/containers/x')
    assert [r['method'] for r in server.requests] == [method, method]


def test_post_is_not_retried_when_the_node_cannot_be_read(server):
    """A POST answered 503 is sent again only once a read of the node shows it did not apply; here every read
    fails too, so the POST is sent once and its own error is raised."""
    server.script = lambda req: (503, 'unavailable', {})
    client = client_for(server, api_version='current', retries={'total': 5, 'backoff_factor': 0})
    with pytest.raises(MCMError) as info:
        client.deploy_mim({'name': 'a', 'image': 'b', 'env': {}})
    assert [r['method'] for r in server.requests].count('POST') == 1
    assert info.value.status == 503


def test_post_retried_after_503_only_when_the_node_shows_it_did_not_apply(server):
    answers = iter([(503, 'unavailable', {}), (201, {'name': 'a', 'image': 'b'}, {})])

    def script(req):
        if req['method'] == 'GET':
            return (200, {'data': []}, {})
        return next(answers)
    server.script = script
    client = client_for(server, api_version='current', retries={'total': 2, 'backoff_factor': 0})
    assert client.deploy_mim({'name': 'a', 'image': 'b', 'env': {}})['name'] == 'a'
    assert [r['method'] for r in server.requests] == ['POST', 'GET', 'POST']


def test_post_whose_answer_was_lost_is_not_sent_again(server):
    """The node applied the deploy but the connection broke before the answer: the read finds the mim."""
    def script(req):
        if req['method'] == 'GET':
            return (200, {'data': [{'name': 'a', 'image': 'b', 'id': 'api-a'}]}, {})
        return None
    server.script = script
    client = client_for(server, api_version='current', retries={'total': 3, 'backoff_factor': 0})
    assert client.deploy_mim({'name': 'a', 'image': 'b', 'env': {}})['id'] == 'api-a'
    assert [r['method'] for r in server.requests] == ['POST', 'GET']


def test_dropped_connection_retried_for_get_not_for_post(server):
    server.script = lambda req: None
    client = client_for(server, api_version='current')
    with pytest.raises(MCMError):
        client.list_images()
    assert len(server.requests) == 3
    del server.requests[:]
    with pytest.raises(MCMError):
        client.deploy_mim({'name': 'a', 'image': 'b'})
    # The POST is not sent again: the read that would show whether it applied failed too.
    assert [r['method'] for r in server.requests].count('POST') == 1


def test_retry_allowed_methods_exclude_post():
    retry = build_retry({'total': 4, 'backoff_factor': 0.1})
    assert 'POST' not in retry.allowed_methods
    assert set(retry.allowed_methods) == set(IDEMPOTENT_METHODS)
    # Reads are retried on any 5xx (issue 15: one 500 aborted a rollback).
    assert tuple(retry.status_forcelist) == tuple(range(500, 600))
    assert retry.total == 4


def test_user_cannot_enable_post_retries():
    with pytest.raises(ValueError, match='allowed_methods'):
        build_retry({'allowed_methods': ['POST']})


@pytest.mark.parametrize('value', [True, -1, 'three', 2.5])
def test_bad_retries_values(value):
    with pytest.raises(ValueError):
        build_retry(value)


def test_retries_zero_disables_retries(server):
    server.script = lambda req: (503, 'busy', {})
    client = client_for(server, api_version='current', retries=0)
    with pytest.raises(MCMError):
        client.list_images()
    assert len(server.requests) == 1


# ---------------------------------------------------------------- uploads

def test_upload_is_multipart_without_expect_header(server, tmp_path):
    archive = tmp_path / 'img.tar'
    archive.write_bytes(b'tar-bytes-here')
    server.script = lambda req: (201, {'id': 'api-x', 'name': 'x'}, {})
    client = client_for(server, api_version='current')
    result = client.upload_image(str(archive))
    req = server.requests[0]
    assert result == {'id': 'api-x', 'name': 'x'}
    assert req['method'] == 'POST' and req['path'] == '/mcm/v1/images'
    assert 'expect' not in {k.lower() for k in req['headers']}
    assert req['headers']['Content-Type'].startswith('multipart/form-data; boundary=')
    assert b'name="image"; filename="img.tar"' in req['body']
    assert b'Content-Type: application/x-tar' in req['body']
    assert b'tar-bytes-here' in req['body']
    assert int(req['headers']['Content-Length']) == len(req['body'])


def test_json_bodies_are_sent_as_application_json(server):
    server.script = lambda req: (201, {'id': 'api-a'}, {})
    client_for(server, api_version='current').deploy_mim({'name': 'a', 'image': 'b', 'env': {'K': 'v'}})
    req = server.requests[0]
    assert req['headers']['Content-Type'] == 'application/json'
    assert json.loads(req['body']) == {'name': 'a', 'image': 'b', 'env': {'K': 'v'}}


# ---------------------------------------------------------------- errors

def test_403_hint_names_token_and_scope(server):
    server.script = lambda req: (403, {'error': {'code': 403, 'message': 'invalid edgeAccessToken: A JWT Token is required'}}, {})
    with pytest.raises(MCMError) as info:
        client_for(server, api_version='current').list_images()
    err = info.value
    assert err.status == 403
    assert err.server_message == 'invalid edgeAccessToken: A JWT Token is required'
    assert 'edge:mcm' in err.hint and 'mcm_token' in err.hint
    assert 'edge:mcm' in str(err) and 'answered 403' in str(err)


def test_404_hint_names_the_resource(server):
    server.script = lambda req: (404, {'error': {'code': 404, 'message': 'mim api-x not found'}}, {})
    with pytest.raises(MCMError) as info:
        client_for(server, api_version='current').datastore('api-x', 'backup', '/b', 'x')
    assert info.value.status == 404
    assert 'mim x was not found' in info.value.hint


def test_404_on_delete_means_already_gone(server):
    server.script = lambda req: (404, {'error': {'code': 404, 'message': 'gone'}}, {})
    assert client_for(server, api_version='current').delete_mim('api-x', 'x') is None


def test_409_hint_says_what_conflicts(server):
    server.script = lambda req: (409, {'error': {'code': 409, 'message': 'image used'}}, {})
    with pytest.raises(MCMError) as info:
        client_for(server, api_version='current').delete_image('api-hello', 'hello', ['hello-v1'])
    assert info.value.status == 409
    assert 'used by the mims hello-v1' in info.value.hint


@pytest.mark.parametrize('payload,expected', [
    ({'message': 'top level text'}, 'top level text'),
    ({'error': 'plain error'}, 'plain error'),
    ('<html><body><h1>502 Bad Gateway</h1><p>nginx</p></body></html>', '502 Bad Gateway nginx'),
    ('just text', 'just text'),
])
def test_error_body_parsed_defensively(server, payload, expected):
    server.script = lambda req: (400, payload, {})
    with pytest.raises(MCMError) as info:
        client_for(server, api_version='current').list_images()
    assert info.value.server_message == expected


def test_token_echoed_by_the_server_is_masked(server):
    server.script = lambda req: (403, {'error': {'code': 403, 'message': 'bad token %s for you' % TOKEN}}, {})
    with pytest.raises(MCMError) as info:
        client_for(server, api_version='current').list_images()
    for text in (str(info.value), info.value.server_message, json.dumps(info.value.to_dict())):
        assert TOKEN not in text
    assert 'bad token ******** for you' in info.value.server_message


def test_connection_refused_names_url_and_timeout():
    sock = socket.socket()
    sock.bind(('127.0.0.1', 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    client = MCMClient('http://127.0.0.1:%d' % port, TOKEN, timeout=2, retries=0, api_version='current')
    with pytest.raises(MCMError) as info:
        client.list_images()
    assert info.value.status is None
    assert 'http://127.0.0.1:%d/mcm/v1/images' % port in str(info.value)
    assert 'timeout 2.0 seconds' in str(info.value)
    assert TOKEN not in str(info.value)


def test_read_timeout_is_reported(server):
    def slow(req):
        time.sleep(1.5)
        return (200, {'data': []}, {})
    server.script = slow
    client = client_for(server, api_version='current', timeout=0.5, retries=0)
    with pytest.raises(MCMError) as info:
        client.list_images()
    assert 'within the timeout of 0.5 seconds' in str(info.value)


def test_non_json_success_body_is_an_error(server):
    server.script = lambda req: (200, '<html>login page</html>', {})
    with pytest.raises(MCMError, match='not JSON'):
        client_for(server, api_version='current').list_images()


# ---------------------------------------------------------------- API generation

def test_detects_current_once(server):
    server.script = lambda req: (200, {'data': []}, {})
    client = client_for(server)
    assert client.api_version == 'current'
    assert client.api_version == 'current'
    client.list_mims()
    paths = [r['path'] for r in server.requests]
    assert paths == ['/mcm/v1/mims', '/mcm/v1/mims']


def test_detects_legacy(server):
    def script(req):
        if req['path'] == '/mcm/v1/mims':
            return (404, {'error': {'code': 404, 'message': 'no route'}}, {})
        return (200, {'data': []}, {})
    server.script = script
    client = client_for(server)
    assert client.api_version == 'legacy'
    client.list_mims()
    assert [r['path'] for r in server.requests] == ['/mcm/v1/mims', '/mcm/v1/containers', '/mcm/v1/containers']


def test_detection_fails_when_neither_answers(server):
    server.script = lambda req: (404, 'not found', {})
    with pytest.raises(MCMError, match='neither'):
        assert client_for(server).api_version


def test_explicit_api_version_skips_detection(server):
    client = client_for(server, api_version='legacy')
    client.list_mims()
    assert [r['path'] for r in server.requests] == ['/mcm/v1/containers']


def test_detection_propagates_auth_errors(server):
    server.script = lambda req: (403, {'error': {'code': 403, 'message': 'denied'}}, {})
    with pytest.raises(MCMError) as info:
        assert client_for(server).api_version
    assert info.value.status == 403


# ---------------------------------------------------------------- TLS

def test_tls_verification_defaults_and_ca_path(tmp_path):
    assert MCMClient('https://node:8083', TOKEN).sessions.retrying.verify is True
    assert MCMClient('https://node:8083', TOKEN, validate_certs=False).sessions.retrying.verify is False
    ca = str(tmp_path / 'ca.pem')
    (tmp_path / 'ca.pem').write_text('not checked here')
    client = MCMClient('https://node:8083', TOKEN, ca_path=ca)
    assert client.sessions.retrying.verify == ca and client.sessions.single.verify == ca
    assert client._session.verify == ca  # what the release's health check reads


# ---------------------------------------------------------------- issue 15: hostile network

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
from slow_peer import SlowPeer  # noqa: E402  pylint: disable=wrong-import-position


@pytest.mark.parametrize('mode', ['body', 'headers'])
def test_whole_answer_deadline_against_a_slow_loris(mode):
    """Headers then 2 bytes a second (or the headers themselves dripped): requests' per-read timeout never fires;
    the whole-answer deadline ends the call within about a second of timeout."""
    peer = SlowPeer(mode)
    try:
        client = MCMClient(peer.url, TOKEN, timeout=2, retries=0, api_version='current')
        started = time.monotonic()
        with pytest.raises(MCMError) as info:
            client.list_images()
        elapsed = time.monotonic() - started
    finally:
        peer.close()
    assert elapsed < 3.0, elapsed
    assert 'within the timeout of 2.0 seconds' in str(info.value)
    assert info.value.unanswered is False  # a write that timed out is never sent again blindly


def test_slow_loris_with_retries_is_bounded_per_attempt():
    peer = SlowPeer('body')
    try:
        client = MCMClient(peer.url, TOKEN, timeout=1, retries={'total': 2, 'backoff_factor': 0},
                           api_version='current')
        started = time.monotonic()
        with pytest.raises(MCMError):
            client.list_images()
        elapsed = time.monotonic() - started
    finally:
        peer.close()
    assert elapsed < 3 * 1 + 1.5, elapsed


def test_answer_larger_than_the_cap_is_refused_without_reading_it_all():
    peer = SlowPeer('huge', size=40 * 1024 * 1024)
    try:
        client = MCMClient(peer.url, TOKEN, timeout=10, retries=0, api_version='current')
        with pytest.raises(MCMError) as info:
            client.list_images()
    finally:
        peer.close()
    assert 'more than the limit of %d bytes' % (16 * 1024 * 1024) in str(info.value)


def test_declared_content_length_over_the_cap_is_refused(server):
    server.script = lambda req: (200, b'x' * 2048, {})
    client = MCMClient(server.url, TOKEN, retries=0, api_version='current', max_answer_bytes=1024)
    with pytest.raises(MCMError, match='2048 bytes, more than the limit of 1024 bytes'):
        client.list_images()


@pytest.mark.parametrize('status', [500, 501, 507])
def test_get_is_retried_on_any_5xx(server, status):
    answers = iter([(status, 'boom', {}), (200, {'data': []}, {})])
    server.script = lambda req: next(answers)
    assert client_for(server, api_version='current').list_images() == []
    assert len(server.requests) == 2


def test_post_answered_500_is_retried_once_the_node_shows_it_did_not_apply(server):
    answers = iter([(500, 'internal', {}), (201, {'name': 'a', 'image': 'b'}, {})])

    def script(req):
        if req['method'] == 'GET':
            return (200, {'data': []}, {})
        return next(answers)
    server.script = script
    client = client_for(server, api_version='current', retries={'total': 2, 'backoff_factor': 0})
    assert client.deploy_mim({'name': 'a', 'image': 'b', 'env': {}})['name'] == 'a'
    assert [r['method'] for r in server.requests] == ['POST', 'GET', 'POST']


@pytest.mark.parametrize('url', ['http://admin:s3cr3t-pw@node:8083', 'https://s3cr3t-pw@node:8083/mcm/v1'])
def test_url_with_credentials_is_refused_and_never_echoed(url):
    with pytest.raises(MCMError) as info:
        MCMClient(url, TOKEN)
    assert 's3cr3t-pw' not in str(info.value) and 'admin' not in str(info.value)
    assert 'must not hold credentials' in str(info.value) and '********@node:8083' in str(info.value)


def test_missing_ca_path_is_a_clear_error(tmp_path):
    with pytest.raises(MCMError, match='ca_path .* is not a readable file'):
        MCMClient('https://node:8083', TOKEN, ca_path=str(tmp_path / 'missing.pem'))


@pytest.mark.parametrize('retries,field', [
    ({'total': 'x'}, 'retries.total'), ({'backoff_factor': -1}, 'retries.backoff_factor'),
    ({'backoff_factor': 'slow'}, 'retries.backoff_factor'), ({'status_forcelist': ['x']}, 'status_forcelist'),
    ({'connect': True}, 'retries.connect'), ({'respect_retry_after_header': 'yes'}, 'respect_retry_after_header'),
])
def test_bad_retry_values_are_refused_up_front(retries, field):
    with pytest.raises(MCMError, match=field):
        MCMClient('http://node:8083', TOKEN, retries=retries)


def test_node_error_text_has_control_characters_escaped(server):
    server.script = lambda req: (400, {'error': {'message': 'bad \x1b[31mred\x1b]0;pwned\x07 \u202e'}}, {})
    with pytest.raises(MCMError) as info:
        client_for(server, api_version='current').list_images()
    text = str(info.value)
    assert '\x1b' not in text and '\x07' not in text and '\u202e' not in text
    assert '\\x1b[31mred' in text and info.value.server_message == text.split(': ', 1)[1].split('. Hint')[0]


_MEASURE = r'''
import resource, sys
from ansible_collections.mimoe.edge.plugins.module_utils._mcm_client import MCMClient, MCMError
try:
    MCMClient(sys.argv[1], 'tok-3f9a1c77e0b24d51', timeout=60, retries=0, api_version='current').list_images()
except MCMError as exc:
    print(exc)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
'''


def test_peak_memory_with_a_160_mb_node_answer():
    """Measured in a child process (ru_maxrss): the answer is refused at the cap, never held whole."""
    import subprocess
    peer = SlowPeer('huge', size=160 * 1024 * 1024)
    try:
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
        out = subprocess.run([sys.executable, '-c', _MEASURE, peer.url], env=env, check=True, capture_output=True,
                             text=True, timeout=120).stdout.split('\n')
    finally:
        peer.close()
    assert 'more than the limit' in out[0], out
    assert int(out[-2]) < 300, out  # MB
