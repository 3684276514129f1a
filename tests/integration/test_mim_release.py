# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""mimoe.edge.mim_release against simulator nodes: one task per node, one transaction; unchanged, upgrade with the
data, check mode and diff (0 writes), health failure rolled back, garbage answers mid-transaction, resume."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from rollout_helpers import ANSIBLE_PLAYBOOK, COLLECTIONS, ROOT, hello_tar
from mimoe_sim.testing import SimNode, http_json

pytestmark = [pytest.mark.node, pytest.mark.npm, pytest.mark.ansible]

HELLO_ENV = {'MCM.BASE_API_PATH': '/hello/v1'}


@pytest.fixture
def work(tmp_path):
    (tmp_path / 'cache').mkdir()
    return {'v1': hello_tar(tmp_path, '1.0.0'), 'v2': hello_tar(tmp_path, '2.0.0'), 'dir': tmp_path,
            'cache': str(tmp_path / 'cache')}


def release(node, work, image, *flags, **args):
    """One mim_release task against ``node``; returns (rc, output, result)."""
    out_file = str(work['dir'] / 'result.json')
    args = dict(dict(mcm_url=node.url, mcm_token=node.api_key, src=work.get(image, image), env=HELLO_ENV,
                     poll_interval=0.05, health={'retries': 2, 'delay': 0.5}), **args)
    playbook = work['dir'] / 'release.yml'
    playbook.write_text(json.dumps([{
        'hosts': 'localhost', 'gather_facts': False,
        'vars': {'ansible_python_interpreter': sys.executable},
        'tasks': [
            {'name': 'Release', 'mimoe.edge.mim_release': args, 'register': 'r', 'ignore_errors': True},
            {'name': 'Keep', 'ansible.builtin.copy': {'content': '{{ r | to_json }}', 'dest': out_file},
             'check_mode': False, 'diff': False},
        ]}]))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, PYTHONPATH=os.path.join(ROOT, 'tools'),
               ANSIBLE_NOCOLOR='1', ANSIBLE_LOCALHOST_WARNING='False', ANSIBLE_INVENTORY_UNPARSED_WARNING='False',
               HOME=str(work['dir'] / 'home'))
    done = subprocess.run([ANSIBLE_PLAYBOOK, str(playbook)] + list(flags), env=env, capture_output=True, text=True,
                          timeout=180, check=False)
    with open(out_file, encoding='utf-8') as fh:
        result = json.load(fh)
    return done.returncode, done.stdout + done.stderr, result


def call(node, path, method='GET'):
    return http_json(method, node.url + '/api/hello/v1' + path, timeout=10)


def test_install_unchanged_upgrade_with_data_and_marker(work, tmp_path):
    with SimNode(data_dir=str(tmp_path / 'n1'), datastore_delay=0.01) as node:
        _rc, out, result = release(node, work, 'v1', cache_dir=work['cache'])
        assert result['status'] == 'upgraded' and result['changed'], out
        assert result['summary'] == 'hello-v1 none -> 1.0.0 upgraded', result
        assert call(node, '/version') == (200, {'name': 'hello', 'version': '1.0.0'})
        for _i in range(2):
            call(node, '/counter', 'POST')
        mims = node.mcm('GET', '/mims')[1]['data']
        marker = json.loads(mims[0]['env']['MIMOE_RELEASE'])
        assert marker['version'] == '1.0.0' and marker['revision'] == 1, marker

        node.reset_stats()
        _rc, out, result = release(node, work, 'v1')
        assert result['status'] == 'unchanged' and not result['changed'], out
        assert node.stats()['write_requests'] == 0 and node.stats()['requests_total'] == 2, node.stats()

        _rc, out, result = release(node, work, 'v2', cache_dir=work['cache'])
        assert result['status'] == 'upgraded', out
        assert result['summary'] == 'hello-v1 1.0.0 -> 2.0.0 upgraded, data restored', result
        assert result['from']['version'] == '1.0.0' and result['to']['revision'] == 2, result
        steps = ['read', 'backup', 'remove_mim', 'upload_image', 'deploy', 'restore', 'health_check']
        assert [s['step'] for s in result['steps']] == steps, result
        assert call(node, '/counter') == (200, {'counter': 2})


def test_check_diff_writes_nothing_and_shows_the_plan(work, tmp_path):
    with SimNode(data_dir=str(tmp_path / 'n1'), datastore_delay=0.01) as node:
        release(node, work, 'v1', cache_dir=work['cache'], secret_env={'API_KEY': 's3cr3t-value'})
        node.reset_stats()
        rc, out, result = release(node, work, 'v2', '--check', '--diff', cache_dir=work['cache'],
                                  secret_env={'API_KEY': 's3cr3t-value'}, allow_no_rollback=True)
        assert rc == 0, out
        assert result['changed'] and result['status'] == 'upgraded' and not result.get('failed'), result
        assert node.stats()['write_requests'] == 0, node.stats()
        assert any(step.startswith('upload_image:') for step in result['plan']), result
        assert result['diff']['before']['version'] == '1.0.0' and result['diff']['after']['version'] == '2.0.0'
        assert result['diff']['after']['env']['API_KEY'] == '********'
        assert 's3cr3t-value' not in out and 's3cr3t-value' not in json.dumps(result)
        assert '1.0.0' in out and '2.0.0' in out  # the diff is shown


def test_failed_health_check_rolls_back_image_env_and_data(work, tmp_path):
    with SimNode(data_dir=str(tmp_path / 'n1'), datastore_delay=0.01) as node:
        release(node, work, 'v1', cache_dir=work['cache'])
        for _i in range(3):
            call(node, '/counter', 'POST')
        rc, out, result = release(node, work, 'v2', cache_dir=work['cache'],
                                  env=dict(HELLO_ENV, HEALTH_FAIL='true'))
        assert result['failed'] and result['status'] == 'rolled_back' and result['rolled_back'], result
        assert result['failed_step'] == 'health_check', result
        assert node.url in result['msg'] and 'health_check failed' in result['msg'], result['msg']
        assert call(node, '/version') == (200, {'name': 'hello', 'version': '1.0.0'})
        assert call(node, '/counter') == (200, {'counter': 3})
        env = node.mcm('GET', '/mims')[1]['data'][0]['env']
        assert 'HEALTH_FAIL' not in env and json.loads(env['MIMOE_RELEASE'])['version'] == '1.0.0'


class GarbageProxy:
    """A loopback proxy in front of a node that answers the first ``POST /mcm/v1/mims`` with an HTML page (without
    forwarding it), like a broken proxy or a node in trouble; everything else is forwarded."""

    def __init__(self, target):
        import http.server
        import threading
        import requests

        proxy = self
        self.garbage_left = 1

        class Handler(http.server.BaseHTTPRequestHandler):
            def _forward(self):
                length = int(self.headers.get('Content-Length') or 0)
                body = self.rfile.read(length) if length else None
                if self.command == 'POST' and self.path.startswith('/mcm/v1/mims') and \
                        not self.path.endswith('dataStore') and proxy.garbage_left:
                    proxy.garbage_left -= 1
                    data = b'<html><body>502 gateway confused</body></html>'
                    self.send_response(200)
                    self.send_header('Content-Type', 'text/html')
                    self.send_header('Content-Length', str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ('host', 'content-length')}
                answer = requests.request(self.command, target + self.path, data=body, headers=headers, timeout=30)
                self.send_response(answer.status_code)
                for key, value in answer.headers.items():
                    if key.lower() not in ('transfer-encoding', 'connection', 'content-length', 'content-encoding'):
                        self.send_header(key, value)
                self.send_header('Content-Length', str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            do_GET = do_POST = do_DELETE = do_PUT = _forward

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.url = 'http://127.0.0.1:%d' % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


def test_garbage_answer_mid_transaction_is_rolled_back_with_a_clear_error(work, tmp_path):
    with SimNode(data_dir=str(tmp_path / 'n1'), datastore_delay=0.01) as node:
        release(node, work, 'v1', cache_dir=work['cache'])
        call(node, '/counter', 'POST')
        node.reset_stats()
        proxy = GarbageProxy(node.url)
        try:
            # The deploy of 2.0.0 gets an HTML page after the mim was removed and the image replaced: the node must
            # be put back on 1.0.0 with its data, and the error names the node, the step and the cause.
            _rc, out, result = release(node, work, 'v2', cache_dir=work['cache'], mcm_url=proxy.url)
        finally:
            proxy.close()
        assert result['failed'] and result['failed_step'] == 'deploy', result
        assert result['status'] == 'rolled_back' and result['rolled_back'], result
        assert proxy.url in result['msg'] and 'deploy failed' in result['msg'] and 'not JSON' in result['msg'], out
        assert 'rolled back to 1.0.0' in result['msg'], result['msg']
        assert call(node, '/version') == (200, {'name': 'hello', 'version': '1.0.0'})
        assert call(node, '/counter') == (200, {'counter': 1})
        assert node.outcomes()['POST /mcm/v1/images'] == {'201': 2}, node.outcomes()


def test_no_rollback_source_leaves_the_node_untouched(work, tmp_path):
    with SimNode(data_dir=str(tmp_path / 'n1'), datastore_delay=0.01) as node:
        release(node, work, 'v1')
        node.reset_stats()
        rc, out, result = release(node, work, 'v2')
        assert result['failed'] and result['status'] == 'failed' and not result['touched'], result
        assert 'allow_no_rollback' in result['msg']
        assert node.stats()['write_requests'] == 0


@pytest.mark.parametrize('style', ['archive', 'config', 'short', 'opaque'])
def test_legacy_image_id_styles_rerun_unchanged_and_keep_data(work, tmp_path, style):
    """Issue 13: a legacy node shows the image id as the archive digest, the Docker image id (config digest), its
    short form, or an opaque id. A re-run of the same release writes nothing (a redeploy would wipe a legacy node's
    data: it has no datastore backup), and a new version is still told apart."""
    with SimNode(data_dir=str(tmp_path / style), api='legacy', legacy_image_id=style) as node:
        _rc, out, result = release(node, work, 'v1', cache_dir=work['cache'])
        assert result['status'] == 'upgraded', out
        for _i in range(2):
            call(node, '/counter', 'POST')
        node.reset_stats()
        _rc, out, result = release(node, work, 'v1', cache_dir=work['cache'])
        assert result['status'] == 'unchanged' and not result['changed'], out
        assert node.stats()['write_requests'] == 0, node.stats()
        assert result['identity']['verified'] is (style != 'opaque'), result['identity']
        assert call(node, '/counter')[1]['counter'] == 2
        _rc, out, result = release(node, work, 'v2', cache_dir=work['cache'])
        if style == 'opaque':
            # Nothing the node shows names the previous archive (no digest, no short id, and this legacy node
            # returns no env, so no release marker): without a registry the release refuses before any write.
            assert result['status'] == 'failed' and result['touched'] is False, out
            assert 'node left untouched' in result['msg'] and 'allow_no_rollback' in result['msg']
            _rc, out, result = release(node, work, 'v2', cache_dir=work['cache'], allow_no_rollback=True)
        assert result['status'] == 'upgraded' and result['to']['version'] == '2.0.0', out
