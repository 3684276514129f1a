# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The catalog against a real registry (Debian's docker-registry on loopback), issue 18 items 1, 9 and 10:
catalog_info filters, annotations, check mode taking the same path as the real run, delete by manifest digest,
the in-use guard fed by what mcm_info reads on simulator nodes, and seed 003 ioFog catalog items (no version,
docker image references, the Controller's images/fogTypeId form)."""

from __future__ import annotations

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from mcm_it import EXAMPLE_START  # noqa: E402  pylint: disable=wrong-import-position
from registry import Registry  # noqa: E402  pylint: disable=wrong-import-position
from test_catalog import arch_tar, run_play, sha256  # noqa: E402  pylint: disable=wrong-import-position

import pytest  # noqa: E402  pylint: disable=wrong-import-position,wrong-import-order


@pytest.fixture
def tars(tmp_path):
    return {'amd64': arch_tar(tmp_path, '1.0.0', 'amd64'), 'arm': arch_tar(tmp_path, '1.0.0', 'arm'),
            'v2': arch_tar(tmp_path, '2.0.0', 'all')}


def version_of(listing, version, attribute):
    """Jinja: ``attribute`` of the version ``version`` of the first item of the registered catalog_info result."""
    return "{{ (%s['items'][0].versions | selectattr('version', 'equalto', '%s') | first)%s }}" % (
        listing, version, attribute)


def test_filters_annotations_check_mode_parity_digest_delete_and_seed_003(tmp_path, tars):
    with Registry(tmp_path / 'registry') as reg:
        registry = {'url': reg.url, 'namespace': 'acme/mims'}
        host = reg.url.split('://', 1)[1]
        hello1 = {'name': 'hello', 'version': '1.0.0', 'description': 'Hello mim, COUNTS its callers',
                  'images': {'amd64': tars['amd64'], 'arm': tars['arm']}, 'annotations': {'channel': 'stable'},
                  'registry': registry}
        info = {'name': 'hello', 'registry': registry}
        parity = {'reference': 'parity@1.0.0', 'image': tars['amd64'], 'registry': registry}
        tasks = [
            {'name': 'publish 1', 'mimoe.edge.catalog_item': hello1},
            {'name': 'publish 2', 'mimoe.edge.catalog_item': {
                'reference': 'hello@2.0.0', 'description': 'Second hello', 'image': tars['v2'],
                'annotations': {'channel': 'beta', 'ticket': 42}, 'registry': registry}},
            {'name': 'publish 3', 'mimoe.edge.catalog_item': {
                'reference': 'hello@3.0.0', 'description': 'Third', 'image': tars['v2'], 'registry': registry}},
            {'name': 'parity check', 'check_mode': True, 'mimoe.edge.catalog_item': parity},
            {'name': 'parity', 'mimoe.edge.catalog_item': parity},
            {'name': 'republish without annotations', 'mimoe.edge.catalog_item': dict(hello1, annotations=None)},
            {'name': 'reserved annotation', 'ignore_errors': True, 'mimoe.edge.catalog_item': dict(
                hello1, annotations={'org.opencontainers.image.created': 'x'})},
            {'name': 'all', 'mimoe.edge.catalog_info': info, 'register': 'listing'},
            {'name': 'arm64', 'mimoe.edge.catalog_info': dict(info, filters={'architecture': ['arm64']})},
            {'name': 'stable', 'mimoe.edge.catalog_info': {'registry': registry,
                                                           'filters': {'annotation': ['channel=stable']}}},
            {'name': 'has channel', 'mimoe.edge.catalog_info': dict(info, filters={'annotation': ['channel']})},
            {'name': 'ticket and beta', 'mimoe.edge.catalog_info': dict(info, filters={
                'annotation': ['ticket=42', 'channel=beta'], 'architecture': ['amd64', 'arm']})},
            {'name': 'description', 'mimoe.edge.catalog_info': dict(info, filters={'description': 'counts'})},
            {'name': 'regex', 'mimoe.edge.catalog_info': dict(info, filters={'description_regex': '^(Second|Third)'})},
            {'name': 'version filtered out', 'mimoe.edge.catalog_info': {
                'reference': 'hello@1.0.0', 'registry': registry, 'filters': {'architecture': ['arm64']}}},
            {'name': 'version kept', 'mimoe.edge.catalog_info': {
                'reference': 'hello@1.0.0', 'registry': registry, 'filters': {'architecture': ['arm']}}},
            {'name': 'bad regex', 'ignore_errors': True, 'mimoe.edge.catalog_info': dict(
                info, filters={'description_regex': '(unclosed'})},
            # delete by digest
            {'name': 'artifact listed', 'ignore_errors': True, 'mimoe.edge.catalog_item': {
                'name': 'hello', 'state': 'absent', 'registry': registry,
                'digest': version_of('listing', '3.0.0', '.architectures.amd64.manifest_digest')}},
            {'name': 'digest in use', 'ignore_errors': True, 'mimoe.edge.catalog_item': {
                'name': 'hello', 'state': 'absent', 'registry': registry, 'in_use': ['hello@1.0.0'],
                'digest': version_of('listing', '1.0.0', '.digest')}},
            {'name': 'digest check', 'check_mode': True, 'mimoe.edge.catalog_item': {
                'name': 'hello', 'state': 'absent', 'registry': registry,
                'digest': version_of('listing', '2.0.0', '.digest')}},
            {'name': 'digest delete', 'mimoe.edge.catalog_item': {
                'name': 'hello', 'state': 'absent', 'registry': registry,
                'digest': version_of('listing', '2.0.0', '.digest')}},
            {'name': 'digest again', 'mimoe.edge.catalog_item': {
                'name': 'hello', 'state': 'absent', 'registry': registry,
                'digest': version_of('listing', '2.0.0', '.digest')}},
            {'name': 'bad digest', 'ignore_errors': True, 'mimoe.edge.catalog_item': {
                'name': 'hello', 'state': 'absent', 'registry': registry, 'digest': 'sha256:123'}},
            {'name': 'after digest delete', 'mimoe.edge.catalog_info': info},
            # seed 003: ioFog catalog items
            {'name': 'controller item', 'mimoe.edge.catalog_item': {'registry': registry, 'definition': {
                'name': 'hello-fog', 'description': 'From the ioFog Controller', 'category': 'UTILS',
                'images': [{'containerImage': tars['amd64'], 'fogTypeId': 1},
                           {'containerImage': '%s/acme/mims/hello:1.0.0' % host, 'fogTypeId': 2}]}}},
            {'name': 'controller item again', 'mimoe.edge.catalog_item': {'registry': registry, 'definition': {
                'name': 'hello-fog', 'description': 'From the ioFog Controller', 'category': 'UTILS',
                'images': [{'containerImage': tars['amd64'], 'fogTypeId': 1},
                           {'containerImage': '%s/acme/mims/hello:1.0.0' % host, 'fogTypeId': 2}]}}},
            {'name': 'iofogctl item, docker reference', 'mimoe.edge.catalog_item': {'registry': registry, 'definition': {
                'apiVersion': 'iofog.org/v3', 'kind': 'CatalogItem', 'metadata': {'name': 'hello-fog2'},
                'spec': {'x86': 'hello:3.0.0', 'arm': 'acme/mims/hello:3.0.0', 'registry': 'remote'}}}},
            {'name': 'docker hub image', 'ignore_errors': True, 'mimoe.edge.catalog_item': {
                'registry': registry, 'definition': {
                    'apiVersion': 'iofog.org/v3', 'kind': 'CatalogItem', 'metadata': {'name': 'heart-rate'},
                    'spec': {'x86': 'docker.io/iofog/heart-rate:1.0.0', 'registry': 'remote'}}}},
            {'name': 'untagged image', 'ignore_errors': True, 'mimoe.edge.catalog_item': {
                'registry': registry, 'definition': {
                    'apiVersion': 'iofog.org/v3', 'kind': 'CatalogItem', 'metadata': {'name': 'hello-fog3'},
                    'spec': {'x86': 'acme/mims/hello'}}}},
            {'name': 'versions differ', 'ignore_errors': True, 'mimoe.edge.catalog_item': {
                'registry': registry, 'definition': {
                    'apiVersion': 'iofog.org/v3', 'kind': 'CatalogItem', 'metadata': {'name': 'hello-fog3'},
                    'spec': {'x86': tars['amd64'], 'arm': tars['v2']}}}},
            {'name': 'versions differ, version given', 'mimoe.edge.catalog_item': {
                'registry': registry, 'version': '4.0.0', 'definition': {
                    'apiVersion': 'iofog.org/v3', 'kind': 'CatalogItem', 'metadata': {'name': 'hello-fog3'},
                    'spec': {'x86': tars['amd64'], 'arm': tars['v2']}}}},
            {'name': 'images without version', 'ignore_errors': True, 'mimoe.edge.catalog_item': {
                'name': 'nover', 'image': tars['amd64'], 'registry': registry}},
        ]
        run, res = run_play(tmp_path, tasks, name='select')
        log = reg.requests()

    assert res['publish 1']['item']['annotations']['channel'] == 'stable'
    assert res['publish 2']['item']['annotations']['ticket'] == '42'
    check, real = res['parity check'], res['parity']
    assert check['changed'] and real['changed']
    # one path for the dry run and the real one: the same actions and counts (the index digest carries a time)
    assert [a.split(' (')[0] for a in check['actions']] == [a.split(' (')[0] for a in real['actions']], (check, real)
    assert len(real['actions']) == 4 and 'pushed blob' in real['actions'][0]
    for key in ('blobs_pushed', 'blobs_skipped', 'manifests_pushed'):
        assert check[key] == real[key], key
    again = res['republish without annotations']
    assert not again['changed'] and again['item']['annotations']['channel'] == 'stable', again
    reserved = res['reserved annotation']
    assert reserved['_status'] == 'failed' and 'annotations.org.opencontainers.image.created' in reserved['msg']
    assert 'Traceback' not in run.stdout

    def versions(task):
        return [(i['name'], [v['version'] for v in i['versions']]) for i in res[task]['items']]
    assert versions('all') == [('hello', ['1.0.0', '2.0.0', '3.0.0'])]
    assert versions('arm64') == [('hello', ['2.0.0', '3.0.0'])]
    assert versions('stable') == [('hello', ['1.0.0'])]
    assert versions('has channel') == [('hello', ['1.0.0', '2.0.0'])]
    assert versions('ticket and beta') == [('hello', ['2.0.0'])]
    assert versions('description') == [('hello', ['1.0.0'])]
    assert versions('regex') == [('hello', ['2.0.0', '3.0.0'])]
    assert res['version filtered out']['items'] == [] and res['version filtered out']['resolved'] == {}
    assert sorted(res['version kept']['resolved']) == ['amd64', 'arm']
    bad = res['bad regex']
    assert bad['_status'] == 'failed' and 'filters.description_regex' in bad['msg'], bad

    listed = res['artifact listed']
    assert listed['_status'] == 'failed' and 'hello@3.0.0' in listed['msg'] and 'force=true' in listed['msg']
    in_use = res['digest in use']
    assert in_use['_status'] == 'failed' and 'in_use lists hello@1.0.0' in in_use['msg'], in_use
    digest2 = [v for v in res['all']['items'][0]['versions'] if v['version'] == '2.0.0'][0]['digest']
    assert res['digest check']['changed'] and res['digest check']['versions_deleted'] == ['2.0.0']
    deleted = res['digest delete']
    assert deleted['changed'] and deleted['versions_deleted'] == ['2.0.0'], deleted
    # 3.0.0 uses the same archive: only the index goes
    assert deleted['manifests_deleted'] == 1 and deleted['actions'] == ['deleted index acme/mims/hello:2.0.0 (%s)'
                                                                        % digest2]
    assert [a.split(' (')[0] for a in res['digest check']['actions']] == \
        [a.split(' (')[0] for a in deleted['actions']]
    assert not res['digest again']['changed']
    assert res['bad digest']['_status'] == 'failed' and 'digest' in res['bad digest']['msg']
    assert versions('after digest delete') == [('hello', ['1.0.0', '3.0.0'])]
    deletes = [r for r in log if r[0] == 'DELETE']
    assert deletes == [('DELETE', '/v2/acme/mims/hello/manifests/%s' % digest2, 202)], deletes

    fog = res['controller item']
    assert fog['changed'] and fog['item']['version'] == '1.0.0', fog  # the version of its images
    assert 'version 1.0.0 taken from the images of the CatalogItem' in fog['actions']
    assert fog['item']['description'] == 'From the ioFog Controller'
    assert fog['item']['architectures']['amd64']['image_digest'] == sha256(tars['amd64'])
    assert fog['item']['architectures']['arm']['image_digest'] == sha256(tars['arm'])  # mapped to hello@1.0.0 arm
    assert not res['controller item again']['changed']
    fog2 = res['iofogctl item, docker reference']
    assert fog2['item']['version'] == '2.0.0' and sorted(fog2['item']['architectures']) == ['amd64', 'arm']
    assert fog2['item']['architectures']['amd64']['image_digest'] == sha256(tars['v2'])
    hub = res['docker hub image']
    assert hub['_status'] == 'failed' and 'definition.spec.x86' in hub['msg'] and 'docker.io' in hub['msg']
    assert 'mim archives' in hub['msg'] and '.tar' in hub['msg'], hub
    untagged = res['untagged image']
    assert untagged['_status'] == 'failed' and 'definition.spec.x86' in untagged['msg'] and 'names no version' in \
        untagged['msg'], untagged
    differ = res['versions differ']
    assert differ['_status'] == 'failed' and 'different versions' in differ['msg'] and 'set version' in differ['msg']
    assert 'definition.spec.x86' in differ['msg'] and 'definition.spec.arm' in differ['msg'], differ
    assert res['versions differ, version given']['item']['version'] == '4.0.0'
    nover = res['images without version']
    assert nover['_status'] == 'failed' and 'version is required' in nover['msg'], nover
    assert 'Traceback' not in json.dumps(run.results)


def test_in_use_guard_asks_the_fleet(tmp_path, tars, sim, ansible_for):
    """catalog_item state=absent with in_use_from: mcm_info results of a current and a legacy node (a mapping
    node -> result, a list, a registered loop); the refusal names the node, the mim and the fix."""
    with Registry(tmp_path / 'registry') as reg:
        registry = {'url': reg.url}
        nodes = {'current': sim('current'), 'legacy': sim('legacy')}
        ansible = ansible_for(nodes)
        fleet = "{{ dict(ansible_play_hosts | zip(ansible_play_hosts | map('extract', hostvars, 'node_info'))) }}"
        as_list = "{{ ansible_play_hosts | map('extract', hostvars, 'node_info') | list }}"
        once = {'run_once': True}
        tasks = [
            dict(once, name='publish 1', **{'mimoe.edge.catalog_item': {
                'reference': 'hello@1.0.0', 'image': tars['amd64'], 'registry': registry}}),
            dict(once, name='publish 2', **{'mimoe.edge.catalog_item': {
                'reference': 'hello@2.0.0', 'image': tars['v2'], 'registry': registry}}),
            {'name': 'image', 'mimoe.edge.mcm_image': {'catalog': 'hello@1.0.0', 'arch': 'amd64',
                                                       'registry': registry, 'cache_dir': str(tmp_path / 'cache')}},
            {'name': 'mim', 'mimoe.edge.mcm_mim': {'start_file': EXAMPLE_START},
             'when': "inventory_hostname == 'current'"},
            {'name': 'read', 'mimoe.edge.mcm_info': {}, 'register': 'node_info'},
            dict(once, name='guarded', ignore_errors=True, **{'mimoe.edge.catalog_item': {
                'reference': 'hello@1.0.0', 'state': 'absent', 'in_use_from': fleet, 'registry': registry}}),
            dict(once, name='guarded list', ignore_errors=True, **{'mimoe.edge.catalog_item': {
                'reference': 'hello@1.0.0', 'state': 'absent', 'in_use_from': as_list, 'registry': registry}}),
            dict(once, name='read in a loop', register='loop_info', loop="{{ ansible_play_hosts }}",
                 **{'mimoe.edge.mcm_info': {'mcm_url': "{{ hostvars[item].node_url }}",
                                            'mcm_token': "{{ hostvars[item].node_token }}"}}),
            dict(once, name='guarded loop', ignore_errors=True, **{'mimoe.edge.catalog_item': {
                'reference': 'hello@1.0.0', 'state': 'absent', 'in_use_from': '{{ loop_info }}',
                'registry': registry}}),
            dict(once, name='not an mcm_info result', ignore_errors=True, **{'mimoe.edge.catalog_item': {
                'reference': 'hello@1.0.0', 'state': 'absent', 'in_use_from': [{'msg': 'x'}], 'registry': registry}}),
            dict(once, name='unused version', **{'mimoe.edge.catalog_item': {
                'reference': 'hello@2.0.0', 'state': 'absent', 'in_use_from': fleet, 'registry': registry}}),
            dict(once, name='forced', **{'mimoe.edge.catalog_item': {
                'reference': 'hello@1.0.0', 'state': 'absent', 'in_use_from': fleet, 'force': True,
                'registry': registry}}),
        ]
        run = ansible.run(tasks)
    res = {r['_task']: r for r in run.host('current')}
    guarded = res['guarded']
    assert guarded['_status'] == 'failed', guarded
    msg = guarded['msg']
    # the current node runs the mim hello-v1; the legacy node holds the image but runs no mim
    assert 'Refusing to delete hello@1.0.0' in msg and 'current: mim hello-v1, image hello-v1' in msg, msg
    assert 'legacy' not in msg and 'force=true' in msg
    listed = res['guarded list']
    # a plain list names a node by its position
    assert listed['_status'] == 'failed' and 'in_use_from[0]: mim hello-v1' in listed['msg'], listed
    looped = res['guarded loop']
    assert looped['_status'] == 'failed' and 'current: mim hello-v1' in looped['msg'], looped  # named by the item
    wrong = res['not an mcm_info result']
    assert wrong['_status'] == 'failed' and 'in_use_from[0]' in wrong['msg'] and 'no images list' in wrong['msg']
    assert res['unused version']['changed']
    assert res['forced']['changed'] and res['forced']['manifests_deleted'] == 2
