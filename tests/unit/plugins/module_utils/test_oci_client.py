# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The OCI client against a scripted loopback registry: Bearer token flow per scope, Basic, errors without the
password, digests checked, fast failures. (The real-registry tests are in tests/integration/test_catalog.py.)"""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest

from ansible_collections.mimoe.edge.plugins.module_utils._oci_client import (
    MEDIA_MANIFEST,
    OCIClient,
    OCIError,
    canonical_json,
    parse_challenge,
    sha256_digest,
    split_registry_url,
)

USER = 'robot'
PASSWORD = 'Unit-Pa55word-q7'


class TokenRegistry:
    """A loopback registry with a token service: ``/token`` (Basic auth) issues one token per scope; ``/v2/``
    accepts only the token of the scope the request needs (pull for GET/HEAD, pull,push for PUT)."""

    def __init__(self, basic=False):
        self.requests = []
        self.manifests = {}
        self.basic = basic
        self.tags_answer = None
        self.tamper = False
        self.realm = None  # the token service the challenge names (default: this registry's /token)
        registry = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _answer(self, status, body=b'', headers=None):
                self.send_response(status)
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.send_header('Content-Length', str(len(body)))
                self.end_headers()
                if self.command != 'HEAD':
                    self.wfile.write(body)

            def _handle(self):
                length = int(self.headers.get('Content-Length') or 0)
                body = self.rfile.read(length) if length else b''
                auth = self.headers.get('Authorization') or ''
                registry.requests.append((self.command, self.path, auth))
                url = urlparse(self.path)
                if url.path == '/token':
                    expected = 'Basic ' + base64.b64encode(('%s:%s' % (USER, PASSWORD)).encode()).decode()
                    if auth != expected:
                        return self._answer(401, b'{"details":"bad credentials"}')
                    scope = parse_qs(url.query).get('scope', [''])[0]
                    return self._answer(200, json.dumps({'token': 'tok:' + scope}).encode())
                repo = url.path.split('/')[2] if url.path.count('/') > 2 else ''
                scope = 'repository:%s:%s' % (repo, 'pull,push' if self.command in ('PUT', 'POST') else 'pull')
                if registry.basic:
                    expected = 'Basic ' + base64.b64encode(('%s:%s' % (USER, PASSWORD)).encode()).decode()
                    if auth != expected:
                        return self._answer(401, b'{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}',
                                            {'WWW-Authenticate': 'Basic realm="basic-realm"'})
                elif auth != 'Bearer tok:' + scope:
                    challenge = 'Bearer realm="%s",service="test",scope="%s"' % (
                        registry.realm or 'http://127.0.0.1:%d/token' % registry.port, scope)
                    return self._answer(401, b'{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}',
                                        {'WWW-Authenticate': challenge})
                if '/manifests/' in url.path:
                    ref = url.path.rsplit('/', 1)[1]
                    if self.command == 'PUT':
                        digest = sha256_digest(body)
                        registry.manifests[ref] = registry.manifests[digest] = body
                        answered = sha256_digest(body + b' ') if registry.tamper else digest
                        return self._answer(201, b'', {'Docker-Content-Digest': answered})
                    if ref not in registry.manifests:
                        return self._answer(404, b'{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}')
                    data = registry.manifests[ref] + (b' ' if registry.tamper else b'')
                    return self._answer(200, data, {'Content-Type': MEDIA_MANIFEST,
                                                    'Docker-Content-Digest': sha256_digest(data)})
                if url.path.endswith('/tags/list'):
                    if registry.tags_answer == 404:
                        return self._answer(404, b'{"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known"}]}')
                    if registry.tags_answer == 500:
                        return self._answer(500, b'{"errors":[{"code":"UNKNOWN","message":"boom"}]}')
                    return self._answer(200, json.dumps({'name': repo, 'tags': registry.tags_answer}).encode())
                return self._answer(200, b'{}')

            do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = _handle

        self.server = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.port = self.server.server_address[1]
        self.url = 'http://127.0.0.1:%d' % self.port
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={'poll_interval': 0.05}, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def token_registry():
    registry = TokenRegistry()
    yield registry
    registry.close()


@pytest.fixture
def basic_registry():
    registry = TokenRegistry(basic=True)
    yield registry
    registry.close()


def test_bearer_flow_fetches_one_token_per_scope_and_sends_credentials_only_to_the_realm(token_registry):
    client = OCIClient(token_registry.url, username=USER, password=PASSWORD)
    raw = canonical_json({'schemaVersion': 2, 'mediaType': MEDIA_MANIFEST, 'layers': []})
    digest = client.put_manifest('mims', '1.0.0', raw, MEDIA_MANIFEST)
    assert digest == sha256_digest(raw)
    manifest, got_digest, got_raw = client.get_manifest('mims', '1.0.0')
    assert got_digest == digest and got_raw == raw and manifest['schemaVersion'] == 2
    assert client.get_manifest('mims', '2.0.0') is None
    token_calls = [r for r in token_registry.requests if r[1].startswith('/token')]
    assert len(token_calls) == 2  # pull,push for the PUT, then pull for the GETs
    assert 'scope=repository%3Amims%3Apull%2Cpush' in token_calls[0][1]
    assert all(r[2].startswith('Bearer ') or r[2] == '' for r in token_registry.requests if r[1].startswith('/v2'))


def test_bearer_wrong_password_is_a_clear_401_without_the_password(token_registry):
    client = OCIClient(token_registry.url, username=USER, password='not-' + PASSWORD)
    with pytest.raises(OCIError) as info:
        client.get_manifest('mims', '1.0.0')
    assert info.value.status == 401
    assert 'authentication failed for user %s' % USER in str(info.value)
    assert PASSWORD not in str(info.value) and 'registry.password' in str(info.value)


def test_basic_challenge(basic_registry):
    client = OCIClient(basic_registry.url, username=USER, password=PASSWORD)
    assert client.get_manifest('mims', '1.0.0') is None
    assert [r[2] for r in basic_registry.requests][:2] == ['', 'Basic ' + base64.b64encode(
        ('%s:%s' % (USER, PASSWORD)).encode()).decode()]
    client.get_manifest('mims', '1.0.0')
    assert basic_registry.requests[-1][2].startswith('Basic ')  # learnt once, then sent up front

    anonymous = OCIClient(basic_registry.url)
    with pytest.raises(OCIError, match='requires credentials'):
        anonymous.tags('mims')
    wrong = OCIClient(basic_registry.url, username=USER, password='Wrong-' + PASSWORD)
    with pytest.raises(OCIError) as info:
        wrong.tags('mims')
    assert info.value.status == 401 and PASSWORD not in str(info.value) and 'Wrong-' not in str(info.value)


def test_digests_are_checked(token_registry):
    client = OCIClient(token_registry.url, username=USER, password=PASSWORD)
    raw = canonical_json({'schemaVersion': 2})
    client.put_manifest('mims', '1.0.0', raw, MEDIA_MANIFEST)
    token_registry.tamper = True
    with pytest.raises(OCIError, match='changed the bytes'):
        client.put_manifest('mims', '1.0.1', raw, MEDIA_MANIFEST)
    with pytest.raises(OCIError, match='content of digest'):
        client.get_manifest('mims', sha256_digest(raw))


def test_null_tags_are_empty(token_registry):
    client = OCIClient(token_registry.url, username=USER, password=PASSWORD)
    assert client.tags('mims') == []
    token_registry.tags_answer = ['2.0.0', '1.0.0']
    assert client.tags('mims') == ['1.0.0', '2.0.0']
    token_registry.tags_answer = 404
    assert client.tags('mims') == []
    token_registry.tags_answer = 500
    with pytest.raises(OCIError, match='Cannot list the tags of mims') as info:
        OCIClient(token_registry.url, username=USER, password=PASSWORD, retries=0).tags('mims')
    assert info.value.status == 500


def test_connection_refused_fails_fast_without_oras_retry_sleeps():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
    client = OCIClient('http://127.0.0.1:%d' % port, username=USER, password=PASSWORD, timeout=2, retries=0)
    started = time.time()
    with pytest.raises(OCIError, match='Cannot reach the registry') as info:
        client.tags('mims')
    assert time.time() - started < 5
    assert PASSWORD not in str(info.value)


@pytest.mark.parametrize('url', ['ftp://x', 'https://host/path', 'https://user:pw@host', '', 'host:5000'])
def test_registry_url_must_be_a_bare_origin(url):
    with pytest.raises(OCIError, match='registry.url'):
        split_registry_url(url)


def test_parse_challenge():
    assert parse_challenge('Bearer realm="https://auth.example/token",service="reg",scope="repository:a:pull"') == (
        'bearer', {'realm': 'https://auth.example/token', 'service': 'reg', 'scope': 'repository:a:pull'})
    assert parse_challenge('Basic realm="basic-realm"') == ('basic', {'realm': 'basic-realm'})
    assert parse_challenge(None) == (None, {})


def test_username_and_password_go_together():
    with pytest.raises(OCIError, match='go together'):
        OCIClient('http://127.0.0.1:1', username=USER)


# ---------------------------------------------------------------- issue 15: credentials only where meant

def test_token_realm_on_another_host_over_http_is_refused_and_gets_nothing(token_registry):
    foreign = TokenRegistry()
    try:
        token_registry.realm = 'http://127.0.0.1:%d/token' % foreign.port
        client = OCIClient(token_registry.url, username=USER, password=PASSWORD, retries=0)
        with pytest.raises(OCIError) as info:
            client.tags('mims')
        assert 'another host or scheme' in str(info.value) and 'https' in str(info.value)
        assert PASSWORD not in str(info.value)
        assert foreign.requests == []  # not even a request without credentials
    finally:
        foreign.close()


def test_token_realm_downgraded_to_http_on_the_same_host_is_refused():
    client = OCIClient('https://127.0.0.1:1', username=USER, password=PASSWORD, retries=0)
    with pytest.raises(OCIError, match='another host or scheme'):
        client._fetch_token({'realm': 'http://127.0.0.1:1/token'}, 'GET', 'https://127.0.0.1:1/v2/')


@pytest.mark.parametrize('url', ['https://robot:Unit-Pa55word-q7@reg.example', 'http://Unit-Pa55word-q7@reg:5000/'])
def test_registry_url_with_credentials_is_refused_without_echoing_them(url):
    with pytest.raises(OCIError) as info:
        OCIClient(url)
    assert PASSWORD not in str(info.value) and 'robot' not in str(info.value)
    assert 'registry.url must not hold credentials' in str(info.value)


def test_registry_slow_loris_is_cut_at_the_timeout():
    import os
    import sys
    import time
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    from slow_peer import SlowPeer
    peer = SlowPeer('body')
    try:
        client = OCIClient(peer.url, timeout=2, retries=0)
        started = time.monotonic()
        with pytest.raises(OCIError, match='within the timeout'):
            client.tags('mims')
        assert time.monotonic() - started < 3.0
    finally:
        peer.close()
