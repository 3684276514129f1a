# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The HTTP layer both clients share (issue 17): sessions, TLS options, and a module that finishes offline."""

from __future__ import annotations

import json

import pytest

from compat import patch_module_args

from ansible_collections.mimoe.edge.plugins.module_utils import _catalog, _image_archive, _mcm_client, _oci_client
from ansible_collections.mimoe.edge.plugins.modules import mim_package_info
from ansible_collections.mimoe.edge.plugins.module_utils._errors import MimoeError
from ansible_collections.mimoe.edge.plugins.module_utils._http import IDEMPOTENT_METHODS, Sessions, TLSOptions
from ansible_collections.mimoe.edge.plugins.module_utils._mcm_client import MCMClient, MCMError
from ansible_collections.mimoe.edge.plugins.module_utils._mcm_module import MCMModule
from ansible_collections.mimoe.edge.plugins.module_utils._oci_client import OCIClient, OCIError

TOKEN = 'tok-5d1e0c9a7b2f4e11'


@pytest.fixture
def counted(monkeypatch):
    """Every call an MCMClient makes, answered as a node of the current generation answers ``GET /mims``."""
    calls = []

    def request(self, method, path, **kwargs):
        calls.append((method, path))
        return {'data': []}

    monkeypatch.setattr(MCMClient, 'request', request)
    return calls


def finish(capsys, args, body=None):
    with patch_module_args(args):
        mcm = MCMModule(argument_spec={}, supports_check_mode=True)
        if body is not None:
            body(mcm)
        with pytest.raises(SystemExit):
            mcm.exit()
    return json.loads(capsys.readouterr().out)


def test_exit_makes_no_network_call(counted, capsys):
    args = dict(mcm_url='http://127.0.0.1:9', mcm_token=TOKEN)
    result = finish(capsys, args)
    assert counted == [] and 'api_version' not in result
    # Known when given...
    assert finish(capsys, dict(args, api_version='legacy'))['api_version'] == 'legacy'
    assert counted == []
    # ... or detected by a call the module made (GET /mims answered: current), and not asked again.
    result = finish(capsys, args, lambda mcm: mcm.client.list_mims())
    assert result['api_version'] == 'current' and counted == [('GET', '/mims'), ('GET', '/mims')]


def test_both_clients_use_the_shared_sessions(tmp_path):
    mcm = MCMClient('https://node:8083', TOKEN, validate_certs=False)
    oci = OCIClient('https://registry:5000', validate_certs=False)
    for client in (mcm, oci):
        assert isinstance(client.sessions, Sessions)
        assert client.sessions.retrying.verify is False and client.sessions.single.verify is False
        assert client.sessions.single.get_adapter('https://x').max_retries.total == 0
    assert set(mcm.sessions.retrying.get_adapter('https://x').max_retries.allowed_methods) == set(IDEMPOTENT_METHODS)
    # The registry client does not depend on the node client, nor do the archive readers.
    assert '_mcm_client' not in open(_oci_client.__file__).read()
    for module in (_catalog, _image_archive, mim_package_info):
        assert '_mcm_client' not in open(module.__file__).read(), module.__name__


def test_client_certificate_options(tmp_path):
    cert, key = tmp_path / 'client.pem', tmp_path / 'client.key'
    cert.write_text('x')
    key.write_text('y')
    assert TLSOptions(client_cert=str(cert)).cert == str(cert)
    assert TLSOptions(client_cert=str(cert), client_key=str(key)).cert == (str(cert), str(key))
    client = MCMClient('https://node:8083', TOKEN, client_cert=str(cert), client_key=str(key))
    assert client.sessions.retrying.cert == (str(cert), str(key)) and client.sessions.single.cert == client.tls.cert

    with pytest.raises(MCMError, match='client_cert .*missing.pem is not a readable file'):
        MCMClient('https://node:8083', TOKEN, client_cert=str(tmp_path / 'missing.pem'))
    with pytest.raises(MCMError, match='client_key is set without client_cert'):
        MCMClient('https://node:8083', TOKEN, client_key=str(key))
    with pytest.raises(OCIError, match='registry.client_key .*nokey.pem is not a readable file'):
        OCIClient('https://registry:5000', client_cert=str(cert), client_key=str(tmp_path / 'nokey.pem'))


def test_tls_hint_names_the_client_certificate():
    asked = TLSOptions(peer='node').hint(Exception('[SSL: TLSV13_ALERT_CERTIFICATE_REQUIRED] tlsv13 alert '
                                                   'certificate required'))
    assert 'client_cert' in asked and 'mutual TLS' in asked
    closed = TLSOptions(peer='node').hint(Exception("SSLEOFError(8, 'EOF occurred in violation of protocol')"))
    assert 'set client_cert and client_key' in closed
    untrusted = TLSOptions(prefix='registry.', peer='registry').hint(
        Exception('[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed'))
    assert 'registry.ca_path' in untrusted
    assert issubclass(MCMError, MimoeError) and _mcm_client.MCMClient is MCMClient
