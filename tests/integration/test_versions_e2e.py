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
    ANSIBLE_PLAYBOOK, COLLECTIONS, ROOT, hello_tar, run_rollout, write_inventory,
)
from mimoe_sim.testing import SimFleet, http_json

pytestmark = [pytest.mark.node, pytest.mark.npm, pytest.mark.ansible]

HELLO_ENV = {'MCM.BASE_API_PATH': '/hello/v1'}


def playbook(name, inventory, work, *extra):
    return playbook_file(os.path.join(ROOT, 'playbooks', name), inventory, work, *extra)


def playbook_file(path, inventory, work, *extra):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, PYTHONPATH=os.path.join(ROOT, 'tools'),
               ANSIBLE_NOCOLOR='1', ANSIBLE_LOCAL_TEMP=os.path.join(str(work), 'tmp'))
    cmd = [ANSIBLE_PLAYBOOK, '-i', inventory, path]
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
             'canary_count': '1', 'batch_size': '2', 'health_status': '200', 'rollout_max_fail_percentage': '0'}
    with SimFleet(3) as fleet:
        inventory = fleet.inventory_path
        rc, out, recap, report = run_rollout(inventory, work, extra)
        assert rc == 0, out
        assert report['counts'] == {'upgraded': 3, 'unchanged': 0, 'rolled_back': 0, 'failed': 0, 'not_reached': 0}
        assert 'reserved name' not in out, out  # no survey answer is named like a play keyword
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


PLAN_PLAYBOOK = """
- name: Plan only
  hosts: mimoe_nodes
  gather_facts: false
  vars:
    node_release:
      mcm_url: "{{ mcm_url }}"
      mcm_token: "{{ mcm_token | default(omit) }}"
      env: "{{ mim_env | default({'MCM.BASE_API_PATH': '/hello/v1'}) }}"
  tasks:
    - name: Describe the archive
      mimoe.edge.mim_package_info:
        path: "{{ image_tar }}"
      register: package
      run_once: true
      delegate_to: localhost
    - name: Read every node
      mimoe.edge.rollout_plan:
        hosts: "{{ ansible_play_hosts_all }}"
        options:
          image: "{{ package.image }}"
        node_options: node_release
        processes: 2
      register: plan
      run_once: true
      delegate_to: localhost
    - name: Keep the plan
      ansible.builtin.copy:
        content: "{{ plan | to_json }}"
        dest: "{{ plan_file }}"
        mode: '0600'
      run_once: true
      delegate_to: localhost
"""


def mcm(node, method, path):
    return http_json(method, node.url + '/mcm/v1' + path, headers={'Authorization': 'Bearer %s' % node.api_key},
                     timeout=10)


def test_plan_reads_each_node_with_its_own_variables(tmp_path):
    """The plan (first play of rollout.yml) reads every node at once with that host's own release options (here a
    host variable mim_env on node003, templated through the playbook's and the role's variables), and only the
    nodes that differ get a release task: the canary is the first of them."""
    work = tmp_path / 'work'
    work.mkdir()
    tar = hello_tar(tmp_path, '1.0.0')
    extra = {'image_tar': tar, 'mim_rollout_image_cache': str(tmp_path / 'cache'), 'mim_rollout_health_delay': 1,
             'canary_count': '1', 'batch_size': '2'}
    greeting = dict(HELLO_ENV, GREETING='hello from node003')
    with SimFleet(4) as fleet:
        nodes = dict((node.name, node) for node in fleet.nodes)
        inventory = write_inventory(tmp_path / 'inventory.yml', nodes, {'node003': {'mim_env': greeting}})
        rc, out, _recap, report = run_rollout(inventory, work, extra)
        assert rc == 0, out
        assert report['counts']['upgraded'] == 4, out
        assert 'plan: 0 of 4 nodes already run hello-v1:1.0.0, 4 to release: node001, node002, node003, node004' \
            in out, out
        env = mcm(nodes['node003'], 'GET', '/mims/hello-v1')[1]['env']
        assert env['GREETING'] == 'hello from node003', env

        for node in fleet.nodes:
            http_json('POST', node.url + '/_sim/stats/reset')
        rc, out, recap, report = run_rollout(inventory, work, extra)
        assert rc == 0, out
        assert 'plan: 4 of 4 nodes already run hello-v1:1.0.0, 0 to release' in out, out
        assert report['counts'] == {'upgraded': 0, 'unchanged': 4, 'rolled_back': 0, 'failed': 0, 'not_reached': 0}
        assert all(counters['changed'] == 0 for counters in recap.values()), out
        assert all(http_json('GET', node.url + '/_sim/stats')[1]['write_requests'] == 0 for node in fleet.nodes)

        # node003's own env changes in the inventory, and node001's mim is removed by hand: the plan sends exactly
        # those two to the rollout play, node001 first (the canary batch), and the others are not written to.
        inventory = write_inventory(tmp_path / 'inventory.yml', nodes,
                                    {'node003': {'mim_env': dict(greeting, GREETING='hi again')}})
        assert mcm(nodes['node001'], 'DELETE', '/mims/hello-v1')[0] in (200, 204)
        for node in fleet.nodes:
            http_json('POST', node.url + '/_sim/stats/reset')
        rc, out, _recap, report = run_rollout(inventory, work, extra)
        assert rc == 0, out
        assert 'plan: 2 of 4 nodes already run hello-v1:1.0.0, 2 to release: node001, node003' in out, out
        assert 'batch 1/2\nnode001 hello-v1 ' in out.replace('",\n        "', '\n'), out
        assert report['counts'] == {'upgraded': 2, 'unchanged': 2, 'rolled_back': 0, 'failed': 0, 'not_reached': 0}
        assert report['nodes']['node001']['canary'] and not report['nodes']['node003']['canary'], report
        assert [http_json('GET', node.url + '/_sim/stats')[1]['write_requests'] == 0 for node in fleet.nodes] == [False, True, False, True]
        env = mcm(nodes['node003'], 'GET', '/mims/hello-v1')[1]['env']
        assert env['GREETING'] == 'hi again', env

        # The plan alone, in two processes (the helper plans every second host): node002 (the helper's) lost its
        # mim, node003 (planned here) has another env again; each is read with its own URL and env.
        assert mcm(nodes['node002'], 'DELETE', '/mims/hello-v1')[0] in (200, 204)
        inventory = write_inventory(tmp_path / 'inventory.yml', nodes,
                                    {'node003': {'mim_env': dict(greeting, GREETING='and again')}})
        (tmp_path / 'plan.yml').write_text(PLAN_PLAYBOOK)
        plan_file = tmp_path / 'plan.json'
        rc, out = playbook_file(str(tmp_path / 'plan.yml'), inventory, work, 'image_tar=%s' % tar,
                                'plan_file=%s' % plan_file)
        assert rc == 0, out
        plan = json.loads(plan_file.read_text())
        assert plan['unchanged'] == ['node001', 'node004'] and plan['pending'] == ['node002', 'node003'], plan
        assert plan['reasons']['node002'] == ['the mim hello-v1 is not deployed'], plan
        assert plan['reasons']['node003'] == ['env differs in GREETING'], plan
        assert plan['report']['nodes']['node004']['status'] == 'unchanged', plan
