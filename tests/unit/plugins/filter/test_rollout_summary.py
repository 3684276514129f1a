# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""rollout_summary: the end of one serial batch computed once (the report so far, lines, gate, table)."""

from __future__ import annotations

from ansible_collections.mimoe.edge.plugins.plugin_utils._rollout import rollout_plan_report, rollout_stats, rollout_summary

HOSTS = ['n%02d' % i for i in range(1, 8)]


def result(status, old='1.0.0', new='1.1.0'):
    return {'status': status, 'summary': 'hello-v1 %s -> %s %s' % (old, new, status),
            'from': {'version': old}, 'to': {'version': new, 'revision': 2}}


def test_batches_accumulate_and_the_last_one_prints_the_table():
    first = rollout_summary(None, {'n01': result('upgraded')}, HOSTS, ['n01'], [1, 3], 1, 0, True, 'hello-v1:1.1.0')
    assert first['lines'] == ['batch 1/3', 'n01 hello-v1 1.0.0 -> 1.1.0 upgraded']
    assert not first['final'] and not first['stops']
    assert first['report']['counts']['upgraded'] == 1 and first['report']['counts']['not_reached'] == 6
    second = rollout_summary(first['report'], dict((h, result('unchanged')) for h in HOSTS[1:4]), HOSTS,
                             HOSTS[1:4], [1, 3], 1, 0, True, 'hello-v1:1.1.0')
    assert second['batch'] == {'number': 2, 'count': 3}
    assert second['report']['counts'] == {'upgraded': 1, 'unchanged': 3, 'rolled_back': 0, 'failed': 0,
                                          'not_reached': 3}
    third = rollout_summary(second['report'], dict((h, result('upgraded')) for h in HOSTS[4:]), HOSTS, HOSTS[4:],
                            [1, 3], 1, 0, True, 'hello-v1:1.1.0')
    assert third['final'] and 'summary of hello-v1:1.1.0' in third['lines']
    table = third['lines'][third['lines'].index('summary of hello-v1:1.1.0') + 1:]
    assert len(table) == 1 + len(HOSTS) + 1 and table[-1] == 'upgraded 4, unchanged 3'


def test_a_failed_canary_stops_the_run_with_the_table_and_hosts_not_reached():
    summary = rollout_summary(None, {'n01': result('rolled_back'), 'n02': result('upgraded')}, HOSTS, ['n01', 'n02'],
                              [2, 5], 2, 0, True, 'x')
    assert summary['failed_canaries'] == ['n01'] and summary['stops'] and summary['final']
    assert any(line.startswith('n07') and 'not reached' in line for line in summary['lines'])
    assert summary['lines'][-1].startswith('mim_rollout: canary node(s) n01 failed')


def test_a_report_of_an_earlier_run_is_never_mixed_in():
    stale = rollout_summary(None, dict((h, result('failed')) for h in HOSTS), HOSTS, HOSTS, [7], 1, 100, False, 'x')
    fresh = rollout_summary(stale['report'], {'n01': result('unchanged')}, HOSTS, ['n01'], [1, 6], 1, 0, True, 'x')
    assert fresh['report']['counts']['failed'] == 0 and fresh['report']['counts']['not_reached'] == 6


def test_a_host_without_a_result_is_not_reached_and_counts_as_failed_in_its_batch():
    summary = rollout_summary(None, {'n01': None}, HOSTS, ['n01'], [1, 6], 1, 0, True, 'x')
    assert summary['lines'] == ['batch 1/2', 'n01 not reached'] + summary['lines'][2:]
    assert summary['failed'] == ['n01'] and summary['stops']


def test_the_plan_reports_the_unchanged_nodes_and_names_the_others():
    plan = rollout_plan_report({'n01': result('unchanged', '1.1.0'), 'n03': result('unchanged', '1.1.0')}, HOSTS,
                               'hello-v1:1.1.0')
    assert plan['unchanged'] == ['n01', 'n03'] and plan['pending'] == ['n02'] + HOSTS[3:]
    assert plan['lines'][0] == 'plan: 2 of 7 nodes already run hello-v1:1.1.0, 5 to release: n02, n04, n05, n06, n07'
    assert plan['lines'][1:] == ['n01 hello-v1 1.1.0 -> 1.1.0 unchanged', 'n03 hello-v1 1.1.0 -> 1.1.0 unchanged']
    assert plan['report']['counts'] == {'upgraded': 0, 'unchanged': 2, 'rolled_back': 0, 'failed': 0,
                                        'not_reached': 5}


def test_a_plan_where_nothing_is_pending_is_the_whole_summary():
    plan = rollout_plan_report(dict((h, result('unchanged')) for h in HOSTS), HOSTS, 'x')
    assert plan['pending'] == [] and 'summary of x' in plan['lines']
    assert plan['lines'][-1] == 'unchanged 7'


def test_a_plan_names_ten_pending_hosts_at_most():
    hosts = ['h%02d' % i for i in range(12)]
    line = rollout_plan_report({}, hosts, 'x')['lines'][0]
    assert line.endswith(': h00, h01, h02, h03, h04, h05, h06, h07, h08, h09, ...'), line


def test_with_a_plan_the_batches_are_the_pending_nodes_and_the_report_every_planned_one():
    plan = rollout_plan_report({'n01': result('unchanged', '1.1.0'), 'n02': result('unchanged', '1.1.0')}, HOSTS, 'x')
    pending = plan['pending']  # the hosts of the rollout play
    first = rollout_summary(plan['report'], {'n03': result('upgraded')}, pending, ['n03'], [1, '100%'], 1, 0, True,
                            'x', plan=plan)
    assert first['batch'] == {'number': 1, 'count': 2} and not first['final']
    assert first['report']['nodes']['n03']['canary'] and first['report']['counts']['unchanged'] == 2
    last = rollout_summary(first['report'], dict((h, result('upgraded')) for h in pending[1:]), pending, pending[1:],
                           [1, '100%'], 1, 0, True, 'x', plan=plan)
    assert last['final'] and last['report']['counts'] == {'upgraded': 5, 'unchanged': 2, 'rolled_back': 0,
                                                          'failed': 0, 'not_reached': 0}
    table = last['lines'][last['lines'].index('summary of x') + 1:]
    assert [row.split()[0] for row in table[1:-1]] == HOSTS, table


def test_a_plan_that_does_not_cover_the_play_is_ignored():
    plan = rollout_plan_report({'n01': result('unchanged')}, HOSTS[:2], 'x')
    summary = rollout_summary(None, {'n05': result('upgraded')}, HOSTS, ['n05'], [1, 6], 1, 0, True, 'x', plan=plan)
    assert 'n01' not in summary['report']['nodes'] and summary['report']['counts']['not_reached'] == 6


def test_the_custom_stat_is_compact_and_set_for_the_whole_run():
    summary = rollout_summary(None, {'n01': result('upgraded')}, HOSTS, ['n01'], [1, 6], 1, 0, True, 'hello-v1:1.1.0')
    stats = rollout_stats(summary['report'])
    assert stats['per_host'] is False and stats['aggregate'] is False
    assert stats['data'] == {'mim_rollout_summary': {'image': 'hello-v1:1.1.0', 'counts': summary['report']['counts'],
                                                     'nodes': {'n01': 'upgraded'}}}
