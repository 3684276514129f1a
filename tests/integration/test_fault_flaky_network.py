# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fault scenario 2: 20% of the MCM requests answered 503 or dropped, and the answers of the first upload, deploy
and datastore backup lost after the node applied them: the rollout completes through retries, and no write is
applied twice (per the simulator's record of how each request ended)."""

from __future__ import annotations

from fault_support import applied, assert_counter, assert_old_or_new

WRITES = ('POST /mcm/v1/images', 'POST /mcm/v1/mims', 'POST /mcm/v1/mims/{id}/dataStore')


def test_rollout_through_503s_and_dropped_connections_without_duplicate_writes(scenario):
    inventory = scenario.start_nodes('edge1', 'edge2')
    counters = scenario.install_v1_with_counters(inventory)
    for seed, node in enumerate(scenario.nodes.values(), start=7):
        node.set_faults(error_rate=0.1, drop_rate=0.1, seed=seed, drop_answer_once=list(WRITES))

    # One failed request in five: a flaky link, for which the operator raises the retries (3 by default).
    rc, out, _recap, report = scenario.rollout(inventory, 'v2', batch_size=2, mim_rollout_retries=8)
    assert rc == 0, out
    assert report['counts']['upgraded'] == 2, report

    faulted = 0
    for name, node in scenario.nodes.items():
        assert_old_or_new(node, '2.0.0')
        assert_counter(node, counters[name])
        outcomes = node.outcomes()
        # The upload and the deploy were applied exactly once, although the first answer of each was lost (the
        # client read the node, found them, and did not send them again).
        assert applied(outcomes, 'POST /mcm/v1/images') == 1, outcomes
        assert applied(outcomes, 'POST /mcm/v1/mims') == 1, outcomes
        # A backup and a restore. A datastore operation whose answer was lost is sent again unless the node shows
        # it still running (a finished one cannot be told from an older one); running a backup or a restore of
        # the same path twice has the effect of once (documented in docs/reliability.md).
        assert applied(outcomes, 'POST /mcm/v1/mims/{id}/dataStore') in (2, 3), outcomes
        for route in WRITES:
            assert outcomes[route].get('201 answer dropped', 0) + outcomes[route].get('200 answer dropped', 0) == 1, \
                (route, outcomes)
            assert '409' not in outcomes[route], (route, outcomes)  # never "already exists / already running"
        faulted += sum(count for route in outcomes.values() for outcome, count in route.items()
                       if outcome in ('503', 'dropped'))
    assert faulted > 0, 'the random faults should have hit some requests'
