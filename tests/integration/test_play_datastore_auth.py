# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""mcm_datastore backup/restore round trip, and connection options (env fallbacks, tokens, errors)."""

from __future__ import annotations

import json

import requests

from mcm_it import counter_tar, write_requests

BASE = '/api/counter/v1'


def counter(node, method='GET'):
    answer = requests.request(method, node.url + BASE + '/counter', timeout=20)
    assert answer.status_code == 200, answer.text
    return answer.json()['counter']


def test_datastore_round_trip(sim, ansible_for, tmp_path):
    node = sim('current')
    ansible = ansible_for({'node': node})
    # Relative to the node's datastore storage: the node refuses paths outside it (400).
    backup_path = 'backups/counter.json'
    ansible.run([
        {'name': 'image', 'mimoe.edge.mcm_image': {'src': counter_tar(tmp_path)}},
        {'name': 'mim', 'mimoe.edge.mcm_mim': {'name': 'counter-v1', 'image': 'counter-v1',
                                               'env': {'MCM.BASE_API_PATH': '/counter/v1'}}},
    ])
    for dummy in range(3):
        counter(node, 'POST')
    assert counter(node) == 3

    backup_task = {'name': 'backup', 'mimoe.edge.mcm_datastore': {
        'action': 'backup', 'mim': 'counter-v1', 'path': backup_path, 'poll_interval': 0.05}}
    node.reset_stats()
    check = ansible.run([backup_task], check=True)
    assert check.host('node')[0]['changed'] and write_requests(node.stats()) == 0

    backup = ansible.run([backup_task]).host('node')[0]
    assert backup['changed'] and backup['status'] == 'completed' and backup['percentage'] == 100
    assert backup['action'] == 'backup' and backup['path'] == backup_path

    counter(node, 'POST')
    counter(node, 'POST')
    assert counter(node) == 5

    restore = ansible.run([{'name': 'restore', 'mimoe.edge.mcm_datastore': {
        'action': 'restore', 'mim': 'counter-v1', 'path': backup_path, 'poll_interval': 0.05}}]).host('node')[0]
    assert restore['status'] == 'completed' and restore['changed']
    assert counter(node) == 3

    missing = ansible.run([{'name': 'restore missing', 'mimoe.edge.mcm_datastore': {
        'action': 'restore', 'mim': 'counter-v1', 'path': 'nope.json', 'poll_interval': 0.05}}],
        expect_rc=2).host('node')[0]
    assert missing['status'] == 'failed' and 'backup file not found' in missing['msg']
    assert counter(node) == 3

    outside = str(tmp_path / 'outside.json')
    refused = ansible.run([{'name': 'backup outside the node storage', 'mimoe.edge.mcm_datastore': {
        'action': 'backup', 'mim': 'counter-v1', 'path': outside, 'poll_interval': 0.05}}],
        expect_rc=2).host('node')[0]
    assert "outside the node's datastore storage" in refused['msg'] and not (tmp_path / 'outside.json').exists()


def test_connection_options_and_errors(sim, ansible_for):
    node = sim('current')
    ansible = ansible_for({'node': node})
    env = {'MCM_URL': node.url, 'MCM_TOKEN': node.token(scope='edge:mcm')}
    no_scope = node.token(scope='openid')
    run = ansible.run([
        {'name': 'env fallbacks and an edge access token', 'mimoe.edge.mcm_info': {}},
        {'name': 'token without edge:mcm', 'mimoe.edge.mcm_info': {'mcm_token': no_scope}, 'ignore_errors': True},
        {'name': 'nothing listens', 'mimoe.edge.mcm_info': {'mcm_url': 'http://127.0.0.1:9', 'retries': 0, 'timeout': 3},
         'ignore_errors': True},
        {'name': 'legacy asked explicitly', 'mimoe.edge.mcm_info': {'api_version': 'legacy'}, 'ignore_errors': True},
    ], defaults={}, env=env)
    ok, denied, down, wrong = run.host('node')
    assert ok['_status'] == 'ok' and ok['api_version'] == 'current'
    assert denied['_status'] == 'failed' and denied['error']['status'] == 403
    assert 'edge:mcm' in denied['msg']
    assert down['_status'] == 'failed' and 'http://127.0.0.1:9/mcm/v1/' in down['msg'] and 'timeout 3.0 seconds' in down['msg']
    assert wrong['_status'] == 'failed' and wrong['error']['status'] == 404
    for token in (env['MCM_TOKEN'], no_scope, node.api_key):
        assert token not in run.stdout and token not in json.dumps(run.results)
