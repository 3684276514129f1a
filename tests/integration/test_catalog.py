# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The catalog against a real registry (Debian's docker-registry on loopback, with htpasswd Basic auth and
anonymous): catalog_item / catalog_info through ansible-playbook, mcm_image with a catalog reference, and the
mim_rollout role rolling a catalog version out to mixed-architecture simulator nodes (both pull modes)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import yaml

from mcm_it import ANSIBLE_PLAYBOOK, COLLECTIONS_DIR, HERE, Run
from registry import Registry
from rollout_helpers import BUNDLE, run_rollout
from mimoe_sim.imagetar import build_image_tar
from mimoe_sim.testing import SimFleet, http_json

pytestmark = [pytest.mark.registry, pytest.mark.npm, pytest.mark.ansible]

USER = 'publisher'
PASSWORD = 'Catal0g-Pa55word-xyz'
WRONG_PASSWORD = 'Wr0ng-Pa55word-abc'
HELLO_ENV = {'MCM.BASE_API_PATH': '/hello/v1'}


def arch_tar(directory, version, flavour):
    """hello-v1:<version> whose bundle carries a per-architecture comment (so each flavour has its own digest)."""
    with open(BUNDLE, encoding='utf-8') as handle:
        bundle = handle.read().replace('r="1.0.0"', 'r="%s"' % version)
    data = build_image_tar('hello-v1', version, bundle + '\n/* build for %s */\n' % flavour,
                           layer_id='%064x' % 1, mtime=0)
    path = os.path.join(str(directory), 'hello-v1-%s-%s.tar' % (version, flavour))
    with open(path, 'wb') as handle:
        handle.write(data)
    return path


def run_play(tmp_path, tasks, name='catalog', env=None, expect_rc=0, inventory='localhost,', hosts='localhost'):
    """Run ``tasks``; returns a :class:`mcm_it.Run` and ``{task name: result}`` of the first host (results through
    the mcm_results callback)."""
    count = len(list(tmp_path.glob('%s-*.yml' % name)))
    playbook = tmp_path / ('%s-%d.yml' % (name, count))
    play = {'name': name, 'hosts': hosts, 'gather_facts': False,
            'vars': {'ansible_python_interpreter': sys.executable}, 'tasks': tasks}
    if hosts == 'localhost':
        play['connection'] = 'local'
    playbook.write_text(yaml.safe_dump([play], sort_keys=False))
    results_file = tmp_path / ('%s-%d.jsonl' % (name, count))
    run_env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS_DIR,
                   ANSIBLE_CALLBACK_PLUGINS=os.path.join(HERE, 'callback_plugins'),
                   ANSIBLE_CALLBACKS_ENABLED='mcm_results', ANSIBLE_NOCOLOR='1', ANSIBLE_FORCE_COLOR='0',
                   ANSIBLE_LOCALHOST_WARNING='False', ANSIBLE_INVENTORY_UNPARSED_WARNING='False',
                   ANSIBLE_LOCAL_TEMP=str(tmp_path / 'ansible-tmp'), ANSIBLE_HOME=str(tmp_path / 'ansible-home'),
                   MCM_TEST_RESULTS=str(results_file))
    for key in ('MIMOE_REGISTRY_URL', 'MIMOE_REGISTRY_USERNAME', 'MIMOE_REGISTRY_PASSWORD', 'MIMOE_REGISTRY_NAMESPACE'):
        run_env.pop(key, None)
    run_env.update(env or {})
    proc = subprocess.run([ANSIBLE_PLAYBOOK, '-i', inventory, '-v', str(playbook)], env=run_env,
                          capture_output=True, text=True, timeout=300, check=False)
    results = []
    if results_file.exists():
        results = [json.loads(line) for line in results_file.read_text().splitlines() if line.strip()]
    run = Run(proc.returncode, proc.stdout, proc.stderr, results)
    if expect_rc is not None:
        assert proc.returncode == expect_rc, run.explain()
    first = hosts if hosts == 'localhost' else (run.results[0]['host'] if run.results else None)
    return run, {r['_task']: r for r in run.host(first)}


@pytest.fixture
def tars(tmp_path):
    return {'amd64': arch_tar(tmp_path, '1.0.0', 'amd64'), 'arm': arch_tar(tmp_path, '1.0.0', 'arm'),
            'v2': arch_tar(tmp_path, '2.0.0', 'all')}


def sha256(path):
    import hashlib  # pylint: disable=import-outside-toplevel
    with open(path, 'rb') as handle:
        return 'sha256:' + hashlib.sha256(handle.read()).hexdigest()


def test_publish_browse_resolve_import_guarded_delete_with_basic_auth(tmp_path, tars):
    """One playbook against an htpasswd registry: publish, re-publish (0 blobs), check mode, browse, resolve and
    download, iofogctl import (cross-repository reference), guarded delete, forced delete, wrong password."""
    with Registry(tmp_path / 'registry', users={USER: PASSWORD}) as reg:
        registry = {'url': reg.url, 'username': USER, 'password': PASSWORD, 'namespace': 'acme/mims'}
        images = {'amd64': tars['amd64'], 'arm64': tars['amd64'], 'arm': tars['arm']}
        iofog = tmp_path / 'iofog.yaml'
        iofog.write_text(yaml.safe_dump({
            'apiVersion': 'iofog.org/v3', 'kind': 'CatalogItem', 'metadata': {'name': 'hello-iofog'},
            'spec': {'description': 'Imported from iofogctl', 'x86': tars['amd64'], 'arm': 'hello@1.0.0/arm',
                     'registry': 'remote', 'configExample': '{}'}}))
        item = {'name': 'hello', 'version': '1.0.0', 'description': 'Hello mim', 'images': images,
                'registry': registry}
        in_use = "{{ [info.resolved.arm.image_digest] }}"
        tasks = [
            {'name': 'publish', 'mimoe.edge.catalog_item': item, 'register': 'published', 'diff': True},
            {'name': 'republish', 'mimoe.edge.catalog_item': item},
            {'name': 'other images refused', 'mimoe.edge.catalog_item': dict(item, images={'amd64': tars['v2']}),
             'ignore_errors': True},
            {'name': 'check mode', 'check_mode': True, 'mimoe.edge.catalog_item': {
                'name': 'hello', 'version': '2.0.0', 'image': tars['v2'], 'registry': registry}},
            {'name': 'browse', 'mimoe.edge.catalog_info': {'registry': registry}},
            {'name': 'resolve', 'mimoe.edge.catalog_info': {
                'reference': 'hello@1.0.0', 'download': True, 'cache_dir': str(tmp_path / 'cache'),
                'registry': registry}, 'register': 'info'},
            {'name': 'resolve again', 'mimoe.edge.catalog_info': {
                'reference': 'hello@1.0.0', 'arch': ['arm'], 'download': True, 'cache_dir': str(tmp_path / 'cache'),
                'registry': registry}},
            {'name': 'import', 'mimoe.edge.catalog_item': {'src': str(iofog), 'version': '1.0.0',
                                                           'registry': registry}},
            {'name': 'import again', 'mimoe.edge.catalog_item': {'src': str(iofog), 'version': '1.0.0',
                                                                 'registry': registry}},
            {'name': 'guarded delete', 'mimoe.edge.catalog_item': {
                'name': 'hello', 'version': '1.0.0', 'state': 'absent', 'in_use': in_use, 'registry': registry},
             'ignore_errors': True},
            {'name': 'forced delete', 'mimoe.edge.catalog_item': {
                'name': 'hello', 'version': '1.0.0', 'state': 'absent', 'in_use': in_use, 'force': True,
                'registry': registry}},
            {'name': 'delete again', 'mimoe.edge.catalog_item': {
                'name': 'hello', 'version': '1.0.0', 'state': 'absent', 'registry': registry}},
            {'name': 'browse after', 'mimoe.edge.catalog_info': {'registry': registry}},
            {'name': 'wrong password', 'mimoe.edge.catalog_info': {'registry': dict(registry,
                                                                                    password=WRONG_PASSWORD)},
             'ignore_errors': True},
            {'name': 'no credentials', 'mimoe.edge.catalog_info': {'registry': {'url': reg.url}},
             'ignore_errors': True},
        ]
        run, res = run_play(tmp_path, tasks)
        log = reg.requests()

    first = res['publish']
    assert first['changed'] and first['blobs_pushed'] == 3 and first['blobs_skipped'] == 1, first
    assert first['manifests_pushed'] == 3 and first['repository'] == 'acme/mims/hello'
    archs = first['item']['architectures']
    assert archs['amd64']['image_digest'] == archs['arm64']['image_digest'] == sha256(tars['amd64'])
    assert archs['arm']['image_digest'] == sha256(tars['arm'])
    assert archs['amd64']['manifest_digest'] == archs['arm64']['manifest_digest'] != archs['arm']['manifest_digest']
    assert first['diff']['before'] == {'state': 'absent'}

    again = res['republish']
    assert not again['changed'] and again['blobs_pushed'] == 0 and again['manifests_pushed'] == 0, again
    assert again['item']['digest'] == first['item']['digest']
    assert res['other images refused']['_status'] == 'failed'
    assert 'already published with other images' in res['other images refused']['msg']
    assert res['check mode']['changed'] and res['check mode']['actions']

    browse = res['browse']['items']
    assert [i['name'] for i in browse] == ['hello']
    assert [v['version'] for v in browse[0]['versions']] == ['1.0.0']
    assert browse[0]['description'] == 'Hello mim'
    assert browse[0]['versions'][0]['architectures']['arm']['size'] == os.path.getsize(tars['arm'])

    resolved = res['resolve']['resolved']
    assert sorted(resolved) == ['amd64', 'arm', 'arm64']
    assert resolved['arm']['image_name'] == 'hello-v1' and resolved['arm']['repo_tag'] == 'hello-v1:1.0.0'
    assert sorted(res['resolve']['downloaded']) == sorted({sha256(tars['amd64']), sha256(tars['arm'])})
    assert sha256(resolved['arm']['path']) == sha256(tars['arm'])
    assert res['resolve again']['downloaded'] == [] and list(res['resolve again']['resolved']) == ['arm']

    imported = res['import']
    assert imported['changed'] and imported['repository'] == 'acme/mims/hello-iofog'
    assert imported['item']['description'] == 'Imported from iofogctl'
    assert sorted(imported['item']['architectures']) == ['amd64', 'arm']
    assert imported['item']['architectures']['arm']['image_digest'] == sha256(tars['arm'])
    # the x86 archive is uploaded to the new repository (layer and config), the arm image is mounted from hello
    assert (imported['blobs_pushed'], imported['blobs_mounted'], imported['blobs_skipped']) == (2, 1, 1), imported
    assert not res['import again']['changed']

    guarded = res['guarded delete']
    assert guarded['_status'] == 'failed' and 'in use' in guarded['msg'] and 'force=true' in guarded['msg']
    assert res['forced delete']['changed'] and res['forced delete']['manifests_deleted'] >= 1
    assert not res['delete again']['changed']
    after = dict((i['name'], i) for i in res['browse after']['items'])
    assert sorted(after) == ['hello-iofog']  # hello has no version left
    assert [v['version'] for v in after['hello-iofog']['versions']] == ['1.0.0']

    wrong = res['wrong password']
    assert wrong['_status'] == 'failed' and '401' in wrong['msg'] and USER in wrong['msg'], wrong
    assert 'registry.password' in wrong['msg']
    anonymous = res['no credentials']
    assert anonymous['_status'] == 'failed' and 'requires credentials' in anonymous['msg']
    for secret in (PASSWORD, WRONG_PASSWORD):
        assert secret not in run.stdout and secret not in run.stderr
        assert secret not in json.dumps(run.results)

    # What the registry saw: one upload per new blob (the re-publish and check mode pushed nothing).
    blob_puts = [r for r in log if r[0] == 'PUT' and '/blobs/uploads/' in r[1]]
    manifest_puts = [r for r in log if r[0] == 'PUT' and '/manifests/' in r[1]]
    assert len(blob_puts) == 3 + 2, log
    assert len(manifest_puts) == 3 + 3, log  # publish and import: two artifacts and the index each
    assert ('PUT', '/v2/acme/mims/hello/manifests/2.0.0', 201) not in log


def node_images(node):
    """``{image name: sha256 hex}`` of a node (current: ``digest``; legacy: the ``sha256:`` id)."""
    status, body = http_json('GET', node.url + '/mcm/v1/images', headers={'Authorization': 'Bearer ' + node.api_key})
    assert status == 200, body
    return {i['name']: (i.get('digest') or i['id']).split(':')[1] for i in body['data']}


def node_stats(node):
    return http_json('GET', node.url + '/_sim/stats')[1]


def test_mcm_image_from_catalog_both_pull_modes(tmp_path, tars, sim, ansible_for):
    """mcm_image catalog=...: controller pull (cache, re-run unchanged), node pull from an anonymous registry
    (only a JSON request reaches the node), node pull refused for a registry that needs credentials, missing arch."""
    with Registry(tmp_path / 'anon') as anon, Registry(tmp_path / 'auth', users={USER: PASSWORD}) as auth:
        anon_reg = {'url': anon.url}
        auth_reg = {'url': auth.url, 'username': USER, 'password': PASSWORD}
        publish = {'name': 'hello', 'version': '1.0.0', 'images': {'amd64': tars['amd64'], 'arm': tars['arm']}}
        nodes = {'current': sim('current'), 'legacy': sim('legacy')}
        ansible = ansible_for(nodes)
        cache = str(tmp_path / 'cache')
        tasks = [
            {'name': 'publish anon', 'mimoe.edge.catalog_item': dict(publish, registry=anon_reg),
             'run_once': True, 'delegate_to': 'localhost'},
            {'name': 'publish auth', 'mimoe.edge.catalog_item': dict(publish, registry=auth_reg),
             'run_once': True, 'delegate_to': 'localhost'},
            {'name': 'controller pull check', 'check_mode': True, 'mimoe.edge.mcm_image': {
                'catalog': 'hello@1.0.0', 'arch': "{{ 'amd64' if inventory_hostname == 'current' else 'arm' }}",
                'registry': auth_reg, 'cache_dir': str(tmp_path / 'cache-check')}},
            {'name': 'controller pull', 'mimoe.edge.mcm_image': {
                'catalog': 'hello@1.0.0', 'arch': "{{ 'amd64' if inventory_hostname == 'current' else 'arm' }}",
                'registry': auth_reg, 'cache_dir': cache}},
            {'name': 'controller pull again', 'mimoe.edge.mcm_image': {
                'catalog': 'hello@1.0.0', 'arch': "{{ 'amd64' if inventory_hostname == 'current' else 'arm' }}",
                'registry': auth_reg, 'cache_dir': cache}},
            {'name': 'remove', 'mimoe.edge.mcm_image': {'name': 'hello-v1', 'state': 'absent'}},
            {'name': 'node pull check', 'mimoe.edge.mcm_image': {
                'catalog': 'hello@1.0.0', 'arch': 'arm', 'pull': 'node', 'registry': anon_reg}, 'check_mode': True},
            {'name': 'node pull', 'mimoe.edge.mcm_image': {
                'catalog': 'hello@1.0.0', 'arch': 'arm', 'pull': 'node', 'registry': anon_reg}},
            {'name': 'node pull again', 'mimoe.edge.mcm_image': {
                'catalog': 'hello@1.0.0', 'arch': 'arm', 'pull': 'node', 'registry': anon_reg}},
            {'name': 'node pull needs anonymous', 'mimoe.edge.mcm_image': {
                'catalog': 'hello@1.0.0', 'arch': 'arm', 'pull': 'node', 'registry': auth_reg},
             'ignore_errors': True},
            {'name': 'missing arch', 'mimoe.edge.mcm_image': {
                'catalog': 'hello@1.0.0', 'arch': 'arm64', 'registry': anon_reg}, 'ignore_errors': True},
        ]
        for node in nodes.values():
            http_json('POST', node.url + '/_sim/stats/reset')
        run = ansible.run(tasks)
        for host, node in nodes.items():
            res = {r['_task']: r for r in run.host(host)}
            want = sha256(tars['amd64'] if host == 'current' else tars['arm'])
            check = res['controller pull check']
            assert check['changed'] and check['digest'] == want and 'uploaded image hello-v1' in check['actions'][-1]
            assert res['controller pull']['changed'] and res['controller pull']['digest'] == want, res
            assert res['controller pull']['catalog']['path'] == os.path.join(cache, want[7:] + '.tar')
            assert not res['controller pull again']['changed']
            assert res['node pull check']['changed']
            assert res['node pull']['changed'], res['node pull']
            assert res['node pull']['catalog']['url'].startswith(anon.url + '/v2/hello/blobs/sha256:')
            assert not res['node pull again']['changed']
            assert node_images(node)['hello-v1'] == sha256(tars['arm'])[7:]
            refused = res['node pull needs anonymous']
            assert refused['_status'] == 'failed' and 'without credentials' in refused['msg'], refused
            missing = res['missing arch']
            assert missing['_status'] == 'failed' and 'no image for the architecture arm64' in missing['msg']
            # The node pull sent a small JSON body, the controller pull the whole archive (once).
            uploads = node_stats(node)['by_endpoint']['POST /mcm/v1/images']
            assert uploads['requests'] == 2
            archive_size = os.path.getsize(tars['amd64'] if host == 'current' else tars['arm'])
            assert archive_size < uploads['bytes'] < archive_size + 2000, uploads
        assert PASSWORD not in run.stdout and PASSWORD not in json.dumps(run.results)
        assert not os.path.exists(str(tmp_path / 'cache-check'))  # check mode downloaded nothing
        anon_blob_gets = [r for r in anon.requests() if r[0] == 'GET' and '/blobs/' in r[1]]
        assert len(anon_blob_gets) == 2  # one node download per node (the legacy and the current one)


@pytest.mark.node
def test_rollout_from_catalog_to_mixed_architectures(tmp_path, tars):
    """playbooks/rollout.yml catalog=hello@1.0.0 to amd64/arm64/arm nodes: each gets its architecture's image,
    the controller downloads each digest once; a re-run changes nothing; then 2.0.0 pulled by the nodes."""
    work = tmp_path / 'work'
    work.mkdir()
    cache = str(tmp_path / 'cache')
    with Registry(tmp_path / 'registry') as reg, SimFleet(3, arch_cycle=('amd64', 'arm64', 'arm')) as fleet:
        run, _res = run_play(tmp_path, [
            {'name': 'publish 1.0.0', 'mimoe.edge.catalog_item': {
                'name': 'hello', 'version': '1.0.0', 'registry': {'url': reg.url},
                'images': {'amd64': tars['amd64'], 'arm64': tars['amd64'], 'arm': tars['arm']}}},
            {'name': 'publish 2.0.0 (no arm build)', 'mimoe.edge.catalog_item': {
                'name': 'hello', 'version': '2.0.0', 'registry': {'url': reg.url},
                'images': {'amd64': tars['v2'], 'arm64': tars['v2']}}},
        ])
        assert run.rc == 0
        extra = {'catalog': 'hello@1.0.0', 'registry_url': reg.url, 'mim_env': HELLO_ENV,
                 'mim_rollout_image_cache': cache, 'mim_rollout_health_delay': 1, 'batch_size': 2}
        mark = reg.mark()
        rc, out, _recap, report = run_rollout(fleet.inventory_path, work, extra)
        assert rc == 0, out
        assert report['counts']['upgraded'] == 3, out
        for node in fleet.nodes:
            want = sha256(tars['arm'] if node.arch == 'arm' else tars['amd64'])
            assert node_images(node)['hello-v1'] == want[7:], node.arch
            assert report['nodes'][node.name]['to_digest'] == want
        blob_gets = [r for r in reg.requests_since(mark) if r[0] == 'GET' and '/blobs/' in r[1]]
        assert len(blob_gets) == 2, blob_gets  # each distinct digest downloaded once, for three nodes
        assert sorted(f for f in os.listdir(cache) if f.endswith('.tar')) == sorted({sha256(tars['amd64'])[7:] + '.tar', sha256(tars['arm'])[7:] + '.tar'})

        for node in fleet.nodes:
            http_json('POST', node.url + '/_sim/stats/reset')
        rc, out, recap, report = run_rollout(fleet.inventory_path, work, extra)
        assert rc == 0, out
        assert report['counts']['unchanged'] == 3 and all(r['changed'] == 0 for r in recap.values()), out
        assert all(node_stats(n)['bytes_uploaded'] == 0 for n in fleet.nodes)

        # 2.0.0 has no arm image: the arm node fails before it is touched; the nodes pull their image themselves.
        mark = reg.mark()
        rc, out, _recap, report = run_rollout(fleet.inventory_path, work, dict(
            extra, catalog='hello@2.0.0', pull='node', canary_count=1, rollout_max_fail_percentage=50))
        assert 'has no image for the architecture arm' in out, out
        arm = [n for n in fleet.nodes if n.arch == 'arm'][0]
        assert node_images(arm)['hello-v1'] == sha256(tars['arm'])[7:]
        for node in fleet.nodes:
            if node.arch != 'arm':
                assert node_images(node)['hello-v1'] == sha256(tars['v2'])[7:]
                # pull=node: the node fetched the blob URL, the controller sent it no archive
                assert node_stats(node)['bytes_uploaded'] < 2000, out
        node_gets = [r for r in reg.requests_since(mark) if r[0] == 'GET' and '/blobs/' in r[1]]
        # One per amd64/arm64 node; the controller downloads nothing (a rollback finds the release in the registry).
        assert len(node_gets) == 2, node_gets

        # What the fleet runs (mcm_info on every node) guards the catalog: the arm node still runs 1.0.0.
        run, _res = run_play(tmp_path, [
            {'name': 'images', 'mimoe.edge.mcm_info': {'mcm_url': '{{ mcm_url }}', 'mcm_token': '{{ mcm_token }}',
                                                       'mims': False}, 'register': 'node_images'},
            {'name': 'delete', 'run_once': True, 'delegate_to': 'localhost', 'mimoe.edge.catalog_item': {
                'name': 'hello', 'version': '{{ item }}', 'state': 'absent', 'registry': {'url': reg.url},
                'in_use': "{{ (__images | map(attribute='digest', default='') | list)"
                          " + (__images | map(attribute='id') | list) }}"},
             'vars': {'__images': "{{ ansible_play_hosts | map('extract', hostvars, ['node_images', 'images'])"
                                  " | flatten }}"},
             'loop': ['1.0.0', '2.0.0'], 'ignore_errors': True},
        ], name='guard', inventory=fleet.inventory_path, hosts='mimoe_nodes')
        deletes = [r['result'] for r in run.results if r['task'] == 'delete']
        assert len(deletes) == 1, run.explain()
        result = [item.get('msg', 'deleted') for item in deletes[0]['results']]
        assert len(result) == 2, run.explain()
        assert 'Refusing to delete hello@1.0.0: it is in use' in result[0], run.explain()
        assert 'Refusing to delete hello@2.0.0: it is in use' in result[1], run.explain()


def test_publish_playbook_is_idempotent(tmp_path, tars):
    """playbooks/publish.yml with an archive: publishes hello-v1@1.0.0 (name and version from the RepoTag), a
    re-run reports no change and pushes nothing; the password comes from the environment (AWX credential)."""
    playbook = os.path.join(os.path.dirname(os.path.dirname(HERE)), 'playbooks', 'publish.yml')
    with Registry(tmp_path / 'registry', users={USER: PASSWORD}) as reg:
        env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS_DIR, ANSIBLE_NOCOLOR='1',
                   ANSIBLE_LOCALHOST_WARNING='False', ANSIBLE_INVENTORY_UNPARSED_WARNING='False',
                   ANSIBLE_LOCAL_TEMP=str(tmp_path / 'tmp'), MIMOE_REGISTRY_PASSWORD=PASSWORD)
        cmd = [ANSIBLE_PLAYBOOK, '-i', 'localhost,', '-c', 'local', playbook, '-e',
               json.dumps({'image_tar': tars['amd64'], 'registry_url': reg.url, 'registry_username': USER,
                           'registry_namespace': 'team', 'description': 'Hello'})]
        outputs = []
        for _run in range(2):
            done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300, check=False)
            assert done.returncode == 0, done.stdout + done.stderr
            outputs.append(done.stdout + done.stderr)
        tags = [r for r in reg.requests() if r[0] == 'PUT' and r[1] == '/v2/team/hello-v1/manifests/1.0.0']
    assert 'team/hello-v1:1.0.0 sha256:' in outputs[0] and 'blobs pushed 2' in outputs[0], outputs[0]
    assert 'blobs pushed 0' in outputs[1] and 'changed=0' in outputs[1], outputs[1]
    assert len(tags) == 1
    assert PASSWORD not in outputs[0] + outputs[1]
