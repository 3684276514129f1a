# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Credentials (issue 18 item 7): client certificates for nodes and registries, registry credentials from a Docker
auth file, and the Bearer token flow against a real token service.

The registry is Debian's docker-registry serving HTTPS, requiring a client certificate (``http.tls.clientcas``) and
Bearer tokens from the token service of ``token_service.py`` (``auth.token``). The node is a simulator serving HTTPS
that requires a client certificate (``--tls-client-ca``)."""

from __future__ import annotations

import base64
import json
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from mcm_it import Ansible  # noqa: E402  pylint: disable=wrong-import-position
from registry import Registry  # noqa: E402  pylint: disable=wrong-import-position
from test_catalog import arch_tar, run_play  # noqa: E402  pylint: disable=wrong-import-position
from token_service import TestPKI, TokenService  # noqa: E402  pylint: disable=wrong-import-position
from mimoe_sim.testing import SimNode  # noqa: E402  pylint: disable=wrong-import-position

USER = 'publisher'
PASSWORD = 'T0ken-Pa55word-q81'
WRONG = 'Wr0ng-T0ken-pw-77'
REFRESH = 'refresh-Id3ntity-t0ken-5f'


@pytest.fixture
def pki(tmp_path):
    return TestPKI(tmp_path / 'pki')


@pytest.fixture
def token_registry(tmp_path, pki):
    """A registry over HTTPS with mutual TLS and Bearer tokens; yields (registry, token service, client cert)."""
    cert, key, _k, _c = pki.issue('registry')
    client = pki.issue('ansible-controller', server=False)[:2]
    service = TokenService(pki, {USER: PASSWORD}, refresh_tokens={REFRESH: USER})
    try:
        with Registry(tmp_path / 'registry', tls=(cert, key), client_ca=pki.ca, probe_cert=client,
                      auth_lines=service.registry_auth()) as reg:
            yield reg, service, client
    finally:
        service.close()


def auth_file(directory, entries):
    os.makedirs(str(directory), exist_ok=True)
    path = os.path.join(str(directory), 'config.json')
    with open(path, 'w', encoding='utf-8') as out:
        json.dump({'auths': entries}, out)
    return path


def test_catalog_through_token_service_with_mtls_and_docker_config(tmp_path, pki, token_registry):
    reg, service, (client_cert, client_key) = token_registry
    host = reg.url.split('://', 1)[1]
    tar = arch_tar(tmp_path, '1.0.0', 'amd64')
    tls = {'url': reg.url, 'ca_path': pki.ca, 'client_cert': client_cert, 'client_key': client_key,
           'namespace': 'acme'}
    docker_config = auth_file(tmp_path / 'docker', {
        host: {'auth': base64.b64encode(('%s:%s' % (USER, PASSWORD)).encode()).decode()},
        # Another host's entry is never used for this registry.
        'registry.example:5000': {'auth': base64.b64encode(b'someone:other-Pa55').decode()}})
    identity_file = auth_file(tmp_path / 'podman', {'https://%s/v2/' % host: {'identitytoken': REFRESH}})
    explicit = dict(tls, username=USER, password=PASSWORD)
    item = {'name': 'hello', 'version': '1.0.0', 'description': 'Hello mim', 'image': tar}
    tasks = [
        {'name': 'publish with username and password', 'mimoe.edge.catalog_item': dict(item, registry=explicit)},
        {'name': 'read with the docker auth file', 'mimoe.edge.catalog_info': {'reference': 'hello@1.0.0',
                                                                               'registry': tls}},
        {'name': 'read with an identity token', 'mimoe.edge.catalog_info': {
            'reference': 'hello@1.0.0', 'registry': dict(tls, auth_file=identity_file)}},
        {'name': 'republish with the docker auth file', 'mimoe.edge.catalog_item': dict(item, registry=tls)},
        {'name': 'wrong password', 'ignore_errors': True, 'mimoe.edge.catalog_info': {
            'reference': 'hello@1.0.0', 'registry': dict(explicit, password=WRONG)}},
        {'name': 'no client certificate', 'ignore_errors': True, 'mimoe.edge.catalog_info': {
            'reference': 'hello@1.0.0', 'registry': dict(explicit, client_cert=None, client_key=None)}},
    ]
    run, results = run_play(tmp_path, tasks, env={'DOCKER_CONFIG': os.path.dirname(docker_config),
                                                  'REGISTRY_AUTH_FILE': ''})
    assert results['publish with username and password']['changed'] is True, run.explain()
    for task in ('read with the docker auth file', 'read with an identity token'):
        assert results[task]['_status'] == 'ok', (task, results[task])
        assert results[task]['resolved'], results[task]
    assert results['republish with the docker auth file']['changed'] is False, run.explain()

    wrong = results['wrong password']
    assert wrong['_status'] == 'failed' and 'authentication failed for user %s' % USER in wrong['msg'], wrong
    assert 'registry.password' in wrong['msg']
    no_cert = results['no client certificate']
    assert no_cert['_status'] == 'failed' and 'registry.client_cert' in no_cert['msg'], no_cert

    granted = [r for r in service.requests if r[3] is not None]
    assert {r[0] for r in granted} == {'GET', 'POST'}  # Basic to the token service, and the refresh-token grant
    assert any(r[3] is None for r in service.requests)  # the wrong password was refused by the token service
    # What the modules returned (ansible-core itself quotes the failing task's source, which holds the password).
    output = json.dumps(run.results) + '\n'.join(line for line in (run.stdout + run.stderr).splitlines()
                                                 if line.startswith(('fatal:', 'ok:', 'changed:', '[ERROR]')))
    for secret in (PASSWORD, WRONG, REFRESH, 'other-Pa55', base64.b64encode(('%s:%s' % (USER, PASSWORD)).encode())
                   .decode()):
        assert secret not in output


def test_node_that_requires_a_client_certificate(tmp_path, pki, monkeypatch):
    cert, key, _k, _c = pki.issue('node')
    client_cert, client_key = pki.issue('ansible-controller', server=False)[:2]
    with SimNode(data_dir=str(tmp_path / 'node'), tls_cert=cert, tls_key=key, tls_client_ca=pki.ca,
                 helper_cert=(client_cert, client_key)) as node:
        ansible = Ansible(tmp_path, {'edge1': node})
        defaults = {'mcm_url': '{{ node_url }}', 'mcm_token': '{{ node_token }}', 'timeout': 20, 'retries': 0,
                    'ca_path': pki.ca}
        info = {'name': 'info', 'mimoe.edge.mcm_info': {}, 'ignore_errors': True}
        with_cert = {'name': 'with cert', 'ignore_errors': True,
                     'mimoe.edge.mcm_info': {'client_cert': client_cert, 'client_key': client_key}}
        run = ansible.run([info, with_cert], defaults=defaults)
        by_task = {r['_task']: r for r in run.host('edge1')}
        refused = by_task['info']
        assert refused['_status'] == 'failed' and 'set client_cert and client_key' in refused['msg'], refused
        assert by_task['with cert']['_status'] == 'ok' and by_task['with cert']['api_version'] == 'current'
        # The environment fallbacks, as for mcm_url and mcm_token.
        run = ansible.run([info], defaults=defaults, env={'MCM_CLIENT_CERT': client_cert,
                                                          'MCM_CLIENT_KEY': client_key})
        assert run.host('edge1')[0]['_status'] == 'ok', run.host('edge1')
        assert node.api_key not in run.stdout
