# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""playbooks/rollout.yml (the mimoe.edge.mim_rollout role) against simulator nodes: real ansible-playbook runs,
asserted through the role's JSON report and the simulator's /_sim/stats counters."""

from __future__ import annotations

import threading
import time

import pytest

from rollout_helpers import hello_tar, run_rollout, write_inventory
from mimoe_sim.testing import SimFleet, SimNode, http_json

pytestmark = [pytest.mark.node, pytest.mark.npm, pytest.mark.ansible]

HELLO_ENV = {'MCM.BASE_API_PATH': '/hello/v1'}


@pytest.fixture
def tars(tmp_path):
    """hello-v1 archives 1.0.0 and 2.0.0 (no npm), and a private image cache and work dir."""
    (tmp_path / 'work').mkdir()
    return {'v1': hello_tar(tmp_path, '1.0.0'), 'v2': hello_tar(tmp_path, '2.0.0'),
            'cache': str(tmp_path / 'cache'), 'work': str(tmp_path / 'work')}


def rollout(inventory, tars, image, **extra):
    extra.setdefault('mim_env', HELLO_ENV)
    extra.setdefault('mim_rollout_image_cache', tars['cache'])
    extra.setdefault('mim_rollout_health_delay', 1)
    return run_rollout(inventory, tars['work'], dict(extra, image_tar=tars[image]))


def call(url, path, method='GET'):
    return http_json(method, url + '/api/hello/v1' + path, timeout=10)


def stats(url):
    return http_json('GET', url + '/_sim/stats')[1]


def reset_stats(url):
    http_json('POST', url + '/_sim/stats/reset')


def test_rollout_to_five_nodes_idempotent_then_upgrade_keeps_counters(tars):
    """(1) v1 to 5 nodes (one legacy), a re-run changes and uploads nothing; (2) v1 -> v2 keeps each mim's
    stored counter on the current-API nodes (the legacy API has no datastore call: documented limit)."""
    with SimFleet(5, legacy_every=4) as fleet:
        rc, out, recap, report = rollout(fleet.inventory_path, tars, 'v1', batch_size=4)
        assert rc == 0, out
        assert report['counts'] == {'upgraded': 5, 'unchanged': 0, 'rolled_back': 0, 'failed': 0,
                                    'not_reached': 0}, out
        assert {n['api'] for n in report['nodes'].values()} == {'current', 'legacy'}
        for node in fleet.nodes:
            assert call(node.url, '/version') == (200, {'name': 'hello', 'version': '1.0.0'})
            assert stats(node.url)['by_endpoint']['POST /mcm/v1/images']['requests'] == 1
            reset_stats(node.url)

        rc, out, recap, report = rollout(fleet.inventory_path, tars, 'v1', batch_size=4)
        assert rc == 0, out
        # The plan read every node once and found each on the release: no release task ran, the rollout play had no
        # host, and the plan's table is the summary.
        assert all(counters['changed'] == 0 for counters in recap.values()), out
        assert report['counts']['unchanged'] == 5, report
        # The legacy node names no version; its verified image is the release's content, so its version too.
        assert {n['from_version'] for n in report['nodes'].values()} == {'1.0.0'}, report
        assert 'plan: 5 of 5 nodes already run hello-v1:1.0.0, 0 to release' in out, out
        assert 'Release on this node' not in out and 'summary of hello-v1:1.0.0' in out, out
        for index, node in enumerate(fleet.nodes):
            node_stats = stats(node.url)
            assert node_stats['bytes_uploaded'] == 0, node_stats
            assert node_stats['write_requests'] == 0, node_stats
            for _i in range(index + 2):
                assert call(node.url, '/counter', 'POST')[0] == 200

        rc, out, recap, report = rollout(fleet.inventory_path, tars, 'v2', batch_size=4)
        assert rc == 0, out
        assert report['counts']['upgraded'] == 5, report
        for index, node in enumerate(fleet.nodes):
            result = report['nodes'][node.name]
            assert result['to_version'] == '2.0.0'
            assert call(node.url, '/version') == (200, {'name': 'hello', 'version': '2.0.0'})
            if node.api == 'current':
                assert result['from_version'] == '1.0.0' and result['backup'], result
                assert call(node.url, '/counter') == (200, {'counter': index + 2})
            else:
                assert not result['backup'], result


def test_failing_canary_is_rolled_back_and_stops_the_rollout(tars):
    with SimFleet(3) as fleet:
        canary, others = fleet.nodes[0], fleet.nodes[1:]
        rc, out, _recap, _report = rollout(fleet.inventory_path, tars, 'v1')
        assert rc == 0, out
        for _i in range(3):
            call(canary.url, '/counter', 'POST')
        for node in fleet.nodes:
            reset_stats(node.url)

        rc, out, recap, report = rollout(fleet.inventory_path, tars, 'v2', mim_rollout_health_retries=2,
                                         mim_env=dict(HELLO_ENV, HEALTH_FAIL='true'))
        assert rc != 0, out
        assert '%s hello-v1 1.0.0 -> 2.0.0 rolled back to 1.0.0' % canary.name in out, out
        assert 'batch 1/2' in out and 'not reached' in out, out
        assert report['counts'] == {'upgraded': 0, 'unchanged': 0, 'rolled_back': 1, 'failed': 0,
                                    'not_reached': 2}, report
        result = report['nodes'][canary.name]
        assert result['status'] == 'rolled_back' and 'health' in result['error'] and not result['rollback_error']
        assert recap[canary.name]['failed'] == 1
        # The canary runs v1 again, with its data; it did get v2 for a while.
        assert call(canary.url, '/version') == (200, {'name': 'hello', 'version': '1.0.0'})
        assert call(canary.url, '/counter') == (200, {'counter': 3})
        assert call(canary.url, '/healthcheck')[0] == 200
        assert stats(canary.url)['by_endpoint']['POST /mcm/v1/images']['requests'] == 2
        for node in others:
            assert node.name not in recap
            assert stats(node.url)['write_requests'] == 0
            assert call(node.url, '/version') == (200, {'name': 'hello', 'version': '1.0.0'})


def test_canary_gate_with_two_canaries(tars):
    with SimFleet(4) as fleet:
        rc, out, _recap, _report = rollout(fleet.inventory_path, tars, 'v1', batch_size=2)
        assert rc == 0, out
        # The first canary's mim crashes on its first call (the health check) after the upgrade; the second
        # canary is fine, so max_fail_percentage=50 alone would let the rollout go on: the gate must stop it.
        http_json('PUT', fleet.nodes[0].url + '/_sim/faults', {'crash_mims': ['hello-v1']})
        for node in fleet.nodes:
            reset_stats(node.url)
        # max_fail_percentage: the earlier name of rollout_max_fail_percentage, still read.
        rc, out, recap, report = rollout(fleet.inventory_path, tars, 'v2', canary_count=2, batch_size=2,
                                         max_fail_percentage=50, mim_rollout_health_retries=2)
        assert rc != 0, out
        assert 'canary node(s) %s failed' % fleet.nodes[0].name in out, out
        assert report['nodes'][fleet.nodes[0].name]['status'] == 'rolled_back', report
        assert report['nodes'][fleet.nodes[1].name]['status'] == 'upgraded', report
        for node in fleet.nodes[2:]:
            assert node.name not in report['nodes'] and node.name not in recap
            assert stats(node.url)['write_requests'] == 0
            assert call(node.url, '/version')[1]['version'] == '1.0.0'


def test_node_killed_mid_batch_then_rerun_converges(tars, tmp_path):
    nodes = {'edge%d' % i: SimNode(data_dir=str(tmp_path / ('edge%d' % i)), datastore_delay=0.01).start()
             for i in range(1, 5)}
    try:
        inventory = write_inventory(tmp_path / 'inventory.yml', nodes)
        victim = nodes['edge3']
        rc, out, _recap, _report = rollout(inventory, tars, 'v1', batch_size=3)
        assert rc == 0, out

        # Slow the victim's API down, and kill it as soon as the v2 rollout reached it (its first MCM call).
        reset_stats(victim.url)
        victim.set_faults(latency_ms=700)
        killed = threading.Event()

        def kill_when_reached():
            deadline = time.time() + 90
            while time.time() < deadline:
                if stats(victim.url)['requests_total'] > 0:
                    time.sleep(0.3)
                    victim.kill()
                    killed.set()
                    return
                time.sleep(0.05)

        killer = threading.Thread(target=kill_when_reached, daemon=True)
        killer.start()
        rc, out, recap, report = rollout(inventory, tars, 'v2', batch_size=3, rollout_max_fail_percentage=50)
        killer.join(5)
        assert killed.is_set(), out
        assert rc != 0, out
        assert recap['edge3']['failed'] == 1, out
        assert report['nodes']['edge3']['status'] == 'failed', report
        for name in ('edge1', 'edge2', 'edge4'):
            assert report['nodes'][name]['status'] == 'upgraded', report
            assert call(nodes[name].url, '/version')[1]['version'] == '2.0.0'

        victim.start()
        rc, out, recap, report = rollout(inventory, tars, 'v2', batch_size=3)
        assert rc == 0, out
        assert report['nodes']['edge3']['status'] == 'upgraded', report
        assert all(report['nodes'][n]['status'] == 'unchanged' for n in ('edge1', 'edge2', 'edge4')), report
        assert recap['edge1']['changed'] == 0
        assert call(victim.url, '/version') == (200, {'name': 'hello', 'version': '2.0.0'})
    finally:
        for node in nodes.values():
            node.close()


def test_bad_input_and_uncached_previous_image_touch_nothing(tars, tmp_path):
    with SimNode(data_dir=str(tmp_path / 'edge1'), datastore_delay=0.01) as node:
        inventory = write_inventory(tmp_path / 'inventory.yml', {'edge1': node})
        rc, out, _recap, _report = rollout(inventory, tars, 'v1')
        assert rc == 0, out
        reset_stats(node.url)

        # Bad role input: the argument spec stops the play before any call.
        rc, out, _recap, report = rollout(inventory, tars, 'v2', mim_rollout_health_retries='many')
        assert rc != 0 and 'mim_rollout_health_retries' in out, out
        assert report is None
        assert stats(node.url)['requests_total'] == 0

        # The node's current image is neither in this (empty) cache nor in a registry: no rollback possible, so the
        # node is not touched.
        rc, out, _recap, report = rollout(inventory, tars, 'v2', mim_rollout_image_cache=str(tmp_path / 'empty'))
        assert rc != 0, out
        assert report['nodes']['edge1']['status'] == 'failed', report
        assert 'neither in the cache' in report['nodes']['edge1']['error'], report
        assert report['nodes']['edge1']['touched'] is False
        assert stats(node.url)['write_requests'] == 0
        assert call(node.url, '/version')[1]['version'] == '1.0.0'
