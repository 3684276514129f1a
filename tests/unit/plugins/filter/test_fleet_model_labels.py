# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Issue 18 item 3: the fleet report shows the mims' labels, from the inventory plugin or from mcm_info."""

from __future__ import annotations

from ansible_collections.mimoe.edge.plugins.filter.fleet_model import fleet_model
from ansible_collections.mimoe.edge.plugins.module_utils._markers import LABELS_KEY, encode_labels


def test_labels_per_cell_and_per_node():
    hv = {
        'inv': {'mcm_url': 'http://a:8083', 'mcm_api': 'current', 'mcm_reachable': True, 'mcm_images': [],
                'mcm_mims': [{'name': 'web', 'image': 'web', 'version': '1', 'version_source': 'repo_tag',
                              'digest': None, 'state': 'started', 'status': 'up',
                              'labels': {'tier': 'web', 'ring': 'canary'}},
                             {'name': 'old', 'image': 'old', 'version': '1', 'state': 'started'}]},
        'info': {'fleet_report_info': {'api_version': 'current', 'images': [], 'mims': [
            {'name': 'web', 'image': 'web', 'state': 'started', 'status': 'up', 'labels': {'tier': 'web'}},
            {'name': 'raw', 'image': 'raw', 'state': 'started', 'status': 'up',
             'env': {LABELS_KEY: encode_labels({'team': 'a'})}}]}},
        'down': {'mcm_reachable': False, 'mcm_mims': [], 'mcm_unreachable_reason': 'refused'},
    }
    report = fleet_model(list(hv), hv, {}, 'T', generated='x')
    nodes = dict((n['name'], n) for n in report['nodes'])
    assert nodes['inv']['mims']['web']['labels'] == {'tier': 'web', 'ring': 'canary'}
    assert nodes['inv']['mims']['old']['labels'] == {}
    assert nodes['inv']['labels'] == ['ring=canary', 'tier=web']
    assert nodes['info']['labels'] == ['team=a', 'tier=web']
    assert nodes['down']['labels'] == []
    missing = fleet_model(['inv'], hv, {'gone': '1'}, 'T', generated='x')['nodes'][0]['mims']['gone']
    assert missing['labels'] == {}
