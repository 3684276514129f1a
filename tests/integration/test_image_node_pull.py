# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""mcm_image pull=node through a node-side registry URL (a gateway the nodes reach, not the controller's URL),
credentials handed to nodes only with node_credentials=true; upload_mode=base64 on a legacy node (seed 002)."""

from __future__ import annotations

import base64
import hashlib
import http.server
import json
import os
import threading
import urllib.error
import urllib.request

from mcm_it import counter_tar, endpoint_count
from registry import Registry

USER = 'puller'
PASSWORD = 'N0de-Pull-Pa55word-q7'


class Gateway:
    """A forwarding proxy in front of the registry (seed 004's containers.local:8080): records what it forwards."""

    def __init__(self, upstream):
        self.upstream = upstream
        self.seen = []
        gateway = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _forward(self):
                auth = self.headers.get('Authorization')
                gateway.seen.append((self.command, self.path, auth))
                request = urllib.request.Request(gateway.upstream + self.path, method=self.command)
                if auth:
                    request.add_header('Authorization', auth)
                try:
                    with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310 - test upstream
                        status, body, headers = answer.status, answer.read(), answer.headers
                except urllib.error.HTTPError as exc:
                    status, body, headers = exc.code, exc.read(), exc.headers
                self.send_response(status)
                for key in ('Content-Type', 'Docker-Content-Digest', 'WWW-Authenticate'):
                    if headers.get(key):
                        self.send_header(key, headers[key])
                self.send_header('Content-Length', str(len(body)))
                self.end_headers()
                if self.command != 'HEAD':
                    self.wfile.write(body)

            do_GET = do_HEAD = _forward

            def log_message(self, *_args):
                pass

        self.server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        # Another spelling of loopback than the controller's 127.0.0.1: the node-side URL differs from registry.url.
        self.url = 'http://localhost:%d' % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def sha256(path):
    with open(path, 'rb') as handle:
        return 'sha256:' + hashlib.sha256(handle.read()).hexdigest()


def test_node_pull_through_a_gateway_with_explicit_credentials(tmp_path, sim, ansible_for):
    tar = counter_tar(tmp_path)
    with Registry(tmp_path / 'anon') as anon, Registry(tmp_path / 'auth', users={USER: PASSWORD}) as auth:
        anon_gw, auth_gw = Gateway(anon.url), Gateway(auth.url)
        try:
            nodes = {'current': sim('current'), 'legacy': sim('legacy')}
            ansible = ansible_for(nodes)
            anon_reg = {'url': anon.url}
            auth_reg = {'url': auth.url, 'username': USER, 'password': PASSWORD}
            publish = {'name': 'counter', 'version': '1.0.0', 'images': {'amd64': tar}}

            def pull(registry, gateway, **extra):
                return {'mimoe.edge.mcm_image': dict({'reference': 'counter@1.0.0', 'arch': 'amd64', 'pull': 'node',
                                                      'registry': registry, 'node_registry_url': gateway.url},
                                                     **extra)}
            tasks = [
                dict({'name': 'publish anon', 'mimoe.edge.catalog_item': dict(publish, registry=anon_reg)},
                     run_once=True, delegate_to='localhost'),
                dict({'name': 'publish auth', 'mimoe.edge.catalog_item': dict(publish, registry=auth_reg)},
                     run_once=True, delegate_to='localhost'),
                dict(pull(anon_reg, anon_gw), name='via gateway'),
                dict(pull(anon_reg, anon_gw), name='via gateway again'),
                {'name': 'remove', 'mimoe.edge.mcm_image': {'name': 'counter-v1', 'state': 'absent'}},
                dict(pull(auth_reg, auth_gw), name='credentials not allowed', ignore_errors=True),
                dict(pull(auth_reg, auth_gw, node_credentials=True), name='credentials check', check_mode=True),
                dict(pull(auth_reg, auth_gw, node_credentials=True), name='credentials allowed'),
                dict(pull(auth_reg, auth_gw, node_credentials=True), name='credentials again'),
            ]
            run = ansible.run(tasks, diff=True)
            want = sha256(tar)
            for host in nodes:
                res = {r['_task']: r for r in run.host(host)}
                first = res['via gateway']
                assert first['changed'] and first['digest'] == want, first
                assert first['actions'] == ['pulled image counter-v1 from %s/v2/counter/blobs/%s' % (anon_gw.url, want)]
                assert first['catalog']['url'].startswith(anon.url)  # the controller's URL is unchanged
                assert not res['via gateway again']['changed']
                refused = res['credentials not allowed']
                assert refused['_status'] == 'failed' and 'node_credentials=true' in refused['msg'], refused
                assert res['credentials check']['changed']
                allowed = res['credentials allowed']
                assert allowed['changed'] and allowed['digest'] == want, allowed
                assert not res['credentials again']['changed']
            blob = '/v2/counter/blobs/' + want
            assert [s for s in anon_gw.seen if s[1] == blob] == [('GET', blob, None)] * 2  # one per node, anonymous
            basic = 'Basic ' + base64.b64encode(('%s:%s' % (USER, PASSWORD)).encode()).decode()
            assert [s for s in auth_gw.seen if s[1] == blob] == [('GET', blob, basic)] * 2
            assert PASSWORD not in run.stdout and PASSWORD not in json.dumps(run.results)
            assert basic.split()[1] not in run.stdout and basic.split()[1] not in json.dumps(run.results)
        finally:
            anon_gw.close()
            auth_gw.close()


def test_base64_upload_on_a_legacy_node(tmp_path, sim, ansible_for):
    tar = counter_tar(tmp_path)
    nodes = {'current': sim('current'), 'legacy': sim('legacy')}
    ansible = ansible_for(nodes)
    task = {'name': 'upload', 'mimoe.edge.mcm_image': {'src': tar, 'upload_mode': 'base64'}}
    for node in nodes.values():
        node.reset_stats()
    run = ansible.run([dict(task, name='check', check_mode=True), task, dict(task, name='again')],
                      expect_rc=None)
    legacy = {r['_task']: r for r in run.host('legacy')}
    assert legacy['check']['changed'] and legacy['upload']['changed'] and not legacy['again']['changed']
    assert legacy['upload']['digest'] == sha256(tar)
    stats = nodes['legacy'].stats()
    uploads = stats['by_endpoint']['POST /mcm/v1/images']
    assert uploads['requests'] == 1
    assert uploads['bytes'] >= os.path.getsize(tar) * 4 // 3  # the archive went as base64 JSON, once
    current = run.host('current')[0]
    assert current['_status'] == 'failed' and 'needs a node of the legacy API generation' in current['msg']
    assert endpoint_count(nodes['current'].stats(), 'POST /mcm/v1/images') == 0


def test_legacy_mode_switch_picks_the_field(tmp_path, sim):
    """seed 002: mode=payload takes base64Image, mode=reference (the default) takes url; the other is refused."""
    node = sim('legacy')
    data = base64.b64encode(open(counter_tar(tmp_path), 'rb').read()).decode()  # noqa: SIM115 - small test file
    status, body = node.mcm('POST', '/images', {'base64Image': data})
    assert status == 400 and 'mode=payload' in json.dumps(body)
    status, body = node.mcm('POST', '/images?mode=payload', {'url': 'http://127.0.0.1:9/x.tar'})
    assert status == 400 and 'needs base64Image' in json.dumps(body)
    status, body = node.mcm('POST', '/images?mode=payload', {'base64Image': data})
    assert status == 201 and body['name'] == 'counter-v1'
