# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""mcm_prune through ansible-playbook against a current and a legacy simulator node: prune unused images (check
mode, diff, bytes freed, idempotent), then purge the mims selected by name and their images."""

from __future__ import annotations

from mcm_it import counter_tar, image_task, mim_task, write_requests


def node_names(node):
    """(image names, mim names) as the node lists them (legacy: /containers)."""
    listed = [node.mcm('GET', path) for path in ('/images', '/mims', '/containers')]
    images, mims = listed[0][1]['data'], (listed[1] if listed[1][0] == 200 else listed[2])[1]['data']
    return sorted(i['name'] for i in images), sorted(m['name'] for m in mims)


def test_prune_then_purge(both, tmp_path):
    nodes, ansible = both
    used = counter_tar(tmp_path)
    unused = counter_tar(tmp_path, name='old-v1')
    other = counter_tar(tmp_path, name='spare-v1')
    setup = ansible.run([image_task(used), image_task(unused), image_task(other), mim_task()])
    assert setup.rc == 0, setup.explain()

    prune = {'name': 'prune', 'mimoe.edge.mcm_prune': {'filters': {'keep': ['spare-*']}}}
    for node in nodes.values():
        node.reset_stats()
    check = ansible.run([prune], check=True, diff=True)
    for host, node in nodes.items():
        result = check.host(host)[0]
        assert result['changed'] and result['images'] == ['old-v1'] and result['mims'] == []
        assert result['actions'] == ['removed image old-v1']
        assert result['diff']['after']['images'] == ['counter-v1', 'spare-v1']
        assert write_requests(node.stats()) == 0

    real = ansible.run([prune, dict(prune, name='again')], diff=True)
    for host, node in nodes.items():
        first, again = real.host(host)
        assert first['changed'] and first['images'] == ['old-v1'], first
        assert first['bytes_freed'] and first['bytes_freed'] > 0
        assert not again['changed'] and again['images'] == [] and again['actions'] == []
        assert node_names(node) == (['counter-v1', 'spare-v1'], ['counter-v1'])

    purge = {'name': 'purge', 'mimoe.edge.mcm_prune': {'mims': True, 'mims_filters': {'name': ['counter-*']}}}
    purged = ansible.run([purge, dict(purge, name='purge again')], diff=True)
    for host, node in nodes.items():
        first, again = purged.host(host)
        assert first['mims'] == ['counter-v1'] and first['images'] == ['counter-v1'], first
        assert first['actions'] == ['removed mim counter-v1', 'removed image counter-v1']
        assert not again['changed']
        # spare-v1 is unused but not the purge's: a purge takes only the images of the mims it removed.
        assert node_names(node) == (['spare-v1'], [])
