# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fault scenario (issue 15): 15 % of every MCM call answered HTTP 500. Reads are retried on any 5xx and a write
answered 500 is sent again once the node shows it did not apply, so an upgrade and a rollback both go through:
every node ends on the old or the new release with its data, never with no mim at all."""

from __future__ import annotations

from fault_support import assert_counter, assert_old_or_new


def _faulted(node):
    return sum(count for route in node.outcomes().values() for outcome, count in route.items() if outcome == '500')


def test_upgrade_and_rollback_under_15_percent_http_500(scenario):
    inventory = scenario.start_nodes('edge1', 'edge2')
    counters = scenario.install_v1_with_counters(inventory)

    # The rollback path under 500s: the new release fails its health check on every node.
    for seed, node in enumerate(scenario.nodes.values(), start=41):
        node.set_faults(error_rate=0.15, error_status=500, seed=seed, crash_mims=['hello-v1'])
    rc, out, _recap, report = scenario.rollout(inventory, 'v2', batch_size=2, mim_rollout_health_retries=2)
    assert rc != 0, out
    for name, node in scenario.nodes.items():
        result = report['nodes'][name]
        assert result['status'] == 'rolled_back' and not result['rollback_error'], (result, out[-3000:])
        assert _faulted(node) > 0
        node.clear_faults()
        assert_old_or_new(node, '1.0.0')
        assert_counter(node, counters[name])

    # Then the upgrade: each node ends on 2.0.0, or (if a call failed through every retry) rolled back to 1.0.0.
    for seed, node in enumerate(scenario.nodes.values(), start=31):
        node.set_faults(error_rate=0.15, error_status=500, seed=seed)
    _rc, out, _recap, report = scenario.rollout(inventory, 'v2', batch_size=2)
    for name, node in scenario.nodes.items():
        assert report['nodes'][name]['status'] in ('upgraded', 'rolled_back'), (report['nodes'][name], out[-3000:])
        assert not report['nodes'][name].get('rollback_error'), report['nodes'][name]
        assert _faulted(node) > 0, 'the faults should have hit some requests'
        node.clear_faults()
        version = assert_old_or_new(node)
        assert version == {'upgraded': '2.0.0', 'rolled_back': '1.0.0'}[report['nodes'][name]['status']]
        assert_counter(node, counters[name])
