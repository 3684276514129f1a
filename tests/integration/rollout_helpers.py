# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Helpers of test_mim_rollout: hello-v1 archives of any version without npm, and ansible-playbook runs of
playbooks/rollout.yml against a simulator inventory."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, 'tools'))

from mimoe_sim.imagetar import build_image_tar  # noqa: E402  pylint: disable=wrong-import-position

BUNDLE = os.path.join(ROOT, 'examples', 'hello-mim', 'build', 'index.js')
ROLLOUT = os.path.join(ROOT, 'playbooks', 'rollout.yml')
ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')
COLLECTIONS = os.path.join(ROOT, 'build')


def hello_tar(directory, version):
    """Write hello-v1:<version> (the example's bundle with its version string replaced); return the path."""
    with open(BUNDLE, encoding='utf-8') as fh:
        bundle = fh.read()
    assert 'r="1.0.0"' in bundle
    data = build_image_tar('hello-v1', version, bundle.replace('r="1.0.0"', 'r="%s"' % version),
                           layer_id='%064x' % 1, mtime=0)
    path = os.path.join(str(directory), 'hello-v1-%s.tar' % version)
    with open(path, 'wb') as fh:
        fh.write(data)
    return path


def run_rollout(inventory, work, extra, timeout=240, flags=(), playbook=ROLLOUT, home=None, env_extra=None):
    """ansible-playbook playbooks/rollout.yml (or ``playbook``) with extra ``flags`` (--check, --limit ...) and,
    with ``home``, that HOME (an empty one: a fresh AWX job); returns (rc, stdout, recap {host: counters}, report
    or None)."""
    report = os.path.join(str(work), 'report-%d.json' % len(os.listdir(str(work))))
    extra = dict(extra, report_file=report)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, PYTHONPATH=os.path.join(ROOT, 'tools'),
               ANSIBLE_NOCOLOR='1', ANSIBLE_FORCE_COLOR='0', ANSIBLE_HOST_KEY_CHECKING='False',
               ANSIBLE_LOCALHOST_WARNING='False', ANSIBLE_INVENTORY_UNPARSED_WARNING='False',
               ANSIBLE_PIPELINING='True', ANSIBLE_LOCAL_TEMP=os.path.join(str(work), 'tmp'))
    env.update(env_extra or {})
    if home is not None:
        os.makedirs(str(home), exist_ok=True)
        env['HOME'] = str(home)
    done = subprocess.run([ANSIBLE_PLAYBOOK, '-i', inventory, playbook, '-e', json.dumps(extra)] + list(flags),
                          env=env, capture_output=True, text=True, timeout=timeout, check=False)
    recap = {}
    for line in done.stdout.split('PLAY RECAP')[-1].splitlines():
        match = re.match(r'^(\S+)\s+:\s+(.*)$', line)
        if match:
            recap[match.group(1)] = {k: int(v) for k, v in re.findall(r'(\w+)=(\d+)', match.group(2))}
    data = None
    if os.path.exists(report):
        with open(report, encoding='utf-8') as fh:
            data = json.load(fh)
    return done.returncode, done.stdout + done.stderr, recap, data


def write_inventory(path, nodes, host_vars=None):
    """Inventory of {name: SimNode} in the layout `python -m mimoe_sim fleet` writes, plus ``host_vars``
    {name: {variable: value}} (values written as JSON, which YAML reads)."""
    lines = ['all:', '  children:', '    mimoe_nodes:', '      hosts:']
    for name, node in nodes.items():
        lines += ['        %s:' % name, '          mcm_url: "%s"' % node.url,
                  '          mcm_token: "%s"' % node.api_key, '          ansible_connection: local']
        lines += ['          %s: %s' % (key, json.dumps(value)) for key, value in ((host_vars or {}).get(name) or {}).items()]
    with open(path, 'w', encoding='utf-8') as fh:
        fh.write('\n'.join(lines) + '\n')
    return str(path)
