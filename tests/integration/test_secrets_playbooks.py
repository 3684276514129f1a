# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Secrets: every playbook of playbooks/ runs at -vvvv against simulator nodes (whose MCM API key is a known
token), a registry with a known password, and a mim with a known secret env value; the successful paths and a
failed upgrade that is rolled back. Then stdout, stderr, the JSON rollout reports, the fleet report, the Ansible
log and the callback outputs (junit, tree, raw results) are scanned: no secret may appear anywhere.

A playbook added to playbooks/ without a run in RUNS makes this test fail, so new playbooks are covered too."""

from __future__ import annotations

import glob
import hashlib
import json
import os
import shutil
import subprocess

import pytest

from registry import Registry
from rollout_helpers import ANSIBLE_PLAYBOOK, COLLECTIONS, ROOT, hello_tar
from mimoe_sim.testing import SimFleet, http_json

pytestmark = [pytest.mark.node, pytest.mark.registry, pytest.mark.npm, pytest.mark.ansible]

TOKEN = 'Sx-mcm-token-5b7e2c01d9f4'
REGISTRY_PASSWORD = 'Sx-registry-password-c3f1a0'
ENV_SECRET = 'Sx-secret-env-value-7a19e6'
REMOVED_SECRET = 'Sx-removed-secret-value-4d2b'  # a secret_env key later removed: its old value must stay hidden
SECRETS = {'MCM token': TOKEN, 'registry password': REGISTRY_PASSWORD, 'secret env value': ENV_SECRET,
           'removed secret env value': REMOVED_SECRET}
HELLO_ENV = {'MCM.BASE_API_PATH': '/hello/v1'}
SECRET_ENV = json.dumps({'API_KEY': ENV_SECRET})  # as an AWX survey "password" field passes it: JSON text


def runs(paths):
    """(playbook, extra vars, expected rc: 0 or 'failed') in order; every playbook of playbooks/ must be here."""
    common = {'mim_env': HELLO_ENV, 'mim_secret_env': SECRET_ENV, 'mim_rollout_image_cache': paths['cache'],
              'mim_rollout_health_delay': 1}
    registry = {'registry_url': paths['registry_url'], 'registry_username': 'alice',
                'registry_password': REGISTRY_PASSWORD}
    return [
        ('build.yml', {'project_dir': paths['project'], 'mim_build_npm_ci': False}, 0),
        ('publish.yml', dict(registry, image_tar=paths['v1'], description='secrets test'), 0),
        ('rollout.yml', dict(common, image_tar=paths['v1'], report_file=paths['report'] % 'rollout-v1'), 0),
        ('status.yml', {}, 0),
        ('backup.yml', {'backup_path': 'secrets/hello.json'}, 0),
        # A failed upgrade: the rescue path, the rollback's redeploy with the previous env (secret included).
        ('rollout.yml', dict(common, image_tar=paths['v2'], report_file=paths['report'] % 'rollout-v2-failed',
                             mim_env=dict(HELLO_ENV, HEALTH_FAIL='true'), mim_rollout_health_retries=1), 'failed'),
        ('rollout.yml', dict(common, image_tar=paths['v2'], report_file=paths['report'] % 'rollout-v2'), 0),
        ('rollback.yml', dict(common, image_digest=paths['v1_digest'], image_cache=paths['cache'],
                              restore_backup='secrets/hello.json', report_file=paths['report'] % 'rollback'), 0),
        ('report.yml', {'report_dir': paths['fleet_report'], 'desired': {'hello-v1': '1.0.0'}}, 0),
        # The export names secret env keys only (their values are unknown to it); the file is checked too.
        ('export.yml', {'export_file': paths['report'] % 'export'}, 0),
        # The rollout role with a secret key added, then removed again (its diff shows the key masked).
        ('rollout.yml', dict(common, image_tar=paths['v2'], report_file=paths['report'] % 'rollout-extra-key',
                             mim_secret_env=json.dumps({'API_KEY': ENV_SECRET, 'OLD_KEY': REMOVED_SECRET})), 0),
        ('rollout.yml', dict(common, image_tar=paths['v2'], report_file=paths['report'] % 'rollout-key-removed'), 0),
        (CASES, {'secret': ENV_SECRET, 'removed': REMOVED_SECRET}, 0),
    ]


# mcm_mim with a secret key removed (--diff, registered diff.before), mcm_info listings (registered, printed),
# a composition with a secret key removed: every value they return is printed, so a leak cannot hide.
CASES = 'secret-cases.yml'
CASES_PLAYBOOK = '''
- name: Secret cases
  hosts: mimoe_nodes
  gather_facts: false
  vars:
    ansible_python_interpreter: "{{ ansible_playbook_python }}"
  module_defaults:
    group/mimoe.edge.mcm:
      mcm_url: "{{ mcm_url }}"
      mcm_token: "{{ mcm_token }}"
  tasks:
    - name: Deploy with two secret keys
      mimoe.edge.mcm_mim:
        name: case-v1
        image: hello-v1
        env: {MCM.BASE_API_PATH: /case/v1}
        secret_env: {API_KEY: "{{ secret }}", OLD_KEY: "{{ removed }}"}
      register: first
    - name: Same again (idempotent)
      mimoe.edge.mcm_mim:
        name: case-v1
        image: hello-v1
        env: {MCM.BASE_API_PATH: /case/v1}
        secret_env: {API_KEY: "{{ secret }}", OLD_KEY: "{{ removed }}"}
      register: second
    - name: Remove one secret key
      mimoe.edge.mcm_mim:
        name: case-v1
        image: hello-v1
        env: {MCM.BASE_API_PATH: /case/v1}
        secret_env: {API_KEY: "{{ secret }}"}
      register: removed_key
    - name: Read the node (a fresh controller would see this)
      mimoe.edge.mcm_info:
      register: listing
    - name: Composition with a secret key, then without it
      mimoe.edge.mcm_composition:
        name: shop
        mims:
          - {name: shop-v1, image: hello-v1, env: {MCM.BASE_API_PATH: /shop/v1},
             secret_env: {API_KEY: "{{ secret }}", OLD_KEY: "{{ removed }}"}}
      register: composition_first
    - name: Composition without the removed key
      mimoe.edge.mcm_composition:
        name: shop
        mims:
          - {name: shop-v1, image: hello-v1, env: {MCM.BASE_API_PATH: /shop/v1}, secret_env: {API_KEY: "{{ secret }}"}}
      register: composition_removed
    - name: Show everything that was registered
      ansible.builtin.debug:
        var: item
      loop: [ "{{ first }}", "{{ second }}", "{{ removed_key }}", "{{ listing }}", "{{ composition_first }}",
              "{{ composition_removed }}" ]
    - name: Check what happened
      ansible.builtin.assert:
        that:
          - first is changed and second is not changed
          - removed_key is changed
          - removed_key.diff.before.env.OLD_KEY == '********'
          - "'OLD_KEY' not in removed_key.diff.after.env | default({})"
          - (listing.mims | selectattr('name', 'equalto', 'case-v1') | first).env.API_KEY == '********'
          - composition_removed.diff.before['shop-v1'].env.OLD_KEY == '********'
'''


def playbook(name, inventory, extra, out_dir, index):
    """ansible-playbook -vvvv with the log, junit, tree and raw-results callbacks writing into out_dir.

    The inputs go in an extra-vars file (``-e @file``), as AWX passes survey answers: ansible-playbook -vvvv
    echoes command-line extra vars verbatim (and ``ps`` shows them), so secrets never belong on the command line
    (docs/reliability.md)."""
    vars_file = os.path.join(os.path.dirname(out_dir), 'extravars-%02d.json' % index)
    with open(vars_file, 'w', encoding='utf-8') as fh:
        json.dump(extra, fh)
    os.chmod(vars_file, 0o600)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, PYTHONPATH=os.path.join(ROOT, 'tools'),
               ANSIBLE_NOCOLOR='1', ANSIBLE_LOCAL_TEMP=os.path.join(out_dir, 'tmp'),
               ANSIBLE_LOG_PATH=os.path.join(out_dir, 'ansible.log'),
               ANSIBLE_CALLBACK_PLUGINS=os.path.join(os.path.dirname(os.path.abspath(__file__)), 'callback_plugins'),
               ANSIBLE_CALLBACKS_ENABLED='mcm_results,ansible.builtin.junit,ansible.builtin.tree',
               MCM_TEST_RESULTS=os.path.join(out_dir, 'results.jsonl'),
               JUNIT_OUTPUT_DIR=os.path.join(out_dir, 'junit'), JUNIT_HIDE_TASK_ARGUMENTS='False',
               ANSIBLE_CALLBACK_TREE_DIR=os.path.join(out_dir, 'tree'))
    for key in list(env):
        if key.startswith(('MCM_URL', 'MCM_TOKEN', 'MIMOE_REGISTRY')):
            env.pop(key)
    path = os.path.join(ROOT, 'playbooks', name) if name != CASES else os.path.join(os.path.dirname(out_dir), name)
    done = subprocess.run([ANSIBLE_PLAYBOOK, '-vvvv', '--diff', '-i', inventory, path,
                           '-e', '@' + vars_file], env=env, capture_output=True, text=True, timeout=300,
                          check=False)
    with open(os.path.join(out_dir, 'run-%02d-%s.out' % (index, name)), 'w', encoding='utf-8') as fh:
        fh.write(done.stdout + '\n--- stderr ---\n' + done.stderr)
    return done.returncode, done.stdout + done.stderr


def leaks(directory):
    """{file: [secret names]} of every file below directory that holds a secret."""
    found = {}
    for path in glob.glob(os.path.join(directory, '**'), recursive=True):
        if not os.path.isfile(path):
            continue
        with open(path, 'rb') as fh:
            data = fh.read()
        names = [name for name, secret in SECRETS.items() if secret.encode() in data]
        if names:
            found[os.path.relpath(path, directory)] = names
    return found


def test_no_secret_in_any_output_of_any_playbook(tmp_path):
    out_dir = str(tmp_path / 'out')  # everything the playbooks write: scanned at the end
    os.makedirs(out_dir)
    project = tmp_path / 'project' / 'hello-mim'
    example = os.path.join(ROOT, 'examples', 'hello-mim')
    shutil.copytree(example, str(project), ignore=shutil.ignore_patterns('node_modules', 'build', 'deploy'))
    (project / 'node_modules').symlink_to(os.path.join(example, 'node_modules'), target_is_directory=True)
    v1, v2 = hello_tar(tmp_path, '1.0.0'), hello_tar(tmp_path, '2.0.0')
    with open(v1, 'rb') as fh:
        v1_digest = 'sha256:' + hashlib.sha256(fh.read()).hexdigest()

    with SimFleet(2, data_dir=str(tmp_path / 'fleet'), api_key=TOKEN) as fleet, \
            Registry(tmp_path / 'registry', users={'alice': REGISTRY_PASSWORD}) as registry:
        paths = {'project': str(project), 'v1': v1, 'v2': v2, 'v1_digest': v1_digest,
                 'cache': os.path.join(out_dir, 'cache'), 'report': os.path.join(out_dir, 'report-%s.json'),
                 'fleet_report': os.path.join(out_dir, 'fleet-report'), 'registry_url': registry.url}
        table = runs(paths)
        with open(os.path.join(str(tmp_path), CASES), 'w', encoding='utf-8') as fh:
            fh.write(CASES_PLAYBOOK)
        covered = {name for name, _extra, _rc in table}
        present = {os.path.basename(p) for p in glob.glob(os.path.join(ROOT, 'playbooks', '*.yml'))}
        assert present <= covered, ('playbooks not covered by the secrets test: %s; add a run with their inputs to '
                                    'runs() in %s' % (', '.join(sorted(present - covered)), __file__))

        outputs = {}
        for index, (name, extra, expected) in enumerate(table):
            rc, output = playbook(name, fleet.inventory_path, extra, out_dir, index)
            assert (rc == 0) == (expected == 0), '%s %s: rc=%s\n%s' % (name, extra, rc, output[-5000:])
            outputs['%02d %s' % (index, name)] = output

        # The inventory plugin and the fleet report read from it, now that the nodes hold secret values.
        config = os.path.join(str(tmp_path), 'fleet.mcm_nodes.yml')
        with open(config, 'w', encoding='utf-8') as fh:
            json.dump({'plugin': 'mimoe.edge.mcm_nodes', 'nodes': [node.url for node in fleet.nodes]}, fh)
        env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, MCM_TOKEN=TOKEN, ANSIBLE_NOCOLOR='1',
                   ANSIBLE_INVENTORY_ENABLED='mimoe.edge.mcm_nodes')
        done = subprocess.run([os.path.join(os.path.dirname(ANSIBLE_PLAYBOOK), 'ansible-inventory'), '-vvvv',
                               '-i', config, '--list'], env=env, capture_output=True, text=True, timeout=120,
                              check=False)
        assert done.returncode == 0 and 'case-v1' in done.stdout, done.stdout[-3000:] + done.stderr[-3000:]
        outputs['inventory'] = done.stdout + done.stderr
        with open(os.path.join(out_dir, 'inventory.json'), 'w', encoding='utf-8') as fh:
            fh.write(done.stdout)

        # The runs did what they should (so the scan covers real work): the secret env reached the mim, the
        # failed upgrade was rolled back, the fleet report exists.
        for node in fleet.nodes:
            status, body = http_json('GET', node.url + '/api/hello/v1/version', timeout=10)
            assert status == 401, (status, body)  # API_KEY from the secret env guards the mim
            status, body = http_json('GET', node.url + '/api/hello/v1/version',
                                     headers={'Authorization': 'Bearer ' + ENV_SECRET}, timeout=10)
            assert status == 200 and body['version'] == '2.0.0', body  # the last rollouts (key added, removed)
        with open(paths['report'] % 'rollout-v2-failed', encoding='utf-8') as fh:
            assert json.load(fh)['counts']['rolled_back'] == 1
        assert os.path.exists(os.path.join(paths['fleet_report'], 'report.json'))
        assert os.path.exists(os.path.join(out_dir, 'ansible.log'))
        assert glob.glob(os.path.join(out_dir, 'junit', '*.xml')) and os.listdir(os.path.join(out_dir, 'tree'))

    for run, output in outputs.items():
        for secret_name, secret in SECRETS.items():
            assert output.count(secret) == 0, '%s printed the %s' % (run, secret_name)
    assert leaks(out_dir) == {}
