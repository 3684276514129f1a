# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Secrets in malformed input (issue 15): every module that takes a secret gets each malformed shape of each secret
option (a list or a dict where a string is expected, a list or dict as a secret_env value, secret_env given as a
string, a composition member's secret_env, a URL with user:password) in one playbook run at -vvvv against a
simulator node. stdout, stderr, the Ansible log and the junit and tree callback outputs must not hold the secret."""

from __future__ import annotations

import glob
import json
import os
import subprocess

import pytest
import yaml

from rollout_helpers import ANSIBLE_PLAYBOOK, COLLECTIONS, ROOT
from mimoe_sim.testing import SimNode

pytestmark = [pytest.mark.node, pytest.mark.ansible]

TOKEN = 'Mx-node-token-0e5d7c1a'
SECRET = 'Mx-malformed-secret-4c2e9b'

STR_SHAPES = [SECRET, [SECRET], {'k': SECRET}, [[SECRET]], {'k': [SECRET]}]
ENV_SHAPES = [{'API_KEY': SECRET}, {'API_KEY': [SECRET]}, {'API_KEY': {'nested': SECRET}}, [SECRET],
              SECRET, 'API_KEY=' + SECRET, [{'API_KEY': SECRET}], {'API_KEY': [{'deeper': [SECRET]}]}]
# The secret options of each module, and base arguments that are valid otherwise (the node has no such mim).
MCM_MODULES = {
    'mcm_info': {},
    'mcm_image': {'name': 'hello-v1', 'state': 'absent'},
    'mcm_mim': {'name': 'hello-v1', 'state': 'absent'},
    'mcm_composition': {'name': 'shop', 'mims': [{'name': 'a', 'image': 'hello-v1'}]},
    'mcm_datastore': {'action': 'backup', 'mim': 'hello-v1', 'path': 'b.json'},
}
REGISTRY_MODULES = {
    'catalog_info': {'name': 'hello'},
    'catalog_item': {'name': 'hello', 'version': '1.0.0', 'state': 'absent'},
    'mcm_image': {'catalog': 'hello@1.0.0', 'arch': 'amd64'},
}


def tasks(node_url):
    """(tasks, extra vars): the secret-bearing values go in an extra-vars file, as AWX passes them (a literal in
    the playbook is shown by Ansible itself as the origin of an error, whatever a module masks)."""
    out, values = [], {}

    def secret(value):
        key = 'v%d' % len(values)
        values[key] = value
        return '{{ %s }}' % key

    def task(module, args):
        args = dict(args)
        for key in ('mcm_token', 'mcm_url', 'secret_env'):
            if key in args and SECRET in json.dumps(args[key]):
                args[key] = secret(args[key])
        for key in ('registry', 'compare_mim'):
            if key in args:
                args[key] = dict((k, secret(v) if SECRET in json.dumps(v) else v) for k, v in args[key].items())
        if 'mims' in args and SECRET in json.dumps(args['mims']):
            args['mims'] = [dict((k, secret(v) if k == 'secret_env' else v) for k, v in m.items())
                            for m in args['mims']]
        assert SECRET not in json.dumps(args)
        out.append({'name': '%s %d' % (module, len(out)), 'mimoe.edge.%s' % module: args, 'ignore_errors': True})

    connection = {'mcm_url': node_url, 'mcm_token': TOKEN, 'retries': 0, 'timeout': 5}
    for module, base in MCM_MODULES.items():
        for shape in STR_SHAPES:
            task(module, dict(base, **dict(connection, mcm_token=shape)))
        task(module, dict(base, **dict(connection, mcm_url=node_url.replace('://', '://admin:%s@' % SECRET))))
    for shape in ENV_SHAPES:
        task('mcm_mim', dict(connection, name='hello-v1', image='hello-v1', secret_env=shape, wait=False))
        task('mcm_info', dict(connection, compare_mim={'name': 'hello-v1', 'image': 'hello-v1', 'secret_env': shape}))
        task('mcm_composition', dict(connection, name='shop', mims=[{'name': 'a', 'image': 'hello-v1',
                                                                     'secret_env': shape}]))
    registry = {'url': 'http://127.0.0.1:1', 'username': 'alice', 'password': SECRET, 'timeout': 2}
    for module, base in REGISTRY_MODULES.items():
        args = dict(base, **(connection if module == 'mcm_image' else {}))
        for shape in STR_SHAPES:
            task(module, dict(args, registry=dict(registry, password=shape)))
        task(module, dict(args, registry=dict(registry, url='https://alice:%s@127.0.0.1:1' % SECRET)))
    return out, values


def test_malformed_secrets_never_reach_any_output(tmp_path):
    out_dir = tmp_path / 'out'
    out_dir.mkdir()
    with SimNode(data_dir=str(tmp_path / 'node'), api_key=TOKEN) as node:
        node.start()
        play_tasks, values = tasks(node.url)
        play = [{'hosts': 'localhost', 'gather_facts': False, 'connection': 'local', 'tasks': play_tasks}]
        playbook = tmp_path / 'malformed.yml'
        playbook.write_text(yaml.safe_dump(play, sort_keys=False))
        vars_file = tmp_path / 'secrets.json'
        vars_file.write_text(json.dumps(values))
        env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, PYTHONPATH=os.path.join(ROOT, 'tools'),
                   ANSIBLE_NOCOLOR='1', ANSIBLE_LOCAL_TEMP=str(out_dir / 'tmp'),
                   ANSIBLE_LOG_PATH=str(out_dir / 'ansible.log'),
                   ANSIBLE_CALLBACKS_ENABLED='ansible.builtin.junit,ansible.builtin.tree',
                   JUNIT_OUTPUT_DIR=str(out_dir / 'junit'), JUNIT_HIDE_TASK_ARGUMENTS='False',
                   ANSIBLE_CALLBACK_TREE_DIR=str(out_dir / 'tree'), MCM_FINGERPRINT_FILE=str(tmp_path / 'fp.json'))
        for key in list(env):
            if key.startswith(('MCM_URL', 'MCM_TOKEN', 'MIMOE_REGISTRY')):
                env.pop(key)
        done = subprocess.run([ANSIBLE_PLAYBOOK, '-vvvv', '-i', 'localhost,', str(playbook),
                               '-e', '@%s' % vars_file], env=env,
                              capture_output=True, text=True, timeout=900, check=False)
    output = done.stdout + done.stderr
    (out_dir / 'run.out').write_text(output)
    count = len(play[0]['tasks'])
    assert 'Traceback (most recent call last)' not in output, output[-5000:]
    # Every task ran (none was skipped by an earlier crash of the play) and produced a result.
    assert output.count('TASK [') == count, output[-3000:]
    assert glob.glob(str(out_dir / 'junit' / '*.xml')) and os.listdir(str(out_dir / 'tree'))
    leaks = {}
    for path in glob.glob(str(out_dir / '**'), recursive=True):
        if os.path.isfile(path):
            with open(path, 'rb') as fh:
                hits = fh.read().count(SECRET.encode())
            if hits:
                leaks[os.path.relpath(path, str(out_dir))] = hits
    assert leaks == {}, (leaks, [line for line in output.splitlines() if SECRET in line][:10])
    with open(glob.glob(str(out_dir / 'tree' / '*'))[0], encoding='utf-8') as fh:
        assert json.load(fh)  # the tree callback wrote real results
