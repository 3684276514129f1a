# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Helpers of the mcm_nodes inventory and fleet report tests: nodes given images and mims over plain HTTP,
``ansible-inventory`` / ``ansible-playbook`` runs with the collection of this checkout, vault values."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import requests

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
for _path in (os.path.join(ROOT, 'tools'), os.path.join(ROOT, 'tests', 'unit'), HERE):
    if _path not in sys.path:
        sys.path.insert(0, _path)

from mcm_it import COLLECTIONS_DIR  # noqa: E402  pylint: disable=wrong-import-position
from mim_tar import build_tar  # noqa: E402  pylint: disable=wrong-import-position
from mimoe_sim.testing import http_json  # noqa: E402  pylint: disable=wrong-import-position

BIN = os.path.dirname(sys.executable)
ANSIBLE_INVENTORY = os.path.join(BIN, 'ansible-inventory')
ANSIBLE_PLAYBOOK = os.path.join(BIN, 'ansible-playbook')
ANSIBLE_VAULT = os.path.join(BIN, 'ansible-vault')
JINJA_PAYLOAD = "{{ lookup('pipe', 'id') }}"
HELLO_ENV = {'MCM.BASE_API_PATH': '/hello/v1'}


def ansible_env(work, **extra):
    env = dict(os.environ)
    for key in ('MCM_URL', 'MCM_TOKEN'):
        env.pop(key, None)
    env.update({
        'ANSIBLE_COLLECTIONS_PATH': COLLECTIONS_DIR,
        'PYTHONPATH': os.path.join(ROOT, 'tools'),
        'ANSIBLE_NOCOLOR': '1',
        'ANSIBLE_FORCE_COLOR': '0',
        'ANSIBLE_RETRY_FILES_ENABLED': '0',
        'ANSIBLE_LOCALHOST_WARNING': 'False',
        'ANSIBLE_INVENTORY_UNPARSED_WARNING': 'False',
        'ANSIBLE_LOCAL_TEMP': os.path.join(str(work), 'ansible-tmp'),
        'ANSIBLE_HOME': os.path.join(str(work), 'ansible-home'),
    })
    env.update(extra)
    return env


class Done:
    def __init__(self, proc):
        self.rc = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr

    @property
    def data(self):
        return json.loads(self.stdout)

    def explain(self):
        return 'rc=%s\nSTDOUT:\n%s\nSTDERR:\n%s' % (self.rc, self.stdout[-6000:], self.stderr[-4000:])


def run(cmd, work, timeout=240, **env):
    proc = subprocess.run(cmd, env=ansible_env(work, **env), capture_output=True, text=True, timeout=timeout,
                          check=False, cwd=str(work))
    return Done(proc)


def inventory_list(sources, work, extra_args=(), **env):
    """``ansible-inventory -i S... --list`` (``--export``-less, so hostvars are what plays see)."""
    cmd = [ANSIBLE_INVENTORY]
    for source in sources:
        cmd += ['-i', str(source)]
    return run(cmd + ['--list'] + list(extra_args), work, **env)


def groups_of(data):
    """``{group: sorted hosts}`` (direct members) of an ``ansible-inventory --list`` answer."""
    result = {}
    for group, body in data.items():
        if group != '_meta' and isinstance(body, dict):
            result[group] = sorted(body.get('hosts') or [])
    return result


def plain(value):
    """Hostvars of ``ansible-inventory --list`` with the ``{"__ansible_unsafe": s}`` markers of untrusted strings
    (ansible-core before 2.19 prints those) replaced by the strings."""
    if isinstance(value, dict):
        if set(value) == {'__ansible_unsafe'}:
            return value['__ansible_unsafe']
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def vault_value(value, password_file, work):
    """``!vault |`` block (indented for a top-level key) of ``value``."""
    done = run([ANSIBLE_VAULT, 'encrypt_string', '--vault-password-file', str(password_file), value], work)
    assert done.rc == 0, done.explain()
    text = done.stdout.strip()
    assert text.startswith('!vault |'), text
    return text


def upload_image(url, token, tar_bytes, filename='image.tar'):
    answer = requests.post(url + '/mcm/v1/images', headers={'Authorization': 'Bearer ' + token},
                           files={'image': (filename, tar_bytes, 'application/x-tar')}, timeout=30)
    assert answer.status_code in (200, 201), answer.text
    return answer.json()


def deploy_mim(url, token, api, name, image, env=None):
    path = '/mcm/v1/mims' if api == 'current' else '/mcm/v1/containers'
    status, body = http_json('POST', url + path, {'name': name, 'image': image, 'env': dict(env or {})},
                             {'Authorization': 'Bearer ' + token}, timeout=60)
    assert status in (200, 201), body
    return body


def image_bytes(name, version, index_js=None):
    if index_js is None:
        return build_tar(name=name, version=version)
    return build_tar(name=name, version=version, index_js=index_js)


def stats(url):
    return http_json('GET', url + '/_sim/stats', timeout=10)[1]


def reset_stats(urls):
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda url: http_json('POST', url + '/_sim/stats/reset', timeout=10), urls))


def parallel(function, items, workers=6):
    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(function, items))
