# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The mimoe.edge.mcm_nodes inventory plugin, run by ``ansible-inventory`` / ``ansible-playbook`` against 20
simulator nodes: 18 of a fleet (3 on the legacy API) and 2 unreachable (a stopped node, and one that answers
slower than the timeout). Groups, hostvars, the vault token, the cache, unsafe values, hosts of another source."""

from __future__ import annotations

import time

import pytest
import yaml

from inventory_it import (
    ANSIBLE_PLAYBOOK, JINJA_PAYLOAD, deploy_mim, groups_of, image_bytes, inventory_list, parallel, plain,
    reset_stats, run, stats, upload_image, vault_value,
)
from mimoe_sim.testing import SimFleet, SimNode

pytestmark = [pytest.mark.node, pytest.mark.ansible]

TOKEN = 'Inv3ntory-Fleet-Key-5f2a'
TIMEOUT = 3


def hello_version(number):
    return '1.2.0' if number <= 7 else '1.3.0'


def seed(node):
    """What each fleet node runs: hello-v1 1.2.0 (node001-007) or 1.3.0 (node008-017), counter-v1 2.0.0 on
    node001-004, an image whose version is Jinja on node005, nothing on node018."""
    number = int(node.name[4:])
    if number == 18:
        return
    version = hello_version(number)
    upload_image(node.url, TOKEN, image_bytes('hello-v1', version))
    deploy_mim(node.url, TOKEN, node.api, 'hello-v1', 'hello-v1', {'MCM.BASE_API_PATH': '/hello/v1'})
    if number <= 4:
        upload_image(node.url, TOKEN, image_bytes('counter-v1', '2.0.0'))
        deploy_mim(node.url, TOKEN, node.api, 'counter-v1', 'counter-v1', {'MCM.BASE_API_PATH': '/counter/v1'})
    if number == 5:
        upload_image(node.url, TOKEN, image_bytes('evil-v1', JINJA_PAYLOAD))
        deploy_mim(node.url, TOKEN, node.api, 'evil-v1', 'evil-v1', {'MCM.BASE_API_PATH': '/evil/v1',
                                                                     'NOTE': JINJA_PAYLOAD})


@pytest.fixture(scope='module')
def fleet(tmp_path_factory):
    base = tmp_path_factory.mktemp('inventory')
    with SimFleet(18, data_dir=str(base / 'fleet'), api_key=TOKEN, legacy_every=6) as sim_fleet:
        stopped = SimNode(data_dir=str(base / 'stopped'), api_key=TOKEN).start()
        stopped.stop()
        slow = SimNode(data_dir=str(base / 'slow'), api_key=TOKEN).start()
        try:
            slow.set_faults(latency_ms=(TIMEOUT + 6) * 1000)
            parallel(seed, sim_fleet.nodes)
            yield {'fleet': sim_fleet, 'stopped': stopped, 'slow': slow, 'base': base}
        finally:
            slow.close()
            stopped.close()


@pytest.fixture
def work(tmp_path):
    password = tmp_path / 'vault-pass'
    password.write_text('h6-vault-password\n')
    return tmp_path


def write_config(work, fleet, name='fleet', **extra):
    """An mcm_nodes configuration for the 20 nodes, the shared token vault-encrypted."""
    nodes = [node.url for node in fleet['fleet'].nodes]
    nodes += [{'url': fleet['stopped'].url, 'name': 'stopped-node'},
              {'url': fleet['slow'].url, 'name': 'slow-node', 'vars': {'mimoe_arch': 'arm64'}}]
    config = {
        'plugin': 'mimoe.edge.mcm_nodes',
        'nodes': nodes,
        'timeout': TIMEOUT,
        'keyed_groups': [{'key': 'mcm_mim_versions', 'prefix': 'mim', 'default_value': 'unknown'},
                         {'key': 'mcm_api', 'prefix': 'api'}],
        'groups': {'hello_outdated': "mcm_mim_versions['hello-v1'] | default('9') is version('1.3.0', '<')"},
        'compose': {'hello_version': "mcm_mim_versions['hello-v1'] | default('absent')"},
    }
    config.update(extra)
    text = yaml.safe_dump(config, sort_keys=False)
    text += 'token: ' + vault_value(TOKEN, work / 'vault-pass', work).replace('\n', '\n  ') + '\n'
    path = work / ('%s.mcm_nodes.yml' % name)
    path.write_text(text)
    return path


def host_name(node):
    return '127.0.0.1_%d' % node.port


def test_groups_and_hostvars_of_20_nodes(fleet, work):
    config = write_config(work, fleet)
    started = time.monotonic()
    done = inventory_list([config], work, ['--vault-password-file', str(work / 'vault-pass')])
    seconds = time.monotonic() - started
    assert done.rc == 0, done.explain()
    print('ansible-inventory of 20 nodes (2 unreachable, timeout %ss): %.2fs' % (TIMEOUT, seconds))
    data = done.data
    groups = groups_of(data)
    hostvars = plain(data['_meta']['hostvars'])
    nodes = fleet['fleet'].nodes

    assert TOKEN not in done.stdout + done.stderr
    assert len(hostvars) == 20
    assert sorted(groups['mimoe_nodes']) == sorted([host_name(n) for n in nodes] + ['stopped-node', 'slow-node'])
    assert groups['mcm_unreachable'] == ['slow-node', 'stopped-node']
    assert 'connection refused' in hostvars['stopped-node']['mcm_unreachable_reason']
    assert 'no answer within the timeout' in hostvars['slow-node']['mcm_unreachable_reason']
    assert hostvars['slow-node']['mimoe_arch'] == 'arm64'
    for name in ('stopped-node', 'slow-node'):
        assert hostvars[name]['mcm_reachable'] is False
        assert hostvars[name]['mcm_mims'] == []
        assert 'is unreachable' in done.stderr and name in done.stderr
    assert '[WARNING]' not in done.stdout  # warnings go to stderr only (AWX parses stdout)

    legacy = sorted(host_name(n) for n in nodes if n.api == 'legacy')
    current = sorted(host_name(n) for n in nodes if n.api == 'current')
    assert len(legacy) == 3
    assert groups['api_legacy'] == legacy
    assert groups['api_current'] == current
    by_number = {int(n.name[4:]): host_name(n) for n in nodes}
    expect_12 = sorted(by_number[i] for i in range(1, 8) if nodes[i - 1].api == 'current')
    expect_13 = sorted(by_number[i] for i in range(8, 18) if nodes[i - 1].api == 'current')
    assert groups['mim_hello_v1_1_2_0'] == expect_12
    assert groups['mim_hello_v1_1_3_0'] == expect_13
    # Legacy nodes do not tell image versions (no repoTags): keyed_groups default_value
    assert groups['mim_hello_v1_unknown'] == sorted(by_number[i] for i in (6, 12))
    assert groups['mim_counter_v1_2_0_0'] == sorted(by_number[i] for i in range(1, 5))
    assert sorted(groups['hello_outdated']) == expect_12

    one = hostvars[by_number[1]]
    assert one['mcm_url'] == nodes[0].url
    assert one['mcm_api'] == 'current'
    assert one['mcm_reachable'] is True
    assert one['ansible_connection'] == 'local'
    assert one['mcm_mim_versions'] == {'hello-v1': '1.2.0', 'counter-v1': '2.0.0'}
    assert one['hello_version'] == '1.2.0'
    hello = [m for m in one['mcm_mims'] if m['name'] == 'hello-v1'][0]
    assert hello['image'] == 'hello-v1' and hello['state'] == 'started' and hello['version'] == '1.2.0'
    image = [i for i in one['mcm_images'] if i['name'] == 'hello-v1'][0]
    assert hello['digest'] == image['digest'] and image['digest'].startswith('sha256:')
    assert image['repo_tags'] == ['hello-v1:1.2.0']
    assert 'env' not in hello  # env may hold secrets: never a hostvar
    empty = hostvars[by_number[18]]
    assert empty['mcm_mims'] == [] and empty['mcm_mim_versions'] == {} and empty['hello_version'] == 'absent'
    legacy_one = hostvars[by_number[6]]
    assert legacy_one['mcm_api'] == 'legacy'
    assert legacy_one['mcm_mim_versions'] == {'hello-v1': None}
    assert [m['digest'] for m in legacy_one['mcm_mims']][0].startswith('sha256:')


def test_cache_second_run_sends_no_request(fleet, work):
    cache_dir = work / 'cache'
    config = write_config(work, fleet, cache=True, cache_plugin='ansible.builtin.jsonfile',
                          cache_connection=str(cache_dir), cache_timeout=600)
    urls = [n.url for n in fleet['fleet'].nodes] + [fleet['slow'].url]
    reset_stats(urls)
    first = inventory_list([config], work, ['--vault-password-file', str(work / 'vault-pass')])
    assert first.rc == 0, first.explain()
    assert all(stats(url)['requests_total'] >= 1 for url in urls)
    cached_text = ''.join(p.read_text() for p in cache_dir.iterdir())
    assert TOKEN not in cached_text and 'mcm_mims' not in cached_text and 'hello-v1' in cached_text

    reset_stats(urls)
    started = time.monotonic()
    second = inventory_list([config], work, ['--vault-password-file', str(work / 'vault-pass')])
    print('second (cached) run: %.2fs' % (time.monotonic() - started))
    assert second.rc == 0, second.explain()
    assert [stats(url)['requests_total'] for url in urls] == [0] * len(urls)
    assert second.data == first.data

    flushed = inventory_list([config], work, ['--vault-password-file', str(work / 'vault-pass'), '--flush-cache'])
    assert flushed.rc == 0, flushed.explain()
    assert all(stats(url)['requests_total'] >= 1 for url in urls)


def test_node_values_are_never_templated(fleet, work):
    """node005 runs an image whose version is ``{{ lookup('pipe', 'id') }}``: plays see that text, not uid=..."""
    config = write_config(work, fleet, compose={'evil_version': "mcm_mim_versions['evil-v1'] | default('')"})
    target = '127.0.0.1_%d' % fleet['fleet'].nodes[4].port
    playbook = work / 'show.yml'
    playbook.write_text(yaml.safe_dump([{
        'name': 'Show node values', 'hosts': target, 'gather_facts': False,
        'tasks': [
            {'name': 'Version from the hostvar', 'ansible.builtin.debug': {'msg': "V1={{ mcm_mim_versions['evil-v1'] }}"}},
            {'name': 'Version from compose', 'ansible.builtin.debug': {'msg': 'V2={{ evil_version }}'}},
            {'name': 'Whole mim list', 'ansible.builtin.debug': {'var': 'mcm_mims'}},
        ]}], sort_keys=False))
    done = run([ANSIBLE_PLAYBOOK, '-i', str(config), '--vault-password-file', str(work / 'vault-pass'),
                str(playbook)], work)
    assert done.rc == 0, done.explain()
    assert 'uid=' not in done.stdout + done.stderr
    assert 'V1=%s' % JINJA_PAYLOAD in done.stdout
    assert 'V2=%s' % JINJA_PAYLOAD in done.stdout


def test_hosts_of_another_source(fleet, work):
    """``-i static inventory -i plugin config``: its hosts (mcm_url, own mcm_token, mimoe_arch) are read."""
    config = work / 'edge.mcm_nodes.yml'
    config.write_text(yaml.safe_dump({'plugin': 'mimoe.edge.mcm_nodes', 'use_inventory_hosts': True,
                                      'timeout': TIMEOUT,
                                      'keyed_groups': [{'key': 'mcm_mim_versions', 'prefix': 'mim',
                                                        'default_value': 'unknown'}]}))
    with open(fleet['fleet'].inventory_path, encoding='utf-8') as fh:
        static = yaml.safe_load(fh)
    # node001's token is a reference to a group variable of that source, as with a vault-encrypted variable
    static['all']['children']['mimoe_nodes']['vars'] = {'fleet_key': TOKEN}
    static['all']['children']['mimoe_nodes']['hosts']['node001']['mcm_token'] = '{{ fleet_key }}'
    hosts = work / 'hosts.yml'
    hosts.write_text(yaml.safe_dump(static))
    done = inventory_list([hosts, config], work)
    assert done.rc == 0, done.explain()
    hostvars = plain(done.data['_meta']['hostvars'])
    groups = groups_of(done.data)
    assert sorted(hostvars) == sorted(n.name for n in fleet['fleet'].nodes)
    assert 'mcm_unreachable' not in groups
    assert groups['mim_hello_v1_1_2_0'] == ['node001', 'node002', 'node003', 'node004', 'node005', 'node007']
    for node in fleet['fleet'].nodes:
        assert hostvars[node.name]['mimoe_arch'] == node.arch  # kept: the MCM API does not tell the arch
        assert hostvars[node.name]['mcm_api'] == node.api
        assert hostvars[node.name]['mcm_reachable'] is True
