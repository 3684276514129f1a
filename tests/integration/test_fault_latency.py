# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fault scenario 3: 500 ms of latency on every MCM call. With the default timeout the upgrade completes; with a
timeout shorter than the latency every node fails fast, untouched, with an error naming the timeout."""

from __future__ import annotations

from fault_support import assert_counter, assert_old_or_new


def test_latency_is_survived_and_a_too_short_timeout_fails_clearly(scenario):
    inventory = scenario.start_nodes('edge1')
    node = scenario.nodes['edge1']
    counters = scenario.install_v1_with_counters(inventory)
    node.set_faults(latency_ms=500)

    # A timeout shorter than the latency: the first read times out (retried, then given up), nothing written.
    rc, out, _recap, report = scenario.rollout(inventory, 'v2', mim_rollout_timeout=0.3)
    assert rc != 0, out
    result = report['nodes']['edge1']
    assert result['status'] == 'failed' and result['touched'] is False, result
    assert 'within the timeout of 0.3 seconds' in result['error'], result
    assert 'raise timeout' in out, out
    # Honoured: each attempt gave up after 0.3 s (the node answers after 0.5 s): the plan's one read (a plan never
    # retries: the node is then left to its release task), then 1 + 3 retries of the release's first read.
    assert node.outcomes()['GET /mcm/v1/mims'] == {'200': 5}, node.outcomes()
    assert node.stats()['write_requests'] == 0
    assert_old_or_new(node, '1.0.0')
    assert_counter(node, counters['edge1'])

    # The default timeout (30 s) rides out the latency: the upgrade completes with the data.
    rc, out, _recap, report = scenario.rollout(inventory, 'v2')
    assert rc == 0, out
    assert report['nodes']['edge1']['status'] == 'upgraded', report
    assert_old_or_new(node, '2.0.0')
    assert_counter(node, counters['edge1'])
    assert node.stats()['requests_total'] > 10  # every one of them slowed down by 0.5 s
