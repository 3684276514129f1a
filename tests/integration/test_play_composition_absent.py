# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""mcm_composition state=absent with remove_images (an application purge) through ansible-playbook, on a current
and a legacy simulator node."""

from __future__ import annotations

from mcm_it import counter_tar, endpoint_count, write_requests


def shop(state='present', **extra):
    mims = [{'name': name, 'image': name, 'env': {'MCM.BASE_API_PATH': '/%s' % name.replace('-v1', '/v1')}}
            for name in ('front-v1', 'back-v1')]
    args = dict(name='shop', mims=mims) if state == 'present' else dict(name='shop', state='absent')
    return {'name': 'shop %s' % state, 'mimoe.edge.mcm_composition': dict(args, **extra)}


def names(node, path):
    status, body = node.mcm('GET', path)
    assert status == 200
    return sorted(item['name'] for item in body['data'])


def test_purge_removes_members_and_images_only_they_used(both, tmp_path):
    nodes, ansible = both
    images = [{'name': 'image %s' % name, 'mimoe.edge.mcm_image': {'src': counter_tar(tmp_path, name=name)}}
              for name in ('front-v1', 'back-v1')]
    # A mim outside the composition on the image of back-v1: that image must stay.
    loose_mim = {'name': 'loose-v1', 'image': 'back-v1', 'env': {'MCM.BASE_API_PATH': '/loose/v1'}}
    loose = {'name': 'loose mim', 'mimoe.edge.mcm_mim': loose_mim}
    ansible.run(images + [shop(), loose])

    for node in nodes.values():
        node.reset_stats()
    check = ansible.run([shop('absent', remove_images=True)], check=True, diff=True)
    for host, node in nodes.items():
        result = check.host(host)[0]
        assert result['changed'] is True and write_requests(node.stats()) == 0
        assert result['removed'] == ['back-v1', 'front-v1'] and result['removed_images'] == ['front-v1']
        assert result['diff']['after']['image/front-v1'] == {'state': 'absent'}

    purge = ansible.run([shop('absent', remove_images=True)], diff=True)
    for host, node in nodes.items():
        result = purge.host(host)[0]
        assert result['changed'] is True and result['removed_images'] == ['front-v1']
        assert result['actions'] == check.host(host)[0]['actions']
        mims_path = '/mims' if host == 'current' else '/containers'
        assert names(node, mims_path) == ['loose-v1']
        assert names(node, '/images') == ['back-v1']
        assert endpoint_count(node.stats(), 'DELETE /mcm/v1/images/{id}') == 1

    for node in nodes.values():
        node.reset_stats()
    again = ansible.run([shop('absent', remove_images=True)])
    for host, node in nodes.items():
        result = again.host(host)[0]
        assert result['changed'] is False and result['removed'] == [] and result['removed_images'] == []
        assert write_requests(node.stats()) == 0
