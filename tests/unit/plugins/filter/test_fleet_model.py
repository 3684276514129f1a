# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The fleet report model (filter mimoe.edge.fleet_model): statuses, cells, drift, versions proven on legacy nodes."""

from __future__ import annotations

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.mimoe.edge.plugins.filter.fleet_model import FilterModule, fleet_model
from ansible_collections.mimoe.edge.plugins.module_utils._markers import RELEASE_KEY, encode_release

D13 = 'sha256:' + '1' * 64
D12 = 'sha256:' + '2' * 64


def inv_mim(name='hello-v1', version='1.3.0', digest=D13, state='started', status='up', source='repo_tag'):
    return {'name': name, 'id': 'api-' + name, 'image': name, 'version': version, 'version_source': source if version
            else None, 'digest': digest, 'state': state, 'status': status}


def inv_host(mims, images=None, api='current', reachable=True, reason=None):
    return {'mcm_url': 'http://n:8083', 'mcm_api': api, 'mcm_reachable': reachable, 'mcm_mims': mims,
            'mcm_images': images or [], 'mcm_unreachable_reason': reason, 'mimoe_arch': 'amd64'}


def model(hostvars, desired=None):
    return fleet_model(list(hostvars), hostvars, desired or {}, 'T', generated='2026-01-01T00:00:00Z')


def test_statuses_cells_and_summary():
    hv = {
        'ok': inv_host([inv_mim()]),
        'old': inv_host([inv_mim(version='1.2.0', digest=D12)]),
        'down': inv_host([inv_mim(), inv_mim('counter-v1', '2.0.0', state='stopped', status='crashed')]),
        'none': inv_host([]),
        'gone': inv_host([], reachable=False, reason='connection refused (x)'),
        'nodata': {},
    }
    report = model(hv, {'hello-v1': '1.3.0'})
    nodes = dict((n['name'], n) for n in report['nodes'])
    assert {n: nodes[n]['status'] for n in nodes} == {'ok': 'ok', 'old': 'drift', 'down': 'down', 'none': 'drift',
                                                      'gone': 'unreachable', 'nodata': 'unreachable'}
    assert nodes['old']['drift'] == [{'mim': 'hello-v1', 'kind': 'version', 'want': '1.3.0', 'have': '1.2.0'}]
    assert nodes['none']['mims']['hello-v1']['cell'] == 'missing'
    assert nodes['nodata']['reason'].startswith('no MCM data for this host')
    assert nodes['gone']['reason'] == 'connection refused (x)' and nodes['gone']['mims'] == {}
    summary = report['summary']
    assert (summary['nodes'], summary['reachable'], summary['ok'], summary['drift'], summary['down']) == (6, 4, 1, 2, 1)
    # Most seen first; equal counts in the order of the (sorted) nodes that show them.
    assert summary['mims']['hello-v1']['versions'] == [
        {'version': '1.3.0', 'count': 2}, {'version': 'absent', 'count': 1}, {'version': '1.2.0', 'count': 1}]
    assert report['mims'] == ['counter-v1', 'hello-v1'] and report['title'] == 'T'


def test_legacy_version_proven_by_digest_or_short_id_else_unknown():
    legacy_full = inv_mim(version=None, digest=D13)
    legacy_short = dict(inv_mim(version=None, digest=None), image='hello-v1')
    legacy_opaque = inv_mim(version=None, digest=None)
    hv = {
        'current': inv_host([inv_mim()]),
        'full': inv_host([legacy_full], api='legacy'),
        'short': inv_host([legacy_short], [{'name': 'hello-v1', 'id': D13[:19]}], api='legacy'),
        'opaque': inv_host([legacy_opaque], [{'name': 'hello-v1', 'id': 'example-v1'}], api='legacy'),
    }
    nodes = dict((n['name'], n) for n in model(hv, {'hello-v1': '1.3.0'})['nodes'])
    for name in ('full', 'short'):
        cell = nodes[name]['mims']['hello-v1']
        assert (cell['version'], cell['version_source'], cell['cell'], nodes[name]['status']) == \
            ('1.3.0', 'digest', 'ok', 'ok'), name
    assert nodes['opaque']['status'] == 'unknown' and nodes['opaque']['mims']['hello-v1']['version'] is None
    # Without a node that proves the content, a digest alone proves nothing.
    alone = model({'full': inv_host([legacy_full], api='legacy')}, {'hello-v1': '1.3.0'})
    assert alone['nodes'][0]['status'] == 'unknown'


def test_a_digest_seen_with_two_versions_proves_nothing():
    hv = {'a': inv_host([inv_mim(version='1.3.0')]), 'b': inv_host([inv_mim(version='1.4.0')]),
          'legacy': inv_host([inv_mim(version=None)], api='legacy')}
    nodes = dict((n['name'], n) for n in model(hv)['nodes'])
    assert nodes['legacy']['mims']['hello-v1']['version'] is None


def test_mcm_info_path_uses_release_marker_and_rejects_bad_digests():
    marker = encode_release({'image': 'hello-v1', 'version': '1.3.0'})
    info = {'api_version': 'legacy', 'changed': False,
            'images': [{'id': 'example-v1', 'name': 'hello-v1'},
                       {'id': 'x', 'name': 'evil-v1', 'digest': 'sha256:../../x', 'repoTags': ['evil-v1:1']}],
            'mims': [{'name': 'hello-v1', 'image': 'hello-v1', 'state': 'started', 'env': {RELEASE_KEY: marker}},
                     {'name': 'evil-v1', 'image': 'evil-v1', 'state': 'started'}]}
    hv = {'n': {'fleet_report_info': info, 'mcm_url': 'http://n'},
          'failed': {'fleet_report_info': {'failed': True, 'msg': 'HTTP 401: bad token'}},
          'skipped': {'fleet_report_info': {'skipped': True}}}
    nodes = dict((n['name'], n) for n in model(hv, {'hello-v1': '1.3.0'})['nodes'])
    hello = nodes['n']['mims']['hello-v1']
    assert (hello['version'], hello['version_source'], hello['cell']) == ('1.3.0', 'release_marker', 'ok')
    assert nodes['n']['mims']['evil-v1']['digest'] is None
    assert nodes['n']['api'] == 'legacy' and nodes['n']['status'] == 'ok'
    assert (nodes['failed']['reachable'], nodes['failed']['reason']) == (False, 'HTTP 401: bad token')
    assert nodes['skipped']['reason'].startswith('no MCM data')


def test_bad_input_and_registration():
    with pytest.raises(AnsibleFilterError, match='list of inventory host names'):
        fleet_model('node1', {})
    assert FilterModule().filters()['fleet_model'] is fleet_model
    assert model({'a': inv_host([], reachable='false')})['nodes'][0]['reachable'] is False
