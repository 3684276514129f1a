# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The operator path end to end: playbooks/rollout.yml (twice: the second run changes nothing), status.yml and
report.yml over simulator nodes. ``make test-matrix`` runs this file with every supported ansible-core (each in
its own virtualenv: ansible-playbook is the one next to the running Python).

The numbers are given as text, the way an AWX survey or ``-e key=value`` gives them: ansible-core before 2.19
templates every value into a string, so a template that slices, compares or counts with one needs ``| int``."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from rollout_helpers import (
    ANSIBLE_PLAYBOOK, COLLECTIONS, ROOT, hello_tar, run_rollout,
)
from mimoe_sim.testing import SimFleet, http_json

pytestmark = [pytest.mark.node, pytest.mark.npm, pytest.mark.ansible]

HELLO_ENV = {'MCM.BASE_API_PATH': '/hello/v1'}


def playbook(name, inventory, work, *extra):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, PYTHONPATH=os.path.join(ROOT, 'tools'),
               ANSIBLE_NOCOLOR='1', ANSIBLE_LOCAL_TEMP=os.path.join(str(work), 'tmp'))
    cmd = [ANSIBLE_PLAYBOOK, '-i', inventory, os.path.join(ROOT, 'playbooks', name)]
    for value in extra:
        cmd += ['-e', value]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240, check=False)
    return done.returncode, done.stdout + done.stderr


def test_rollout_status_and_report(tmp_path):
    work = tmp_path / 'work'
    work.mkdir()
    tar = hello_tar(tmp_path, '1.0.0')
    extra = {'image_tar': tar, 'mim_env': json.dumps(HELLO_ENV), 'mim_rollout_image_cache': str(tmp_path / 'cache'),
             'mim_rollout_health_delay': 1,
             # survey answers: text
             'canary_count': '1', 'batch_size': '2', 'health_status': '200', 'max_fail_percentage': '0'}
    with SimFleet(3) as fleet:
        inventory = fleet.inventory_path
        rc, out, recap, report = run_rollout(inventory, work, extra)
        assert rc == 0, out
        assert report['counts'] == {'upgraded': 3, 'unchanged': 0, 'rolled_back': 0, 'failed': 0, 'not_reached': 0}
        assert sorted(set(recap) - {'localhost'}) == sorted(node.name for node in fleet.nodes), out
        for node in fleet.nodes:
            assert http_json('GET', node.url + '/api/hello/v1/version', timeout=10)[1]['version'] == '1.0.0'

        rc, out, recap, report = run_rollout(inventory, work, extra)
        assert rc == 0, out
        assert report['counts'] == {'upgraded': 0, 'unchanged': 3, 'rolled_back': 0, 'failed': 0, 'not_reached': 0}
        assert all(counters['changed'] == 0 and counters['failed'] == 0 for counters in recap.values()), out

        rc, out = playbook('status.yml', inventory, work)
        assert rc == 0, out
        for node in fleet.nodes:
            digest = report['nodes'][node.name]['to_digest']
            assert '%-12s %-8s %-10s %-16s %s' % (node.name, 'current', '1.0.0', 'started/up', digest[:19]) in out

        rc, out = playbook('report.yml', inventory, work, 'report_dir=%s' % (work / 'report'),
                           json.dumps({'desired': {'hello-v1': '1.0.0'}}))
        assert rc == 0, out
        with open(work / 'report' / 'report.json', encoding='utf-8') as fh:
            data = json.load(fh)
        summary = data['summary']
        assert {k: summary[k] for k in ('nodes', 'reachable', 'unreachable', 'ok', 'drift', 'down')} == {
            'nodes': 3, 'reachable': 3, 'unreachable': 0, 'ok': 3, 'drift': 0, 'down': 0}, data
        assert (work / 'report' / 'report.html').stat().st_size > 0
        assert '3 nodes, 3 ok, 0 drifted, 0 with a mim down' in out
