# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""100 simulator nodes (a quarter on the legacy API) through ``ansible-inventory``. Asserts what it finds; the
wall clock time is printed (run with ``-s``) and documented in docs/inventory.md, never asserted."""

from __future__ import annotations

import time

import pytest
import yaml

from inventory_it import (
    deploy_mim, groups_of, image_bytes, inventory_list, parallel, plain, upload_image,
)
from mimoe_sim.testing import SimFleet

pytestmark = [pytest.mark.node, pytest.mark.ansible, pytest.mark.slow]

TOKEN = 'Scale-Fleet-Key-0b7e'


def test_100_nodes(tmp_path):
    with SimFleet(100, data_dir=str(tmp_path / 'fleet'), api_key=TOKEN, legacy_every=4) as fleet:
        images = {version: image_bytes('hello-v1', version) for version in ('1.0.0', '1.1.0')}

        def seed(node):
            number = int(node.name[4:])
            upload_image(node.url, TOKEN, images['1.1.0' if number % 3 == 0 else '1.0.0'])
            if number <= 10:  # a started mim is a Node.js process: 10 are enough to check the mims
                deploy_mim(node.url, TOKEN, node.api, 'hello-v1', 'hello-v1', {'MCM.BASE_API_PATH': '/hello/v1'})
        parallel(seed, fleet.nodes, workers=8)

        config = tmp_path / 'scale.mcm_nodes.yml'
        config.write_text(yaml.safe_dump({'plugin': 'mimoe.edge.mcm_nodes', 'nodes': [n.url for n in fleet.nodes],
                                          'max_workers': 16, 'keyed_groups': [{'key': 'mcm_api', 'prefix': 'api'}]}))
        started = time.monotonic()
        done = inventory_list([config], tmp_path, MCM_TOKEN=TOKEN)
        seconds = time.monotonic() - started
        print('\nansible-inventory --list of %d nodes: %.2fs' % (len(fleet.nodes), seconds))
        assert done.rc == 0, done.explain()

    groups = groups_of(done.data)
    hostvars = plain(done.data['_meta']['hostvars'])
    assert len(groups['mimoe_nodes']) == 100
    assert 'mcm_unreachable' not in groups
    assert len(groups['api_legacy']) == 25 and len(groups['api_current']) == 75
    for node in fleet.nodes:
        host = hostvars['127.0.0.1_%d' % node.port]
        number = int(node.name[4:])
        assert host['mcm_reachable'] is True
        assert [i['name'] for i in host['mcm_images']] == ['hello-v1']
        if node.api == 'current':
            assert host['mcm_images'][0]['version'] == ('1.1.0' if number % 3 == 0 else '1.0.0')
        assert [m['name'] for m in host['mcm_mims']] == (['hello-v1'] if number <= 10 else [])
