# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""playbooks/rollout.yml run the way AWX runs a job template: through the ansible-runner Python API, with a private
data dir AWX would write (project/, an inventory script in inventory/, the survey answers in env/extravars, the
credential's MCM_TOKEN in env/envvars), asserted on the runner's status and events, on what the nodes answer,
and on the token appearing nowhere in the job's output or artifacts."""

from __future__ import annotations

import json
import os
import shutil
import stat
import sys

import ansible_runner
import pytest

from rollout_helpers import ANSIBLE_PLAYBOOK, COLLECTIONS, ROOT, hello_tar
from mimoe_sim.testing import SimFleet, http_json

pytestmark = [pytest.mark.node, pytest.mark.npm, pytest.mark.ansible, pytest.mark.slow]

# One edge token for the fleet, as an AWX credential of the type in extensions/awx holds it.
TOKEN = 'awx-credential-token-3f9c2e7d51a84b06'
# A survey "password" answer: AWX passes it in the extra vars.
SECRET = 'survey-secret-value-8d2f61c0'
NODES = 2

# AWX's inventory: an executable script printing the inventory as JSON (`ansible-inventory --list` format).
INVENTORY_SCRIPT = '''#!%s
import json
print(json.dumps(%r))
'''


def write_private_data_dir(base, fleet, extravars):
    """The files AWX writes for a job before it calls ansible_runner.run()."""
    pdd = base / 'private_data_dir'
    shutil.copytree(os.path.join(ROOT, 'playbooks'), str(pdd / 'project' / 'playbooks'))
    hostvars = {node.name: {'mcm_url': node.url, 'ansible_connection': 'local'} for node in fleet.nodes}
    inventory = {'all': {'children': ['mimoe_nodes']}, 'mimoe_nodes': {'hosts': sorted(hostvars)},
                 '_meta': {'hostvars': hostvars}}
    (pdd / 'inventory').mkdir()
    script = pdd / 'inventory' / 'hosts'
    script.write_text(INVENTORY_SCRIPT % (sys.executable, inventory))
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    (pdd / 'env').mkdir()
    (pdd / 'env' / 'extravars').write_text(json.dumps(extravars))
    # PATH: the ansible-playbook of this virtualenv, as the execution environment's is on its PATH.
    envvars = {'MCM_TOKEN': TOKEN, 'ANSIBLE_COLLECTIONS_PATH': COLLECTIONS, 'ANSIBLE_NOCOLOR': '1',
               'PATH': os.path.dirname(ANSIBLE_PLAYBOOK) + os.pathsep + os.environ.get('PATH', os.defpath),
               'ANSIBLE_LOCAL_TEMP': str(base / 'ansible-tmp'), 'ANSIBLE_LOCALHOST_WARNING': 'False'}
    (pdd / 'env' / 'envvars').write_text(json.dumps(envvars))
    return str(pdd)


def test_rollout_through_ansible_runner_like_awx(tmp_path):
    image = hello_tar(tmp_path, '1.0.0')
    extravars = {'image_tar': image, 'mim_env': json.dumps({'MCM.BASE_API_PATH': '/hello/v1'}),
                 'mim_secret_env': json.dumps({'API_KEY': SECRET}),
                 'canary_count': 1, 'batch_size': '50%', 'mim_rollout_image_cache': str(tmp_path / 'cache'),
                 'mim_rollout_health_delay': 1}
    with SimFleet(NODES, api_key=TOKEN) as fleet:
        hosts = sorted(node.name for node in fleet.nodes)
        pdd = write_private_data_dir(tmp_path, fleet, extravars)
        runner = ansible_runner.run(private_data_dir=pdd, playbook='playbooks/rollout.yml', verbosity=3, quiet=True,
                                    timeout=300)
        stdout = runner.stdout.read()
        events = list(runner.events)

        assert (runner.status, runner.rc) == ('successful', 0), stdout[-4000:]

        kinds = [event['event'] for event in events]
        assert kinds.index('playbook_on_start') < kinds.index('playbook_on_stats')
        stats = next(event['event_data'] for event in events if event['event'] == 'playbook_on_stats')
        assert not stats['failures'] and not stats['dark'], stats
        # The custom stat a following AWX workflow node gets as an extra variable (the job's artifacts).
        artifact = stats['artifact_data']['mim_rollout_summary']
        assert artifact['counts']['upgraded'] == NODES and artifact['nodes'] == dict((h, 'upgraded') for h in hosts)
        for host in hosts:
            assert stats['ok'][host] > 0 and stats['changed'][host] > 0, stats
        ok_hosts = {event['event_data'].get('host') for event in events if event['event'] == 'runner_on_ok'}
        assert set(hosts) <= ok_hosts
        assert not [event for event in events if event['event'] in ('runner_on_failed', 'runner_on_unreachable')]
        # The plan (one play), then the survey's serial ramp over the nodes that need the release (all of them on a
        # first rollout): a canary batch of one node, then the other.
        plays = [event['event_data']['play'] for event in events if event['event'] == 'playbook_on_play_start']
        assert plays == ['Plan the rollout'] + ['Roll the mim out to the nodes that need it'] * NODES, plays

        # The mim runs the new version with the survey's secret env: the example mim then wants it as a bearer key.
        for node in fleet.nodes:
            version_url = node.url + '/api/hello/v1/version'
            assert http_json('GET', version_url, timeout=10)[0] == 401
            answer = http_json('GET', version_url, headers={'Authorization': 'Bearer ' + SECRET}, timeout=10)
            assert answer[0] == 200 and answer[1]['version'] == '1.0.0', answer

    # Nothing the job left behind holds the token or the secret answer: stdout, each event, every artifact file AWX
    # keeps (job_events, stdout, fact_cache, rc, status). `command` is ansible-runner's record of the process
    # environment, which is where the credential puts the token; AWX deletes the private data dir after the job.
    for secret in (TOKEN, SECRET):
        assert secret not in stdout
        assert not [event['uuid'] for event in events if secret in json.dumps(event)]
    artifacts = os.path.join(pdd, 'artifacts')
    leaked = []
    for directory, dummy, files in os.walk(artifacts):
        for name in files:
            if name == 'command' and os.path.dirname(directory) == artifacts:
                continue
            with open(os.path.join(directory, name), 'rb') as fh:
                content = fh.read()
                if TOKEN.encode() in content or SECRET.encode() in content:
                    leaked.append(os.path.relpath(os.path.join(directory, name), artifacts))
    assert not leaked
