# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fault scenario 1: a node SIGKILLed in the middle of the image upload of an upgrade, then restarted; the re-run,
from a controller that kept nothing (no journal), resumes the unfinished upgrade from what the node shows and
converges, with the mim's data restored."""

from __future__ import annotations

from fault_support import assert_counter, assert_old_or_new, mim


def test_sigkill_mid_upload_then_restart_and_rerun_converges(scenario):
    inventory = scenario.start_nodes('edge1')
    node = scenario.nodes['edge1']
    counters = scenario.install_v1_with_counters(inventory)

    # The node reads half of the 2.0.0 upload, then dies (SIGKILL, like a power cut).
    node.set_faults(kill_mid_upload=True)
    rc, out, recap, report = scenario.rollout(inventory, 'v2')
    assert rc != 0, out
    assert node.proc.poll() is not None, 'the node should have been killed during the upload'
    result = report['nodes']['edge1']
    assert result['status'] == 'failed' and result['touched'] is True, result
    assert 'upload_image' in result['error'], result
    assert result['rollback_error'], result  # the node was down: nothing could be rolled back
    # The failure says where the node stands and what a re-run does (issue 15).
    assert 'the node is between 1.0.0 and 2.0.0' in out and 'Re-running the rollout resumes this node' in out, out[-3000:]
    assert recap['edge1']['failed'] == 1
    assert 'edge1 hello-v1 1.0.0 -> 2.0.0 failed at upload_image, rollback failed' in out, out

    # Back up: it lost the mim (removed before the upload) but kept its previous image whole (an upload replaces an
    # image atomically, and the previous one stays until the new one is stored).
    node.kill()
    node.start()
    status, images = node.mcm('GET', '/images')
    assert status == 200 and [i['repoTags'] for i in images['data']] == [['hello-v1:1.0.0']], images
    assert mim(node, '/version')[0] == 404

    # Resumed from what the node shows (no journal: nothing but the archive cache, which a registry replaces).
    rc, out, recap, report = scenario.rollout(inventory, 'v2')
    assert rc == 0, out
    result = report['nodes']['edge1']
    assert result['status'] == 'upgraded' and result['resumed'] is True, result
    assert result['from_version'] == '1.0.0' and result['backup'], result
    assert_old_or_new(node, '2.0.0')
    assert_counter(node, counters['edge1'])
    assert node.outcomes()['POST /mcm/v1/images'] == {'201': 1}

    # Converged: a third run changes nothing and uploads nothing.
    node.reset_stats()
    rc, out, recap, report = scenario.rollout(inventory, 'v2')
    assert rc == 0, out
    assert report['nodes']['edge1']['status'] == 'unchanged' and recap['edge1']['changed'] == 0, out
    assert node.stats()['write_requests'] == 0
