# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests of the mcm_nodes inventory plugin: node entries, versions, per-node failures (token masked), the
hostvars and groups it sets, unsafe values. Real nodes, the cache and vault: tests/integration/test_inventory*."""

from __future__ import annotations

import pytest

from ansible.inventory.data import InventoryData
from ansible.template import Templar

from ansible_collections.mimoe.edge.plugins.inventory.mcm_nodes import InventoryModule
from ansible_collections.mimoe.edge.plugins.module_utils._mcm_client import MCMError
from ansible_collections.mimoe.edge.plugins.plugin_utils import _mcm_inventory as inv
from ansible_collections.mimoe.edge.plugins.plugin_utils._unsafe import make_unsafe

TOKEN = 'unit-inventory-token-99ab'


# ---------------------------------------------------------------- configuration

@pytest.mark.parametrize('path, expected', [
    ('fleet.mcm_nodes.yml', True), ('fleet.mcm_nodes.yaml', True), ('fleet.yml', False),
    ('mcm_nodes.yml', False), ('fleet.mcm_nodes.json', False),
])
def test_verify_file(tmp_path, path, expected):
    (tmp_path / path).write_text('plugin: mimoe.edge.mcm_nodes\n')
    assert InventoryModule().verify_file(str(tmp_path / path)) is expected


def test_verify_file_missing(tmp_path):
    assert not InventoryModule().verify_file(str(tmp_path / 'absent.mcm_nodes.yml'))


@pytest.mark.parametrize('url, name', [
    ('http://edge-1.example.com:8083', 'edge-1.example.com'),
    ('https://edge-1.example.com', 'edge-1.example.com'),
    ('http://127.0.0.1:18083/', '127.0.0.1_18083'),
    ('http://[::1]:9000', '__1_9000'),
])
def test_host_name_for_url(url, name):
    assert inv.host_name_for_url(url) == name


def test_normalize_node_forms():
    assert inv.normalize_node('http://n1:8083/', 0, 'shared') == {
        'name': 'n1', 'url': 'http://n1:8083', 'token': 'shared', 'vars': {}}
    node = inv.normalize_node({'url': 'https://n2:8083', 'name': 'edge-2', 'token': 'own',
                               'vars': {'mimoe_arch': 'arm64'}}, 1, 'shared')
    assert node == {'name': 'edge-2', 'url': 'https://n2:8083', 'token': 'own', 'vars': {'mimoe_arch': 'arm64'}}


@pytest.mark.parametrize('entry, message', [
    (42, 'nodes[3] must be a URL string or a dictionary'),
    ({'url': 'n1:8083'}, 'nodes[3].url must be an http:// or https:// URL'),
    ({'name': 'x'}, 'nodes[3].url must be'),
    ({'url': 'http://n1', 'tokn': 'x'}, 'nodes[3] has unknown keys tokn'),
    ({'url': 'http://n1', 'vars': ['a']}, 'nodes[3].vars must be a dictionary'),
])
def test_normalize_node_errors(entry, message):
    with pytest.raises(inv.NodeSpecError, match=message.replace('[', r'\[').replace(']', r'\]')):
        inv.normalize_node(entry, 3)


@pytest.mark.parametrize('tags, version', [
    (['hello-v1:1.2.0'], '1.2.0'),
    (['runtime:wasm', 'hello-v1:2.0.0'], '2.0.0'),
    (['registry.local:5000/hello-v1:3.1.4'], '3.1.4'),
    (['registry.local:5000/hello-v1'], None),
    ([], None),
    (None, None),
])
def test_image_version(tags, version):
    assert inv.image_version({'repoTags': tags}) == version


def test_summaries_current_and_legacy():
    images = [{'id': 'api-hello-v1', 'name': 'hello-v1', 'repoTags': ['hello-v1:1.2.0'], 'digest': 'sha256:' + 'a' * 64,
               'size': 10}]
    mims = [{'id': 'api-hello-v1', 'name': 'hello-v1', 'image': 'hello-v1', 'imageId': 'api-hello-v1',
             'state': 'started', 'status': 'up', 'env': {'API_KEY': 'secret'}}]
    assert inv.summarize_mims(mims, images) == [{
        'name': 'hello-v1', 'id': 'api-hello-v1', 'image': 'hello-v1', 'version': '1.2.0', 'version_source': 'repo_tag',
        'digest': 'sha256:' + 'a' * 64, 'state': 'started', 'status': 'up', 'labels': {}, 'composition': None}]
    legacy_images = [{'id': 'sha256:' + 'b' * 64, 'name': 'hello-v1', 'repoDigests': ['hello-v1@sha256:' + 'b' * 64]}]
    legacy_mims = [{'id': 'api-hello-v1', 'name': 'hello-v1', 'image': 'other', 'imageId': 'sha256:' + 'b' * 64,
                    'state': 'stopped'}]
    assert inv.summarize_mims(legacy_mims, legacy_images)[0]['digest'] == 'sha256:' + 'b' * 64
    assert inv.summarize_mims(legacy_mims, legacy_images)[0]['version'] is None
    assert inv.summarize_images(legacy_images)[0]['version'] is None


def test_summaries_reject_malformed_digests_and_read_release_markers():
    """A node-reported digest is only ever sha256 + 64 hex (never a path); an opaque legacy id gets its version from
    the release marker kept on the node."""
    from ansible_collections.mimoe.edge.plugins.module_utils._markers import RELEASE_KEY, encode_release
    evil = [{'id': 'sha256:../../x', 'name': 'x', 'digest': 'sha256:../../etc', 'repoDigests': [['x@sha256:/tmp']]}]
    assert inv.summarize_images(evil)[0]['digest'] is None
    assert inv.summarize_mims([{'name': 'x', 'image': 'x'}], evil)[0]['digest'] is None
    opaque = [{'id': 'example-v1', 'name': 'example-v1'}]
    marked = [{'name': 'example-v1', 'image': 'example-v1', 'imageId': 'example-v1',
               'env': {'API_KEY': 'secret', RELEASE_KEY: encode_release({'image': 'example-v1', 'version': '1.1.0'})}}]
    summary = inv.summarize_mims(marked, opaque)[0]
    assert (summary['version'], summary['version_source']) == ('1.1.0', 'release_marker')
    assert 'secret' not in repr(summary) and 'env' not in summary
    assert inv.summarize_images(opaque, marked)[0]['version'] == '1.1.0'


# ---------------------------------------------------------------- reading nodes

class FakeClient:
    """Stands in for MCMClient: answers per URL from ``ANSWERS``."""

    ANSWERS = {}
    created = []

    def __init__(self, url, token, **kwargs):
        self.base_url = url
        self.token = token
        self.kwargs = kwargs
        FakeClient.created.append((url, token, kwargs))

    def request(self, method, path, ok_missing=False):
        answer = self.ANSWERS[self.base_url]
        if isinstance(answer, Exception):
            raise answer
        body = answer.get(path)
        if body is None and ok_missing:
            return None
        return body

    @staticmethod
    def unwrap(body):
        return body['data'] if isinstance(body, dict) and 'data' in body else body

    def list_images(self):
        return self.unwrap(self.ANSWERS[self.base_url]['/images'])


def test_query_nodes_results_and_failures():
    FakeClient.created = []
    FakeClient.ANSWERS = {
        'http://current': {'/mims': {'data': [{'name': 'a', 'image': 'a', 'state': 'started'}]},
                           '/images': {'data': [{'name': 'a', 'repoTags': ['a:1.0.0'], 'digest': 'sha256:1'}]}},
        'http://legacy': {'/containers': {'data': []}, '/images': {'data': []}},
        'http://denied': MCMError('GET http://denied/mcm/v1/mims answered 403: bad token %s' % TOKEN, status=403,
                                  server_message='invalid edgeAccessToken for %s' % TOKEN),
        'http://refused': MCMError('Cannot connect to http://refused/mcm/v1/mims: [Errno 111] Connection refused',
                                   url='http://refused/mcm/v1/mims'),
        'http://broken': ValueError('odd answer mentioning %s' % TOKEN),
        'http://neither': {'/images': {'data': []}},
    }
    nodes = [{'name': u[7:], 'url': u, 'token': TOKEN} for u in FakeClient.ANSWERS]
    nodes.append({'name': 'tokenless', 'url': 'http://tokenless', 'token': None})
    options = {'timeout': 2.5, 'retries': 0, 'max_workers': 3, 'validate_certs': False, 'ca_path': None,
               'client_id': 'api'}
    results = inv.query_nodes(nodes, options, client_factory=FakeClient)

    assert results['http://current']['reachable'] is True
    assert results['http://current']['api'] == 'current'
    assert results['http://current']['mims'][0]['version'] == '1.0.0'
    assert results['http://legacy']['api'] == 'legacy' and results['http://legacy']['reachable'] is True
    assert results['http://denied']['reason'] == 'HTTP 403: invalid edgeAccessToken for ******** (check the token)'
    assert results['http://refused']['reason'] == 'connection refused (http://refused)'
    assert results['http://broken']['reason'] == ('unexpected error reading http://broken: ValueError: odd answer '
                                                  'mentioning ********')
    assert 'answers neither' in results['http://neither']['reason']
    assert 'no token for this node' in results['http://tokenless']['reason']
    for result in results.values():
        assert TOKEN not in repr(result)
    assert all(kwargs == {'client_id': 'api', 'validate_certs': False, 'ca_path': None, 'timeout': 2.5, 'retries': 0}
               for dummy_url, dummy_token, kwargs in FakeClient.created)
    assert 'http://tokenless' not in [url for url, dummy_token, dummy_kwargs in FakeClient.created]


# ---------------------------------------------------------------- hostvars and groups

def trusted(text):
    """A configuration string as Ansible reads it from the file (trusted as a template on ansible-core 2.19+)."""
    try:
        from ansible._internal._datatag._tags import TrustedAsTemplate
    except ImportError:
        return text
    return TrustedAsTemplate().tag(text)


def plugin_with(options):
    plugin = InventoryModule()
    plugin.inventory = InventoryData()
    plugin._options = dict({'group': 'mimoe_nodes', 'strict': False, 'connection': 'local', 'compose': {},
                            'groups': {}, 'keyed_groups': [], 'leading_separator': True,
                            'use_extra_vars': False}, **options)
    plugin._vars = {}
    if not hasattr(plugin, 'templar'):  # ansible-core < 2.19: set by parse(), which these tests do not call
        plugin.templar = Templar(loader=None)
    return plugin


def test_populate_hostvars_groups_and_unsafe():
    plugin = plugin_with({'keyed_groups': [{'key': trusted('mcm_mim_versions'), 'prefix': 'mim'}],
                          'groups': {'outdated': trusted("mcm_mim_versions.get('hello-v1') == '1.2.0'")},
                          'compose': {'hello': trusted("mcm_mim_versions['hello-v1'] | default('absent')")},
                          'strict': True})
    nodes = [{'name': 'n1', 'url': 'http://n1:8083', 'token': TOKEN, 'vars': {'mimoe_arch': 'arm64'},
              'source': 'config'},
             {'name': 'n2', 'url': 'http://n2:8083', 'token': TOKEN, 'vars': {}, 'source': 'config'}]
    results = {
        'http://n1:8083': {'reachable': True, 'api': 'current', 'images': [],
                           'mims': [{'name': 'hello-v1', 'version': '1.2.0', 'state': 'started'},
                                    {'name': 'evil-v1', 'version': '{{ 7 * 6 }}', 'state': 'started'}]},
        'http://n2:8083': {'reachable': False, 'reason': 'connection refused (http://n2:8083)', 'mims': [],
                           'images': []},
    }
    plugin._populate(nodes, results)
    inventory = plugin.inventory
    n1 = inventory.get_host('n1').get_vars()
    n2 = inventory.get_host('n2').get_vars()
    assert n1['mcm_mim_versions'] == {'hello-v1': '1.2.0', 'evil-v1': '{{ 7 * 6 }}'}
    assert n1['mimoe_arch'] == 'arm64' and n1['ansible_connection'] == 'local' and n1['hello'] == '1.2.0'
    assert n1['mcm_reachable'] is True and 'mcm_unreachable_reason' not in n1
    assert n2['mcm_reachable'] is False and n2['mcm_unreachable_reason'] == 'connection refused (http://n2:8083)'
    assert n2['hello'] == 'absent'
    assert sorted(h.name for h in inventory.groups['mimoe_nodes'].get_hosts()) == ['n1', 'n2']
    assert [h.name for h in inventory.groups['mcm_unreachable'].get_hosts()] == ['n2']
    assert [h.name for h in inventory.groups['mim_hello_v1_1_2_0'].get_hosts()] == ['n1']
    assert [h.name for h in inventory.groups['outdated'].get_hosts()] == ['n1']
    for value in n1.values():
        assert TOKEN not in repr(value)
    # What a node said stays text when a play uses it
    templar = Templar(loader=None, variables={'v': n1['mcm_mim_versions']['evil-v1']})
    assert templar.template(trusted('{{ v }}')) == '{{ 7 * 6 }}'


def test_make_unsafe_strips_template_trust():
    try:
        from ansible._internal._datatag._tags import TrustedAsTemplate
    except ImportError:  # ansible-core < 2.19: unsafe is a wrapper type
        from ansible.utils.unsafe_proxy import AnsibleUnsafeText
        value = make_unsafe({'k': ['{{ 7 * 6 }}'], 'n': 3})
        assert isinstance(value['k'][0], AnsibleUnsafeText) and value['n'] == 3
        return
    trusted = TrustedAsTemplate().tag('{{ 7 * 6 }}')
    assert Templar(loader=None).template(trusted) == 42
    value = make_unsafe({trusted: (trusted, None, True, 1.5)})
    assert value == {'{{ 7 * 6 }}': ['{{ 7 * 6 }}', None, True, 1.5]}
    key = list(value)[0]
    assert not TrustedAsTemplate.is_tagged_on(key) and not TrustedAsTemplate.is_tagged_on(value[key][0])
    assert Templar(loader=None).template(value[key][0]) == '{{ 7 * 6 }}'


def test_duplicate_nodes_keep_the_first(monkeypatch):
    plugin = plugin_with({'nodes': ['http://n1:8083', {'url': 'http://n1:8083', 'name': 'again'},
                                    {'url': 'http://other:8083', 'name': 'n1'}],
                          'token': TOKEN, 'use_inventory_hosts': False})
    warnings = []
    monkeypatch.setattr(plugin.display, 'warning', warnings.append)
    nodes = plugin._nodes()
    assert [(n['name'], n['url']) for n in nodes] == [('n1', 'http://n1:8083')]
    assert len(warnings) == 2 and all('listed more than once' in w for w in warnings)


# ---------------------------------------------------------------- issue 15: hostile nodes

def test_slow_loris_node_costs_about_timeout_not_forever():
    import os
    import sys
    import time
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    from slow_peer import SlowPeer
    peer = SlowPeer('body')
    try:
        started = time.monotonic()
        results = inv.query_nodes([{'name': 'slow', 'url': peer.url, 'token': TOKEN, 'vars': {}}],
                                  {'timeout': 2, 'retries': 0, 'max_workers': 4})
        elapsed = time.monotonic() - started
    finally:
        peer.close()
    assert elapsed < 3 * 2, elapsed
    assert results[peer.url]['reachable'] is False
    assert 'no answer within the timeout' in results[peer.url]['reason']


def test_token_echoed_by_a_node_is_masked_in_results_hostvars_and_warnings(monkeypatch):
    class Echo:
        base_url = 'http://echo:8083'

        def __init__(self, *args, **kwargs):
            pass

        def request(self, method, path, ok_missing=False):
            return {'data': [{'name': 'm', 'id': TOKEN, 'image': 'i', 'status': 'up ' + TOKEN,
                              'state': TOKEN}]}

        unwrap = staticmethod(lambda body: body['data'])

        def list_images(self):
            return [{'name': 'i', 'repoTags': ['i:' + TOKEN]}]

    nodes = [{'name': 'n1', 'url': 'http://echo:8083', 'token': TOKEN, 'vars': {}, 'source': 'config'}]
    results = inv.query_nodes(nodes, {'max_workers': 1}, client_factory=Echo)
    assert TOKEN not in repr(results)
    # A cache written before the fix still holds the echo: masked when the hosts are made.
    plugin = plugin_with({})
    warnings = []
    monkeypatch.setattr(plugin.display, 'warning', warnings.append)
    plugin._populate(nodes, {'http://echo:8083': {
        'reachable': False, 'reason': 'HTTP 500: \x1b]0;owned\x07 %s' % TOKEN, 'mims': [], 'images': []}})
    assert TOKEN not in repr(plugin.inventory.get_host('n1').get_vars())
    assert warnings and TOKEN not in warnings[0] and '\x1b' not in warnings[0] and '\\x1b]0;owned' in warnings[0]
