# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The mcm_nodes inventory against hostile nodes (issue 15), run by ``ansible-inventory``: a slow-loris node
(headers, then 2 bytes a second) costs about the timeout, not forever; a node that echoes the token back (as a mim
status) or answers terminal escapes gets neither into the output, the warnings or the inventory cache."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import yaml

from inventory_it import inventory_list
from slow_peer import SlowPeer

pytestmark = [pytest.mark.ansible]

TOKEN = 'Hx-inventory-token-91c3e7'
TIMEOUT = 2


class EchoNode:
    """A node that puts the caller's token in a mim status (``/mims``) and an ANSI/OSC escape and the token in the
    error of ``/images`` when ``fail`` is set."""

    def __init__(self, fail=False):
        node = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):  # noqa: N802
                token = (self.headers.get('Authorization') or '').replace('Bearer ', '')
                if self.path.startswith('/mcm/v1/mims'):
                    status, body = 200, {'data': [{'name': 'hello-v1', 'id': 'api-hello-v1', 'image': 'hello-v1',
                                                   'state': 'started', 'status': 'echo ' + token}]}
                elif node.fail:
                    status, body = 500, {'error': {'message': '\x1b]0;owned\x07\x1b[2J boom ' + token}}
                else:
                    status, body = 200, {'data': [{'name': 'hello-v1', 'repoTags': ['hello-v1:' + token]}]}
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header('Content-Type', 'application/json')
                self.send_header('Content-Length', str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.fail = fail
        self.server = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, kwargs={'poll_interval': 0.05}, daemon=True).start()
        self.url = 'http://127.0.0.1:%d' % self.server.server_address[1]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def _config(work, name, nodes, **extra):
    config = dict({'plugin': 'mimoe.edge.mcm_nodes', 'nodes': nodes, 'timeout': TIMEOUT, 'token': TOKEN}, **extra)
    path = work / ('%s.mcm_nodes.yml' % name)
    path.write_text(yaml.safe_dump(config))
    return path


def test_slow_loris_node_costs_about_the_timeout(tmp_path):
    started = time.monotonic()
    baseline = inventory_list([_config(tmp_path, 'empty', [])], tmp_path)
    overhead = time.monotonic() - started
    assert baseline.rc == 0, baseline.explain()
    peer = SlowPeer('body')
    try:
        started = time.monotonic()
        done = inventory_list([_config(tmp_path, 'slow', [{'url': peer.url, 'name': 'slow-node'}])], tmp_path)
        elapsed = time.monotonic() - started
    finally:
        peer.close()
    assert done.rc == 0, done.explain()
    assert done.data['_meta']['hostvars']['slow-node']['mcm_reachable'] is False
    assert 'no answer within the timeout' in done.stderr
    # The promise of the plugin's documentation: at most about 3 x timeout for a slow node.
    assert elapsed - overhead < 3 * TIMEOUT, (elapsed, overhead)


def test_echoed_token_and_escapes_reach_no_output_and_no_cache(tmp_path):
    echo, failing = EchoNode(), EchoNode(fail=True)
    cache = tmp_path / 'cache'
    try:
        config = _config(tmp_path, 'echo', [{'url': echo.url, 'name': 'echo'}, {'url': failing.url, 'name': 'bad'}],
                         cache=True, cache_plugin='ansible.builtin.jsonfile', cache_connection=str(cache),
                         cache_timeout=600)
        first = inventory_list([config], tmp_path)
        second = inventory_list([config], tmp_path)  # from the cache
    finally:
        echo.close()
        failing.close()
    for done in (first, second):
        assert done.rc == 0, done.explain()
        assert TOKEN not in done.stdout + done.stderr, done.explain()
        assert '\x1b' not in done.stderr and '\x07' not in done.stderr, done.explain()
        assert '\\x1b]0;owned' in done.stderr, done.explain()
        assert done.data['_meta']['hostvars']['echo']['mcm_mims'][0]['status'] in (
            'echo ********', {'__ansible_unsafe': 'echo ********'})
    cached = ''.join(p.read_text() for p in cache.iterdir())
    assert cached and TOKEN not in cached
