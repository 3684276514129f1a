# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Integration helpers: real ``ansible-playbook`` runs of the MCM modules against real simulator nodes.

* ``sim`` (conftest) starts a fresh ``mimoe_sim`` node subprocess (``SimNode``) of the asked API generation per test, on a
  free loopback port, and stops it at teardown (xdist safe).
* ``ansible`` runs tasks in a playbook on localhost with ``module_defaults: group/mimoe.edge.mcm`` holding the
  node's URL and token, and returns every task result (through the test-only ``mcm_results`` callback) and
  stdout (the default callback, with diffs).
* The collection is found through a private ``ansible_collections/mimoe/edge`` symlink to this checkout, so the
  tests run the current source without a ``make tree`` first.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import subprocess
import sys
import tempfile

import requests
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
for _path in (os.path.join(ROOT, 'tools'), os.path.join(ROOT, 'tests', 'unit')):
    if _path not in sys.path:
        sys.path.insert(0, _path)

from mim_tar import build_tar  # noqa: E402  pylint: disable=wrong-import-position

HERE = os.path.dirname(os.path.abspath(__file__))
ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')
EXAMPLE_TAR = os.path.join(ROOT, 'examples', 'hello-mim', 'deploy', 'hello-v1-1.0.0.tar')
EXAMPLE_START = os.path.join(ROOT, 'examples', 'hello-mim', 'start.json')

# An ES5 mim with a counter in the node's storage; API_KEY (when set) guards every route.
COUNTER_MIM = '''mimikModule.exports = function (context, req, res) {
  var env = context.env || {};
  var auth = (req.headers && req.headers.authorization) || req.authorization || '';
  res.setHeader('content-type', 'application/json');
  if (env.API_KEY && auth !== 'Bearer ' + env.API_KEY) {
    res.statusCode = 401;
    res.end(JSON.stringify({error: 'unauthorized'}));
    return;
  }
  var path = String(req.url || '/').split('?')[0];
  if (path === '/counter') {
    var n = parseInt(context.storage.getItem('counter') || '0', 10);
    if (req.method === 'POST') {
      n = n + 1;
      context.storage.setItem('counter', String(n));
    }
    res.end(JSON.stringify({counter: n}));
    return;
  }
  res.end(JSON.stringify({version: '%(version)s', greeting: env.GREETING || null}));
};
'''


def _collections_dir():
    base = tempfile.mkdtemp(prefix='mimoe-edge-it-')
    os.makedirs(os.path.join(base, 'ansible_collections', 'mimoe'))
    link = os.path.join(base, 'ansible_collections', 'mimoe', 'edge')
    os.symlink(ROOT, link)

    def cleanup():
        os.unlink(link)
        shutil.rmtree(base, ignore_errors=True)
    atexit.register(cleanup)
    return base


COLLECTIONS_DIR = _collections_dir()


def counter_tar(directory, name='counter-v1', version='1.0.0'):
    """A docker-save archive of the counter mim (the version is in the code, so versions differ in digest)."""
    path = os.path.join(str(directory), '%s-%s.tar' % (name, version))
    return build_tar(path, name=name, version=version, index_js=(COUNTER_MIM % {'version': version}).encode())


class Run:
    """One ansible-playbook run: rc, stdout, and the task results per host, in order."""

    def __init__(self, rc, stdout, stderr, results):
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr
        self.results = results

    def host(self, name):
        """Results of one host: a list of task result dicts (with ``_status`` added: ok/failed/skipped)."""
        return [dict(r['result'], _status=r['status'], _task=r['task']) for r in self.results if r['host'] == name]

    def changed(self, name):
        return sum(1 for r in self.host(name) if r.get('changed'))

    def explain(self):
        return 'rc=%s\nSTDOUT:\n%s\nSTDERR:\n%s' % (self.rc, self.stdout[-6000:], self.stderr[-3000:])


class Ansible:
    """Runs plays on localhost-like hosts, one per simulator node (``{host name: SimNode}``), in parallel.

    Every host runs the same tasks with ``module_defaults: group/mimoe.edge.mcm`` pointing at its own node.
    """

    def __init__(self, tmp_path, nodes):
        self.tmp_path = tmp_path
        self.nodes = nodes
        self.count = 0
        self.fingerprint_file = str(tmp_path / 'fingerprints.json')

    def inventory(self):
        hosts = {}
        for name, node in self.nodes.items():
            hosts[name] = {'ansible_connection': 'local', 'ansible_python_interpreter': sys.executable,
                           'node_url': node.url, 'node_token': node.api_key}
        path = self.tmp_path / 'inventory.yml'
        path.write_text(yaml.safe_dump({'all': {'hosts': hosts}}))
        return str(path)

    def run(self, tasks, check=False, diff=False, defaults=None, env=None, expect_rc=0):
        """Run ``tasks``; ``defaults`` replaces the group defaults (``{}``: none). Asserts the exit code."""
        self.count += 1
        play = {'name': 'mcm integration %d' % self.count, 'hosts': 'all', 'gather_facts': False, 'tasks': tasks}
        if defaults is None:
            defaults = {'mcm_url': '{{ node_url }}', 'mcm_token': '{{ node_token }}', 'timeout': 20}
        if defaults:
            play['module_defaults'] = {'group/mimoe.edge.mcm': defaults}
        playbook = self.tmp_path / ('play%d.yml' % self.count)
        playbook.write_text(yaml.safe_dump([play], sort_keys=False))
        results_file = self.tmp_path / ('results%d.jsonl' % self.count)
        run_env = dict(os.environ)
        run_env.update({
            'ANSIBLE_COLLECTIONS_PATH': COLLECTIONS_DIR,
            'ANSIBLE_CALLBACK_PLUGINS': os.path.join(HERE, 'callback_plugins'),
            'ANSIBLE_CALLBACKS_ENABLED': 'mcm_results',
            'ANSIBLE_NOCOLOR': '1',
            'ANSIBLE_FORCE_COLOR': '0',
            'ANSIBLE_RETRY_FILES_ENABLED': '0',
            'ANSIBLE_LOCAL_TEMP': str(self.tmp_path / 'ansible-tmp'),
            'ANSIBLE_HOME': str(self.tmp_path / 'ansible-home'),
            # Absolute: `~/.ansible_async` is expanded differently by async_wrapper and async_status when HOME
            # is not the account's home directory (a CI with a fresh HOME).
            'ANSIBLE_ASYNC_DIR': str(self.tmp_path / 'ansible-async'),
            'ANSIBLE_FORKS': '4',
            'MCM_TEST_RESULTS': str(results_file),
            'MCM_FINGERPRINT_FILE': self.fingerprint_file,
        })
        for key in ('MCM_URL', 'MCM_TOKEN'):
            run_env.pop(key, None)
        run_env.update(env or {})
        cmd = [ANSIBLE_PLAYBOOK, '-i', self.inventory(), str(playbook)]
        if check:
            cmd.append('--check')
        if diff:
            cmd.append('--diff')
        proc = subprocess.run(cmd, env=run_env, capture_output=True, text=True, timeout=300, check=False)
        results = []
        if results_file.exists():
            results = [json.loads(line) for line in results_file.read_text().splitlines() if line.strip()]
        run = Run(proc.returncode, proc.stdout, proc.stderr, results)
        if expect_rc is not None:
            assert proc.returncode == expect_rc, run.explain()
        return run


def write_requests(stats):
    """Write calls the node received (POST/PUT/DELETE), from /_sim/stats."""
    return stats['write_requests']


def endpoint_count(stats, key):
    return (stats['by_endpoint'].get(key) or {}).get('requests', 0)


# ---------------------------------------------------------------- shared by the mcm_image/mcm_mim tests

SECRET = 'Int3gr4tion-S3cret-one'
SECRET2 = 'Int3gr4tion-S3cret-two'
BASE_ENV = {'MCM.BASE_API_PATH': '/counter/v1', 'GREETING': 'hello'}
HOSTS = ('current', 'legacy')


def image_task(tar, **extra):
    return {'name': 'image', 'mimoe.edge.mcm_image': dict({'src': tar}, **extra)}


def mim_task(env=None, secret=SECRET, **extra):
    args = {'name': 'counter-v1', 'image': 'counter-v1', 'env': env or BASE_ENV, 'secret_env': {'API_KEY': secret}}
    args.update(extra)
    return {'name': 'mim', 'mimoe.edge.mcm_mim': args}


def call_mim(node, secret, path='/', method='GET'):
    answer = requests.request(method, node.url + '/api/counter/v1' + path,
                              headers={'Authorization': 'Bearer ' + secret}, timeout=20)
    assert answer.status_code == 200, answer.text
    return answer.json()
