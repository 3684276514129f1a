# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Inventory-driven update: ``playbooks/rollout.yml --limit mim_hello_v1_1_2_0`` with the mcm_nodes inventory
upgrades exactly the nodes of that keyed group; the others get no write (the simulator's /_sim/stats)."""

from __future__ import annotations

import os

import pytest
import yaml

from inventory_it import (
    ANSIBLE_PLAYBOOK, HELLO_ENV, ROOT, deploy_mim, groups_of, inventory_list, parallel, reset_stats, run, stats,
    upload_image, vault_value,
)
from rollout_helpers import hello_tar
from mimoe_sim.testing import SimFleet, http_json

pytestmark = [pytest.mark.node, pytest.mark.npm, pytest.mark.ansible]

TOKEN = 'Limit-Fleet-Key-91c0'


def test_limit_to_keyed_group_upgrades_only_those_nodes(tmp_path):
    (tmp_path / 'vault-pass').write_text('h6-limit-password\n')
    old, new = hello_tar(tmp_path, '1.2.0'), hello_tar(tmp_path, '1.3.0')
    with open(old, 'rb') as fh:
        old_bytes = fh.read()
    with open(new, 'rb') as fh:
        new_bytes = fh.read()

    with SimFleet(6, data_dir=str(tmp_path / 'fleet'), api_key=TOKEN) as fleet:
        def seed(node):
            outdated = int(node.name[4:]) % 2 == 1  # node001, node003, node005
            upload_image(node.url, TOKEN, old_bytes if outdated else new_bytes)
            deploy_mim(node.url, TOKEN, 'current', 'hello-v1', 'hello-v1', HELLO_ENV)
        parallel(seed, fleet.nodes)
        names = {'127.0.0.1_%d' % n.port: n for n in fleet.nodes}
        outdated = sorted('127.0.0.1_%d' % n.port for n in fleet.nodes if int(n.name[4:]) % 2 == 1)

        # The inventory directory a user keeps: the plugin configuration, and the playbooks' token in a vault
        # encrypted group_vars file (the plugin never puts tokens in hostvars).
        inventory = tmp_path / 'inventory'
        (inventory / 'group_vars').mkdir(parents=True)
        token_block = vault_value(TOKEN, tmp_path / 'vault-pass', tmp_path).replace('\n', '\n  ')
        (inventory / 'group_vars' / 'mimoe_nodes.yml').write_text('mcm_token: %s\n' % token_block)
        config = inventory / 'fleet.mcm_nodes.yml'
        config.write_text(yaml.safe_dump({
            'plugin': 'mimoe.edge.mcm_nodes', 'nodes': [n.url for n in fleet.nodes],
            'keyed_groups': [{'key': 'mcm_mim_versions', 'prefix': 'mim'}],
            # The play's inventory comes from this cache: the nodes outside the limit get no request at all.
            'cache': True, 'cache_plugin': 'ansible.builtin.jsonfile', 'cache_connection': str(tmp_path / 'cache-inv'),
        }) + 'token: %s\n' % token_block)
        vault_args = ['--vault-password-file', str(tmp_path / 'vault-pass')]

        before = inventory_list([config], tmp_path, vault_args)
        assert before.rc == 0, before.explain()
        assert groups_of(before.data)['mim_hello_v1_1_2_0'] == outdated

        reset_stats([n.url for n in fleet.nodes])
        done = run([ANSIBLE_PLAYBOOK, '-i', str(config)] + vault_args + [
            os.path.join(ROOT, 'playbooks', 'rollout.yml'), '--limit', 'mim_hello_v1_1_2_0',
            '-e', 'image_tar=%s' % new, '-e', 'mim_rollout_image_cache=%s' % (tmp_path / 'cache'),
            '-e', 'mim_rollout_allow_no_rollback=true', '-e', 'canary_count=3'], tmp_path)
        assert done.rc == 0, done.explain()
        assert TOKEN not in done.stdout + done.stderr

        for name, node in names.items():
            node_stats = stats(node.url)
            status, answer = http_json('GET', node.url + '/api/hello/v1/version', timeout=10)
            assert status == 200, answer
            assert answer['version'] == '1.3.0'
            if name in outdated:
                assert node_stats['write_requests'] > 0 and node_stats['bytes_uploaded'] > 0
            else:
                # Not in the limit: not a single request (the play's inventory came from the cache)
                assert node_stats['requests_total'] == 0, (name, node_stats)

        after = inventory_list([config], tmp_path, vault_args + ['--flush-cache'])
        assert after.rc == 0, after.explain()
        groups = groups_of(after.data)
        assert 'mim_hello_v1_1_2_0' not in groups
        assert groups['mim_hello_v1_1_3_0'] == sorted(names)
