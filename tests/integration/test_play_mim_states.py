# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Replacing a used image (force), mim states (stopped/started) and removal, on both API generations."""

from __future__ import annotations

from mcm_it import HOSTS, SECRET, call_mim, counter_tar, image_task, mim_task


def test_replace_image_states_and_removal(both, tmp_path):
    nodes, ansible = both
    v1, v2 = counter_tar(tmp_path, version='1.0.0'), counter_tar(tmp_path, version='2.0.0')
    ansible.run([image_task(v1), mim_task()])

    replace = ansible.run([
        dict(image_task(v2), ignore_errors=True),
        dict(image_task(v2, force=True), ignore_errors=True),
    ])
    for host in HOSTS:
        refused = replace.host(host)[0]
        assert refused['_status'] == 'failed' and 'the mims counter-v1 use it' in refused['msg']
    forced_current, forced_legacy = replace.host('current')[1], replace.host('legacy')[1]
    assert forced_current['_status'] == 'ok' and forced_current['redeployed'] == ['counter-v1']
    assert forced_legacy['_status'] == 'failed' and 'legacy API does not return their env' in forced_legacy['msg']
    assert call_mim(nodes['current'], SECRET)['version'] == '2.0.0'
    assert call_mim(nodes['legacy'], SECRET)['version'] == '1.0.0'

    # The redeployed mim kept its spec; stopped is a legacy-only state, started brings it back.
    states = ansible.run([
        mim_task(),
        dict(mim_task(state='stopped'), ignore_errors=True),
        mim_task(state='started'),
    ])
    current, legacy = states.host('current'), states.host('legacy')
    assert not current[0]['changed'] and not legacy[0]['changed']
    assert current[1]['_status'] == 'failed' and 'no stop call' in current[1]['msg']
    assert legacy[1]['changed'] and legacy[1]['mim']['state'] == 'stopped'
    assert not current[2]['changed']
    assert legacy[2]['changed'] and legacy[2]['mim']['state'] == 'started'
    assert call_mim(nodes['legacy'], SECRET)['version'] == '1.0.0'

    # Removal, each task twice: the first changes, the second does not.
    mim_absent = {'name': 'mim absent', 'mimoe.edge.mcm_mim': {'name': 'counter-v1', 'state': 'absent'}}
    image_absent = {'name': 'image absent', 'mimoe.edge.mcm_image': {'name': 'counter-v1', 'state': 'absent'}}
    removal = ansible.run([mim_absent, mim_absent, image_absent, image_absent, {'mimoe.edge.mcm_info': {}}])
    for host in HOSTS:
        results = removal.host(host)
        assert [r['changed'] for r in results] == [True, False, True, False, False]
        assert results[4]['images'] == [] and results[4]['mims'] == []


def test_started_brings_a_crashed_mim_back(both, tmp_path):
    """A mim whose process died reads {"state": "stopped", "status": "crashed"}: state=started brings it back (a
    start on legacy, a redeploy on current), and the next run finds it running and healthy (changed=false)."""
    import time  # pylint: disable=import-outside-toplevel
    import requests  # pylint: disable=import-outside-toplevel
    nodes, ansible = both
    ansible.run([image_task(counter_tar(tmp_path, version='1.0.0')), mim_task()])
    for node in nodes.values():
        node.set_faults(crash_mims=['counter-v1'])  # the process exits on its next call (simulator fault)
        requests.get(node.url + '/api/counter/v1/', headers={'Authorization': 'Bearer ' + SECRET}, timeout=20)
        node.clear_faults()
    for node in nodes.values():
        deadline = time.time() + 20
        while time.time() < deadline:
            answer = requests.get(node.url + '/_sim/mims', timeout=10).json()['data']
            if answer and answer[0]['status'] == 'crashed':
                break
            time.sleep(0.2)
        assert answer[0]['state'] == 'stopped' and answer[0]['status'] == 'crashed', answer
    revived = ansible.run([mim_task(state='started'), mim_task(state='started')])
    for host in HOSTS:
        first, second = revived.host(host)
        assert first['changed'] and 'the mim is stopped' in ' '.join(first['reasons']), first  # legacy: no status
        assert first['mim']['state'] in ('started', 'running') and first['mim'].get('status') != 'crashed'
        assert not second['changed'], second
    for node in nodes.values():
        assert call_mim(node, SECRET)['version'] == '1.0.0'
