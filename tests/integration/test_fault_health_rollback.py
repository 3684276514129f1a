# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fault scenario 4: the new version crashes on its health check on a current-API node and on a legacy node; both
are rolled back automatically to 1.0.0, the current node with its datastore restored (legacy nodes have no
datastore API: their data is not backed up, a documented limit)."""

from __future__ import annotations

from fault_support import assert_counter, assert_old_or_new


def test_failed_health_check_rolls_back_with_the_datastore(scenario):
    scenario.start_nodes('edge1')
    inventory = scenario.start_nodes('edge2', api='legacy')
    counters = scenario.install_v1_with_counters(inventory)
    for node in scenario.nodes.values():
        node.set_faults(crash_mims=['hello-v1'])  # the mim's process dies on its next call: the health check

    rc, out, recap, report = scenario.rollout(inventory, 'v2', mim_rollout_health_retries=2)
    assert rc != 0, out
    assert report['counts']['rolled_back'] == 2, report
    for name, node in scenario.nodes.items():
        result = report['nodes'][name]
        assert result['status'] == 'rolled_back' and not result['rollback_error'], result
        assert 'health' in result['error'], result
        versions = ('1.0.0',) * 2 if name == 'edge1' else ('unknown',) * 2
        assert '%s hello-v1 %s -> 2.0.0 rolled back to %s' % ((name,) + versions) in out, out
        assert recap[name]['failed'] == 1
        node.clear_faults()
        assert_old_or_new(node, '1.0.0')
    current = scenario.nodes['edge1']
    assert report['nodes']['edge1']['api'] == 'current'
    assert_counter(current, counters['edge1'])
    outcomes = current.outcomes()
    assert outcomes['POST /mcm/v1/mims/{id}/dataStore'] == {'200': 3}  # backup, restore into v2, restore into v1
