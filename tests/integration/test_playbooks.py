# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The operator playbooks around a rollout: status.yml, backup.yml and rollback.yml, run by ansible-playbook
against simulator nodes, checked through what the nodes and their mims answer afterwards."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess

import pytest

from rollout_helpers import (
    ANSIBLE_PLAYBOOK, COLLECTIONS, ROOT, hello_tar, run_rollout,
)
from mimoe_sim.testing import SimFleet, http_json

pytestmark = [pytest.mark.node, pytest.mark.ansible]

HELLO_ENV = {'MCM.BASE_API_PATH': '/hello/v1'}


def playbook(name, inventory, work, extra):
    """ansible-playbook playbooks/<name>; returns (rc, output)."""
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, PYTHONPATH=os.path.join(ROOT, 'tools'),
               ANSIBLE_NOCOLOR='1', ANSIBLE_LOCAL_TEMP=os.path.join(str(work), 'tmp'))
    done = subprocess.run([ANSIBLE_PLAYBOOK, '-i', inventory, os.path.join(ROOT, 'playbooks', name),
                           '-e', json.dumps(extra)], env=env, capture_output=True, text=True, timeout=240,
                          check=False)
    return done.returncode, done.stdout + done.stderr


def mim(url, path, method='GET'):
    return http_json(method, url + '/api/hello/v1' + path, timeout=10)


@pytest.mark.npm
def test_status_backup_and_rollback_playbooks(tmp_path):
    """v1 rolled out, counters set, backed up with backup.yml; v2 rolled out and the counters changed; then
    rollback.yml puts v1 back from the image cache by digest and restores the backup: version and data are v1's."""
    work = tmp_path / 'work'
    work.mkdir()
    cache = str(tmp_path / 'cache')
    v1, v2 = hello_tar(tmp_path, '1.0.0'), hello_tar(tmp_path, '2.0.0')
    with open(v1, 'rb') as fh:
        v1_digest = 'sha256:' + hashlib.sha256(fh.read()).hexdigest()
    common = {'mim_env': HELLO_ENV, 'mim_rollout_image_cache': cache, 'mim_rollout_health_delay': 1}

    with SimFleet(2) as fleet:
        inventory = fleet.inventory_path
        rc, out, dummy_recap, dummy_report = run_rollout(inventory, work, dict(common, image_tar=v1))
        assert rc == 0, out
        for count, node in enumerate(fleet.nodes, start=2):
            for dummy in range(count):
                assert mim(node.url, '/counter', 'POST')[0] == 200

        rc, out = playbook('status.yml', inventory, work, {})
        assert rc == 0, out
        for node in fleet.nodes:
            assert '%-12s %-8s %-10s %-16s %s' % (node.name, 'current', '1.0.0', 'started/up', v1_digest[:19]) in out

        rc, out = playbook('backup.yml', inventory, work, {'backup_path': 'manual/hello.json'})
        assert rc == 0, out
        assert out.count('backed up to manual/hello.json') == 2, out

        rc, out, dummy_recap, dummy_report = run_rollout(inventory, work, dict(common, image_tar=v2))
        assert rc == 0, out
        for node in fleet.nodes:
            assert mim(node.url, '/version')[1]['version'] == '2.0.0'
            mim(node.url, '/counter', 'POST')

        rc, out = playbook('rollback.yml', inventory, work, {
            'image_digest': v1_digest, 'image_cache': cache, 'mim_env': HELLO_ENV,
            'restore_backup': 'manual/hello.json', 'mim_rollout_health_delay': 1})
        assert rc == 0, out
        for count, node in enumerate(fleet.nodes, start=2):
            assert mim(node.url, '/version')[1]['version'] == '1.0.0'
            assert mim(node.url, '/counter') == (200, {'counter': count})

        rc, out = playbook('rollback.yml', inventory, work, {})
        assert rc != 0
        assert ('set mim_name (each node goes back to its previous revision, or to `revision`), or image_digest '
                '(a release kept in the registry or the image cache) or image_tar') in out


def test_report_with_the_awx_token_and_relative_paths(tmp_path):
    """report.yml as AWX runs it: hosts with mcm_url only, the token in MCM_TOKEN (the credential type injects
    it). report_dir and desired_file relative to the current directory, as documented (docs/inventory.md)."""
    work = tmp_path / 'work'
    work.mkdir()
    (work / 'desired.yml').write_text('hello-v1: 1.0.0\n')
    with SimFleet(1, api_key='Report-AWX-Key-77') as fleet:
        inventory = tmp_path / 'awx-inventory.yml'
        inventory.write_text(json.dumps({'mimoe_nodes': {'hosts': {
            'edge1': {'mcm_url': fleet.nodes[0].url, 'ansible_connection': 'local'}}}}))
        env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_NOCOLOR='1',
                   MCM_TOKEN='Report-AWX-Key-77', ANSIBLE_LOCAL_TEMP=os.path.join(str(work), 'tmp'))
        env.pop('MCM_URL', None)
        done = subprocess.run([ANSIBLE_PLAYBOOK, '-i', str(inventory), os.path.join(ROOT, 'playbooks', 'report.yml'),
                               '-e', 'report_dir=reports/today', '-e', 'desired_file=desired.yml'],
                              env=env, capture_output=True, text=True, timeout=240, check=False, cwd=str(work))
        out = done.stdout + done.stderr
        assert done.returncode == 0, out
        with open(work / 'reports' / 'today' / 'report.json', encoding='utf-8') as fh:
            data = json.load(fh)
        assert data['summary']['unreachable'] == 0 and data['summary']['reachable'] == 1, data['summary']
        assert data['desired'] == {'hello-v1': '1.0.0'}
        assert os.path.realpath(str(work / 'reports' / 'today' / 'report.html')) in out  # the real path is printed
        assert not os.path.exists(os.path.join(ROOT, 'playbooks', 'reports'))
