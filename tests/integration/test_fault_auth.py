# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fault scenario 5: a wrong MCM API key, an expired edge access token, and a token without the scope edge:mcm.
Every node fails with the node's 403 message and a hint naming mcm_token and edge:mcm; nothing is changed."""

from __future__ import annotations

from fault_support import assert_counter, assert_old_or_new


def test_bad_tokens_fail_clearly_and_change_nothing(scenario):
    inventory = scenario.start_nodes('wrongkey', 'expired', 'noscope')
    counters = scenario.install_v1_with_counters(inventory)
    nodes = scenario.nodes
    tokens = {
        'wrongkey': 'not-the-key-of-this-node',
        'expired': nodes['expired'].token(expired=True),
        'noscope': nodes['noscope'].token(scope='edge:read'),
    }
    expected = {
        'wrongkey': 'invalid edgeAccessToken',
        'expired': 'jwt expired',
        'noscope': 'insufficient scope, edge:mcm is required',
    }
    rc, out, recap, report = scenario.rollout(scenario.inventory(tokens), 'v2')
    assert rc != 0, out
    assert report['counts']['failed'] == 3, report
    for name, node in nodes.items():
        result = report['nodes'][name]
        assert result['status'] == 'failed' and result['touched'] is False, result
        assert 'answered 403' in result['error'] and expected[name] in result['error'], result
        assert 'mcm_token' in result['error'] and 'edge:mcm' in result['error'], result
        assert tokens[name] not in out
        assert recap[name]['failed'] == 1
        assert node.stats()['write_requests'] == 0
        assert_old_or_new(node, '1.0.0')
        assert_counter(node, counters[name])
