# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Registry credentials read from Docker / Podman auth files (issue 18 item 7)."""

from __future__ import annotations

import base64
import json

import pytest

from ansible_collections.mimoe.edge.plugins.module_utils._oci_client import (
    OCIError, client_from_params, registry_credentials,
)

PASSWORD = 'Auth-F1le-Pa55word'


def b64(text):
    return base64.b64encode(text.encode()).decode()


def write(path, auths):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({'auths': auths}))
    return str(path)


@pytest.fixture
def no_auth_env(monkeypatch, tmp_path):
    monkeypatch.delenv('REGISTRY_AUTH_FILE', raising=False)
    monkeypatch.setenv('DOCKER_CONFIG', str(tmp_path / 'empty-docker'))
    monkeypatch.setenv('HOME', str(tmp_path / 'home'))


def test_exact_host_only_and_every_entry_form(tmp_path, no_auth_env):
    path = write(tmp_path / 'config.json', {
        'reg.example:5000': {'auth': b64('alice:' + PASSWORD)},
        'https://token.example/v2/': {'username': 'bob', 'password': PASSWORD},
        'refresh.example': {'auth': b64('<token>:'), 'identitytoken': 'refresh-abc'},
    })
    assert registry_credentials('reg.example:5000', path) == ('alice', PASSWORD, None, path)
    assert registry_credentials('token.example', path) == ('bob', PASSWORD, None, path)
    assert registry_credentials('refresh.example', path) == (None, None, 'refresh-abc', path)
    # Another port, a suffix or a prefix of the host is another registry.
    for host in ('reg.example', 'reg.example:5001', 'example:5000', 'xreg.example:5000'):
        assert registry_credentials(host, path) is None


def test_search_order_and_environment(tmp_path, monkeypatch, no_auth_env):
    podman = write(tmp_path / 'podman' / 'auth.json', {'reg:5000': {'auth': b64('podman:' + PASSWORD)}})
    docker = write(tmp_path / 'docker' / 'config.json', {
        'reg:5000': {'auth': b64('docker:' + PASSWORD)}, 'only-docker:5000': {'auth': b64('d:' + PASSWORD)}})
    home = write(tmp_path / 'home' / '.docker' / 'config.json', {'reg:5000': {'auth': b64('home:' + PASSWORD)}})
    assert registry_credentials('reg:5000') is None
    monkeypatch.delenv('DOCKER_CONFIG')
    assert registry_credentials('reg:5000')[::3] == ('home', home)
    monkeypatch.setenv('DOCKER_CONFIG', str(tmp_path / 'docker'))
    assert registry_credentials('reg:5000')[::3] == ('docker', docker)
    monkeypatch.setenv('REGISTRY_AUTH_FILE', podman)
    assert registry_credentials('reg:5000')[::3] == ('podman', podman)
    assert registry_credentials('only-docker:5000')[::3] == ('d', docker)  # the next file has it


def test_bad_files_are_clear_errors_without_content(tmp_path, no_auth_env):
    with pytest.raises(OCIError, match='registry.auth_file .*missing.json is not a readable file'):
        registry_credentials('reg:5000', str(tmp_path / 'missing.json'))
    broken = tmp_path / 'broken.json'
    broken.write_text('{"auths": {"reg:5000": {"auth": "%s"' % b64('u:' + PASSWORD))
    with pytest.raises(OCIError) as info:
        registry_credentials('reg:5000', str(broken))
    assert 'Cannot read the registry auth file' in str(info.value) and PASSWORD not in str(info.value)
    bad = write(tmp_path / 'bad.json', {'reg:5000': {'auth': b64(PASSWORD)}})  # no colon
    with pytest.raises(OCIError, match='not the base64 of user:password') as info:
        registry_credentials('reg:5000', bad)
    assert PASSWORD not in str(info.value) and b64(PASSWORD) not in str(info.value)


def test_given_credentials_win_and_the_file_is_named_in_the_hint(tmp_path, no_auth_env):
    path = write(tmp_path / 'config.json', {'127.0.0.1:5000': {'auth': b64('alice:' + PASSWORD)}})
    client = client_from_params({'url': 'http://127.0.0.1:5000', 'auth_file': path})
    assert (client.username, client.credentials_from) == ('alice', path)
    given = client_from_params({'url': 'http://127.0.0.1:5000', 'auth_file': path, 'username': 'bob',
                                'password': 'other'})
    assert (given.username, given.credentials_from) == ('bob', None)
    failed = client._auth_failed(401, 'GET', 'http://127.0.0.1:5000/v2/', 'credentials rejected')
    assert path in str(failed) and PASSWORD not in str(failed)
