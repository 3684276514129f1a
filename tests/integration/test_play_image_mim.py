# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""mcm_image, mcm_mim and mcm_info through ansible-playbook, against a current and a legacy node at once."""

from __future__ import annotations

import hashlib
import json

import pytest
import requests

from mcm_it import (
    BASE_ENV, EXAMPLE_START, EXAMPLE_TAR, SECRET, SECRET2, call_mim, counter_tar, endpoint_count, image_task, mim_task,
    write_requests,
)

pytestmark = [pytest.mark.node, pytest.mark.ansible]


def test_converge_idempotent_check_and_diff(both, tmp_path):
    nodes, ansible = both
    tar = counter_tar(tmp_path)
    deploy = [image_task(tar), mim_task()]

    # Check mode on empty nodes: both changes reported, nothing written.
    check = ansible.run(deploy, check=True, diff=True)
    for host, node in nodes.items():
        results = check.host(host)
        assert [r['changed'] for r in results] == [True, True]
        assert results[1]['actions'] == ['deployed mim counter-v1 from image counter-v1']
        assert write_requests(node.stats()) == 0 and node.stats()['bytes_uploaded'] == 0

    # Converge, then read back with mcm_info.
    first = ansible.run(deploy + [{'name': 'info', 'mimoe.edge.mcm_info': {'name': ['counter-v1']}}], diff=True)
    for host, node in nodes.items():
        image, mim, info = first.host(host)
        assert image['changed'] and mim['changed']
        assert image['image']['name'] == 'counter-v1' and image['digest'].startswith('sha256:')
        assert info['api_version'] == host and [m['name'] for m in info['mims']] == ['counter-v1']
        assert call_mim(node, SECRET)['greeting'] == 'hello'

    # Second run: nothing changes, the nodes see no write call and no uploaded byte.
    for node in nodes.values():
        node.reset_stats()
    second = ansible.run(deploy, diff=True)
    for host, node in nodes.items():
        stats = node.stats()
        assert second.changed(host) == 0, second.explain()
        assert write_requests(stats) == 0 and stats['bytes_uploaded'] == 0, stats
        assert endpoint_count(stats, 'GET /mcm/v1/images') >= 1

    # Rotating the secret redeploys; the printed diff masks old and new values.
    rotated = ansible.run([image_task(tar), mim_task(secret=SECRET2)], diff=True)
    for host, node in nodes.items():
        mim = rotated.host(host)[1]
        assert mim['changed'] and 'API_KEY' in json.dumps(mim['diff']['after'])
        assert call_mim(node, SECRET2)['greeting'] == 'hello'

    # An env change in check mode: reported with a diff of that key only (current: env is read back), no write.
    for node in nodes.values():
        node.reset_stats()
    env_check = ansible.run([mim_task(env=dict(BASE_ENV, GREETING='hi'), secret=SECRET2)], check=True, diff=True)
    assert env_check.host('current')[0]['diff'] == {'before': {'env': {'GREETING': 'hello'}},
                                                    'after': {'env': {'GREETING': 'hi'}}}
    assert env_check.host('legacy')[0]['diff']['after']['env']['GREETING'] == 'hi'
    for host, node in nodes.items():
        assert env_check.host(host)[0]['changed'] and write_requests(node.stats()) == 0
        assert call_mim(node, SECRET2)['greeting'] == 'hello'

    for run in (check, second, rotated, env_check):
        assert SECRET not in run.stdout and SECRET2 not in run.stdout
        assert SECRET not in json.dumps(run.results) and SECRET2 not in json.dumps(run.results)
    # mcm_info returns env as the node stores it (documented), so only the deploy tasks of the first run count.
    assert SECRET not in first.stdout
    assert SECRET not in json.dumps([r for r in first.results if r['action'] != 'mimoe.edge.mcm_info'])
    assert '********' in rotated.stdout  # the diff was printed, masked
    for node in nodes.values():
        assert node.api_key not in ''.join(r.stdout for r in (check, first, second, rotated, env_check))


def test_every_legacy_image_id_style_reruns_unchanged(sim, ansible_for, tmp_path):
    """Issue 13: nodes that show the Docker image id (sha256 of the config JSON), its short form, or an opaque id.
    The second run of an unchanged play changes nothing and uploads nothing (it failed with "Cannot replace the
    image counter-v1: the mims counter-v1 use it"); a new version is still told apart in every style."""
    nodes = dict((style, sim('legacy', legacy_image_id=style)) for style in ('config', 'short', 'opaque'))
    ansible = ansible_for(nodes)
    tar = counter_tar(tmp_path)
    deploy = [image_task(tar), mim_task()]
    info = {'name': 'info', 'mimoe.edge.mcm_info': {'name': ['counter-v1']}}
    first = ansible.run(deploy + [info])
    with open(tar, 'rb') as fh:
        archive_digest = 'sha256:' + hashlib.sha256(fh.read()).hexdigest()
    for style, node in nodes.items():
        image, mim, read = first.host(style)
        assert image['changed'] and mim['changed'], style
        assert image['config_digest'].startswith('sha256:') and image['config_digest'] != archive_digest
        node_image = read['images'][0]
        assert node_image['id'] == {'config': image['config_digest'], 'short': image['config_digest'][:19],
                                    'opaque': 'api-counter-v1'}[style]
        # Normalised: a full id is a digest; a short or opaque id is none; the version needs a RepoTag.
        assert node_image['digest'] == (image['config_digest'] if style == 'config' else None)
        assert node_image['version'] == ('1.0.0' if style == 'opaque' else None)
        assert call_mim(node, SECRET)['greeting'] == 'hello'
        node.reset_stats()
    second = ansible.run(deploy)
    for style, node in nodes.items():
        stats = node.stats()
        assert second.changed(style) == 0, second.explain()
        assert write_requests(stats) == 0 and stats['bytes_uploaded'] == 0, (style, stats)
        assert second.host(style)[0]['identity'] == {
            'verified': style != 'opaque',
            'compared_by': {'config': 'digest', 'short': 'short image id',
                            'opaque': 'RepoTag counter-v1:1.0.0 (the node reports no digest)'}[style]}
    newer = ansible.run([image_task(counter_tar(tmp_path, version='1.1.0'))], expect_rc=2)
    for style in nodes:
        assert 'Cannot replace the image counter-v1: the mims counter-v1 use it' in newer.host(style)[0]['msg']


@pytest.mark.npm
def test_example_mim_from_start_json(sim, ansible_for):
    node = sim('current')
    ansible = ansible_for({'node': node})
    tasks = [
        {'name': 'image', 'mimoe.edge.mcm_image': {'src': EXAMPLE_TAR}},
        {'name': 'mim', 'mimoe.edge.mcm_mim': {'start_file': EXAMPLE_START}},
    ]
    assert ansible.run(tasks).changed('node') == 2
    answer = requests.get(node.url + '/api/hello/v1/hello', timeout=20)
    assert answer.status_code == 200, answer.text
    node.reset_stats()
    assert ansible.run(tasks).changed('node') == 0 and write_requests(node.stats()) == 0
