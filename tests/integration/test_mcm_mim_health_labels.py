# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""mcm_mim against a current and a legacy node with the real example mim (examples/hello-mim): labels, the health
check through the node (passing, failing with a clear error, restart_on_failure), start.json naming its archive."""

from __future__ import annotations

import json
import shutil

from mcm_it import EXAMPLE_TAR, HOSTS

ENV = {'MCM.BASE_API_PATH': '/hello/v1', 'GREETING': 'hi'}


def hello(**extra):
    args = {'name': 'hello-v1', 'image': 'hello-v1', 'env': dict(ENV)}
    args.update(extra)
    return args


def test_labels_and_health_on_both_generations(both):
    nodes, ansible = both
    health = {'path': '/healthcheck', 'body_regex': '"status":\\s*"ok"', 'retries': 10, 'delay': 0.5}
    run = ansible.run([
        {'name': 'image', 'mimoe.edge.mcm_image': {'src': EXAMPLE_TAR}},
        {'name': 'deploy', 'mimoe.edge.mcm_mim': hello(labels={'app': 'hello', 'tier': 'edge'}, health=health)},
        {'name': 'again', 'mimoe.edge.mcm_mim': hello(labels={'app': 'hello', 'tier': 'edge'}, health=health)},
        {'name': 'relabel', 'mimoe.edge.mcm_mim': hello(labels={'app': 'hello'})},
        {'name': 'info', 'mimoe.edge.mcm_info': {'name': ['hello-v1']}},
        {'name': 'wrong path', 'ignore_errors': True,
         'mimoe.edge.mcm_mim': hello(health={'path': '/nope', 'retries': 2, 'delay': 0.2})},
        {'name': 'failing', 'ignore_errors': True, 'mimoe.edge.mcm_mim': hello(
            env=dict(ENV, HEALTH_FAIL='true'), health={'retries': 2, 'delay': 0.2}, restart_on_failure=True)},
    ], diff=True)
    for host in HOSTS:
        node = nodes[host]
        deploy, again, relabel, info, wrong, failing = run.host(host)[1:]
        assert deploy['changed'] and deploy['labels'] == {'app': 'hello', 'tier': 'edge'}, run.explain()
        assert deploy['health']['healthy'] is True and deploy['health']['status'] == 200
        assert deploy['health']['url'] == node.url + '/api/hello/v1/healthcheck'
        assert deploy['diff']['after']['labels'] == {'app': 'hello', 'tier': 'edge'}
        assert not again['changed'] and again['health']['healthy'] is True
        assert relabel['changed'] and relabel['reasons'] in (['labels differ in tier'],
                                                             [r for r in relabel['reasons'] if 'fingerprint' in r])
        assert relabel['labels'] == {'app': 'hello'}
        if host == 'current':  # the legacy API does not return env: labels are known from the task only there
            assert relabel['diff']['before']['labels'] == {'app': 'hello', 'tier': 'edge'}
            shown = info['mims'][0]
            assert 'MIMOE_LABELS' not in shown['env'] and shown['labels'] == {'app': 'hello'}

        # A health check that cannot pass: the error names the node, the URL, the status and the body.
        assert wrong['_status'] == 'failed' and not wrong['changed'], (host, wrong.get('reasons'), wrong.get('actions'))
        assert 'The mim hello-v1 on %s is not healthy' % node.url in wrong['msg'], wrong['msg']
        assert 'GET %s/api/hello/v1/nope: status 404, expected 200' % node.url in wrong['msg'], wrong['msg']
        assert 'no mim serves' in wrong['msg'] or 'not found' in wrong['msg'].lower(), wrong['msg']
        # A release that fails its health: restarted once, still failing, the task says so.
        assert failing['_status'] == 'failed' and failing['changed'], failing
        assert 'after a restart (restart_on_failure)' in failing['msg'], failing['msg']
        assert 'status 500, expected 200' in failing['msg'] and 'failing' in failing['msg'], failing['msg']
        assert failing['health'] == {'url': node.url + '/api/hello/v1/healthcheck', 'status': 500,
                                     'healthy': False, 'restarted': True}


def test_start_json_naming_its_archive(both, tmp_path):
    """Seed 000's start.json names the image by its archive file: resolved to the image inside it."""
    nodes, ansible = both
    shutil.copy(EXAMPLE_TAR, str(tmp_path / 'hello-v1-1.0.0.tar'))
    start = tmp_path / 'start.json'
    start.write_text(json.dumps({'name': 'hello-v1', 'image': 'hello-v1-1.0.0.tar', 'env': ENV}))
    missing = tmp_path / 'missing.json'
    missing.write_text(json.dumps({'name': 'hello-v1', 'image': 'other-1.0.0.tar'}))
    run = ansible.run([
        {'name': 'image', 'mimoe.edge.mcm_image': {'src': str(tmp_path / 'hello-v1-1.0.0.tar')}},
        {'name': 'deploy', 'mimoe.edge.mcm_mim': {'start_file': str(start)}},
        {'name': 'again', 'mimoe.edge.mcm_mim': {'start_file': str(start)}},
        {'name': 'missing', 'ignore_errors': True, 'mimoe.edge.mcm_mim': {'start_file': str(missing)}},
    ])
    for host in nodes:
        deploy, again, missing_result = run.host(host)[1:]
        assert deploy['changed'] and deploy['mim']['image'] == 'hello-v1', run.explain()
        assert not again['changed']
        assert missing_result['_status'] == 'failed'
        assert 'start_file: image other-1.0.0.tar names an image archive' in missing_result['msg']
        assert 'set image to the image name' in missing_result['msg']
