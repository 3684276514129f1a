# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Revision history (issue 18 item 6): each release is remembered on the node (release marker) and its archive in
the registry, so playbooks/rollback.yml goes to "the previous revision" or "revision N" from a fresh job (an empty
HOME, nothing kept on the controller), against simulator nodes and the real registry."""

from __future__ import annotations

import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from registry import Registry  # noqa: E402  pylint: disable=wrong-import-position
from rollout_helpers import ANSIBLE_PLAYBOOK, COLLECTIONS, ROOT, hello_tar, run_rollout  # noqa: E402  pylint: disable=wrong-import-position
from mimoe_sim.testing import SimFleet, http_json  # noqa: E402  pylint: disable=wrong-import-position

HELLO_ENV = {'MCM.BASE_API_PATH': '/hello/v1'}
ROLLBACK = os.path.join(ROOT, 'playbooks', 'rollback.yml')


def version(node):
    return http_json('GET', node.url + '/api/hello/v1/version', timeout=10)[1].get('version')


def release_info(node, tmp_path):
    """mimoe.edge.mim_release_info from a fresh HOME; returns its result."""
    out_file = tmp_path / 'info.json'
    playbook = tmp_path / 'info.yml'
    playbook.write_text(json.dumps([{
        'hosts': 'localhost', 'gather_facts': False, 'vars': {'ansible_python_interpreter': sys.executable},
        'tasks': [
            {'mimoe.edge.mim_release_info': {'mcm_url': node.url, 'mcm_token': node.api_key, 'name': 'hello-v1'},
             'register': 'info'},
            {'ansible.builtin.copy': {'content': '{{ info | to_json }}', 'dest': str(out_file)}},
        ]}]))
    home = tmp_path / 'home-info'
    home.mkdir(exist_ok=True)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, HOME=str(home), ANSIBLE_LOCALHOST_WARNING='False',
               ANSIBLE_INVENTORY_UNPARSED_WARNING='False')
    done = subprocess.run([ANSIBLE_PLAYBOOK, str(playbook)], env=env, capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(out_file.read_text())


def test_rollback_to_previous_and_to_revision_n_from_empty_homes(tmp_path):
    (tmp_path / 'work').mkdir()
    v1, v2 = hello_tar(tmp_path, '1.0.0'), hello_tar(tmp_path, '2.0.0')
    with Registry(tmp_path / 'registry') as reg, SimFleet(2) as fleet:
        runs = iter(range(100))

        def job(playbook=None, **extra):
            home = tmp_path / ('home-%d' % next(runs))  # a fresh AWX job: empty HOME, its own cache
            extra = dict(dict(mim_env=HELLO_ENV, registry_url=reg.url, registry_namespace='edge',
                              mim_rollout_image_cache=str(home / 'cache')), **extra)
            kwargs = {'playbook': playbook} if playbook else {}
            return run_rollout(fleet.inventory_path, tmp_path / 'work', extra, home=home, **kwargs)

        assert job(image_tar=v1)[0] == 0
        rc, out, _recap, report = job(image_tar=v2)
        assert rc == 0 and report['counts']['upgraded'] == 2, out

        # Default: every node back to its previous revision, from an empty HOME (archive from the registry).
        rc, out, _recap, report = job(playbook=ROLLBACK, mim_name='hello-v1')
        assert rc == 0 and report['counts']['upgraded'] == 2, out
        for node in fleet.nodes:
            assert version(node) == '1.0.0'
            entry = report['nodes'][node.name]
            assert entry['revision_target'] == {'revision': 1, 'version': '1.0.0', 'digest': entry['to_digest']}
            assert [(h['revision'], h['version'], h['current']) for h in entry['history']] == [
                (2, '2.0.0', True), (1, '1.0.0', False)]
            assert entry['revision'] == 3  # a rollback is a new revision, as with Helm

        # Revision N, again from an empty HOME: the history the node remembers lists all three.
        rc, out, _recap, report = job(playbook=ROLLBACK, mim_name='hello-v1', revision=2)
        assert rc == 0 and report['counts']['upgraded'] == 2, out
        for node in fleet.nodes:
            assert version(node) == '2.0.0'
            assert [h['revision'] for h in report['nodes'][node.name]['history']] == [3, 2, 1]

        # A revision the node does not remember: refused before any write, naming what it has.
        rc, out, _recap, report = job(playbook=ROLLBACK, mim_name='hello-v1', revision=9, canary_count=2)
        assert rc != 0 and 'no revision 9 on this node (it remembers: 4 (2.0.0), 3 (1.0.0), 2 (2.0.0), 1 (1.0.0))' \
            in out, out
        for node in fleet.nodes:
            assert version(node) == '2.0.0'

        # The history as mim_release_info lists it (a read, from another empty HOME).
        info = release_info(fleet.nodes[0], tmp_path)
        assert info['changed'] is False and info['exists'] and info['readable'], info
        assert info['release']['revision'] == 4 and info['release']['version'] == '2.0.0', info
        assert [(h['revision'], h['version']) for h in info['history']] == [
            (4, '2.0.0'), (3, '1.0.0'), (2, '2.0.0'), (1, '1.0.0')], info
