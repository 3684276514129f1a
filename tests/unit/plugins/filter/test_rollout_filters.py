# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The filters of the mim_rollout role: serial batches as Ansible makes them, lines, batch state, table."""

from __future__ import annotations

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.mimoe.edge.plugins.plugin_utils._rollout import (
    rollout_batch,
    rollout_batch_state,
    rollout_line,
    rollout_table,
    serial_batches,
)

HOSTS = ['n%02d' % i for i in range(1, 21)]


@pytest.mark.parametrize('serial, total, sizes', [
    ([1, 5], 20, [1, 5, 5, 5, 4]),
    ([1, '5'], 20, [1, 5, 5, 5, 4]),
    ([1, '25%'], 20, [1, 5, 5, 5, 4]),
    (['10%', '50%'], 20, [2, 10, 8]),
    (0, 3, [3]),
    ([2, 100], 3, [2, 1]),
    (['1%'], 3, [1, 1, 1]),
])
def test_serial_batches_like_ansible(serial, total, sizes):
    assert serial_batches(serial, total) == sizes


def test_bad_serial_item():
    with pytest.raises(AnsibleFilterError):
        serial_batches(['many'], 3)


def test_batch_of_a_host():
    assert rollout_batch(HOSTS, 'n07', [1, 5]) == dict(number=3, count=5, hosts=HOSTS[6:11])
    assert rollout_batch(HOSTS, 'n01', ['1', 5])['number'] == 1


def report(statuses):
    return dict(image='hello-v1:1.0.0', counts={}, nodes=dict(
        (host, dict(host=host, status=status, summary='hello-v1 1.0.0 -> 2.0.0 %s' % status, from_version='1.0.0',
                    to_version='2.0.0', error='' if status in ('upgraded', 'unchanged') else 'deploy failed: x'))
        for host, status in statuses.items()))


def test_canary_gate_and_max_fail_percentage():
    batch = dict(number=1, count=3, hosts=['n01', 'n02'])
    state = rollout_batch_state(report({'n01': 'rolled_back', 'n02': 'upgraded'}), batch, ['n01', 'n02'], 50)
    assert state['failed_canaries'] == ['n01'] and state['stops'] and state['final']
    later = dict(number=2, count=3, hosts=['n03', 'n04'])
    state = rollout_batch_state(report({'n03': 'failed', 'n04': 'upgraded'}), later, ['n01', 'n02'], 50)
    assert not state['stops'] and not state['final'] and state['failed'] == ['n03']
    state = rollout_batch_state(report({'n03': 'failed', 'n04': 'upgraded'}), later, ['n01', 'n02'], 0)
    assert state['stops']
    # Every host of the batch failed: Ansible ends the play itself, the gate does not fail them again.
    state = rollout_batch_state(report({'n01': 'failed'}), dict(number=1, count=2, hosts=['n01']), ['n01'])
    assert state['failed_canaries'] == [] and state['stops']


def test_line_and_table():
    rep = report({'n01': 'upgraded', 'n02': 'rolled_back'})
    rep['counts'] = {'upgraded': 1, 'rolled_back': 1, 'not_reached': 1}
    assert rollout_line(rep['nodes']['n01'], 'n01') == 'n01 hello-v1 1.0.0 -> 2.0.0 upgraded'
    assert rollout_line(None, 'n03') == 'n03 not reached'
    table = rollout_table(rep, ['n01', 'n02', 'n03'])
    assert table[0].split() == ['node', 'status', 'from', 'to', 'note']
    assert 'rolled back' in table[2] and 'deploy failed' in table[2] and 'not reached' in table[3]
    assert table[-1] == 'upgraded 1, rolled back 1, not reached 1'
