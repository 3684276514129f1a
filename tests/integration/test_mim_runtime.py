# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The mim runtime APIs mimik's own mims use, through the collection: each test mim of
tests/sim/fixtures/runtime-mims is packaged (mim_package), uploaded (mcm_image) and deployed (mcm_mim) on a current
and a legacy node in ONE playbook run, then called over HTTP."""

from __future__ import annotations

import base64
import json
import os

import requests

from mcm_it import ROOT
from mimoe_sim.testing import WsClient

MIMS = os.path.join(ROOT, 'tests', 'sim', 'fixtures', 'runtime-mims')
RUNTIME = [
    {'name': 'rt-encoding', 'env': {'MCM.BASE_API_PATH': '/rt/encoding'}},
    {'name': 'rt-timers', 'env': {'MCM.BASE_API_PATH': '/rt/timers'}},
    {'name': 'rt-websocket', 'env': {'MCM.BASE_API_PATH': '/rt/websocket', 'MCM.WEBSOCKET_SUPPORT': 'true'}},
    {'name': 'rt-files', 'env': {'MCM.BASE_API_PATH': '/rt/files'}},
    {'name': 'rt-edge', 'env': {'MCM.BASE_API_PATH': '/rt/edge'}},
]


def deploy_tasks(tmp_path):
    tars = str(tmp_path / 'runtime-tars')
    return [
        {'name': 'package', 'run_once': True, 'loop': RUNTIME, 'mimoe.edge.mim_package': {
            'bundle': MIMS + '/{{ item.name }}/index.js', 'name': '{{ item.name }}', 'version': '1.0.0',
            'dest': tars + '/'}},
        {'name': 'upload', 'loop': RUNTIME, 'mimoe.edge.mcm_image': {
            'src': tars + '/{{ item.name }}-1.0.0.tar'}},
        {'name': 'deploy', 'loop': RUNTIME, 'mimoe.edge.mcm_mim': {
            'name': '{{ item.name }}', 'image': '{{ item.name }}', 'env': '{{ item.env }}'}},
    ]


def test_runtime_apis_on_both_generations(both, tmp_path):
    nodes, ansible = both
    run = ansible.run(deploy_tasks(tmp_path))
    for host, node in nodes.items():
        results = {r['_task']: r for r in run.host(host)}  # the package task runs once, under one host
        for task in ('upload', 'deploy'):
            assert [item['changed'] for item in results[task]['results']] == [True] * len(RUNTIME), run.explain()
        check_runtime(node)


def check_runtime(node):
    def call(path, method='GET', **kw):
        kw.setdefault('timeout', 20)
        return requests.request(method, node.url + '/api/rt' + path, **kw)

    # Duktape.enc/dec, TextEncoder/TextDecoder
    raw = 'mimik é'.encode('utf-8')
    seen = call('/encoding/encode', params={'text': 'mimik é'}).json()
    assert seen['base64'] == base64.b64encode(raw).decode() and seen['hex'] == raw.hex(), seen
    assert seen['roundTrip'] == 'mimik é' and seen['isUint8Array'] is True and seen['utf8Length'] == len(raw)

    # timers; a route that throws is answered by the mim's own error handler
    assert call('/timers/order').json() == {'order': ['sync', 'immediate 1', 'timeout xy'], 'ticks': 2}
    own = call('/timers/throw')
    assert own.status_code == 418 and own.json() == {'ownError': 'no such play queue item'}

    # context.dispatchWebSocketEvent with MCM.WEBSOCKET_SUPPORT "true"
    client = WsClient(node.url + '/api/rt/websocket')
    try:
        assert client.status == 101, client.head
        assert call('/websocket/events', 'POST', data=json.dumps({'n': 1})).status_code == 201
        assert json.loads(client.recv_text()) == {'type': 'item', 'item': {'n': 1}}
        assert client.recv_text() == '{}'
    finally:
        client.close()

    # handleFormRequest into files, writeMimeFile, storage.deleteFile
    blob = bytes(range(256)) * 8
    stored = call('/files/files', 'POST', files={'metadata': (None, json.dumps({'mimeType': 'image/png'})),
                                                 'file': ('pic.png', blob, 'image/png')})
    assert stored.status_code == 201 and stored.json()['stored'] == [{'path': 'uploads/pic.png', 'size': len(blob)}]
    download = call('/files/files/uploads%2Fpic.png')
    assert download.content == blob and download.headers['Content-Type'] == 'image/png'
    assert call('/files/files/uploads%2Fpic.png', 'DELETE').json() == {'deleted': True}

    # node services: discovery, jsonrpc (at localhost:8083 as mimik's mims call it), BEP
    node_id = requests.get(node.url + '/_sim/info', timeout=10).json()['nodeId']
    found = call('/edge/discover', params={'cluster': 'account'}).json()['nodes']
    assert [n['id'] for n in found] == [node_id] and 'rt-edge' in found[0]['services']
    assert call('/edge/me').json()['result']['nodeId'] == node_id
    code = call('/edge/hmac', params={'node': node_id}).json()['result']['edgeHmacCode']
    assert call('/edge/bep', params={'hmac': code}).json() == {'href': node.url}
