# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""playbooks/rollout.yml and rollback.yml as one mim_release transaction per node: --check --diff, --limit with the
build, fresh controllers (empty HOME, registry configured), legacy nodes never redeployed, output per node."""

from __future__ import annotations

import os
import shutil

import pytest

from registry import Registry
from rollout_helpers import ROOT, hello_tar, run_rollout, write_inventory
from mimoe_sim.testing import SimFleet, SimNode, http_json

pytestmark = [pytest.mark.node, pytest.mark.npm, pytest.mark.ansible]

HELLO_ENV = {'MCM.BASE_API_PATH': '/hello/v1'}
ROLLBACK = os.path.join(ROOT, 'playbooks', 'rollback.yml')


def stats(node):
    return http_json('GET', node.url + '/_sim/stats')[1]


def reset(node):
    http_json('POST', node.url + '/_sim/stats/reset')


def version(node):
    return http_json('GET', node.url + '/api/hello/v1/version', timeout=10)[1].get('version')


def counter(node, method='GET'):
    return http_json(method, node.url + '/api/hello/v1/counter', timeout=10)[1].get('counter')


def test_check_diff_of_an_upgrade_exits_0_writes_nothing_and_shows_the_plan(tmp_path):
    (tmp_path / 'work').mkdir()
    v1, v2 = hello_tar(tmp_path, '1.0.0'), hello_tar(tmp_path, '2.0.0')
    with SimFleet(2) as fleet:
        base = dict(mim_env=HELLO_ENV, mim_rollout_image_cache=str(tmp_path / 'cache'),
                    mim_secret_env={'DB_PASSWORD': 'chk-s3cret-77'})
        rc, out, _recap, _report = run_rollout(fleet.inventory_path, tmp_path / 'work', dict(base, image_tar=v1))
        assert rc == 0, out
        for node in fleet.nodes:
            reset(node)
        rc, out, recap, report = run_rollout(fleet.inventory_path, tmp_path / 'work', dict(base, image_tar=v2),
                                             flags=['--check', '--diff'])
        assert rc == 0, out
        for node in fleet.nodes:
            assert stats(node)['write_requests'] == 0, stats(node)
            assert version(node) == '1.0.0'
            assert 'would be upgraded (check mode): backup, remove_mim, upload_image, deploy, restore, ' \
                   'health_check' in out, out
        assert report['counts']['upgraded'] == 2, report
        assert all(n['plan'] for n in report['nodes'].values()), report
        assert '"version": "1.0.0"' in out and '"version": "2.0.0"' in out, out  # the diff
        assert 'chk-s3cret-77' not in out


def test_limit_to_one_node_builds_and_prints_the_summary(tmp_path):
    project = tmp_path / 'hello-mim'
    source = os.path.join(ROOT, 'examples', 'hello-mim')
    shutil.copytree(source, project, ignore=shutil.ignore_patterns('node_modules', 'build', 'deploy'))
    (project / 'node_modules').symlink_to(os.path.join(source, 'node_modules'), target_is_directory=True)
    (tmp_path / 'work').mkdir()
    with SimFleet(3) as fleet:
        target = fleet.nodes[1]
        rc, out, recap, report = run_rollout(
            fleet.inventory_path, tmp_path / 'work',
            dict(project_dir=str(project), mim_build_npm_ci=False, mim_env=HELLO_ENV,
                 mim_rollout_image_cache=str(tmp_path / 'cache')), flags=['--limit', target.name], timeout=400)
        assert rc == 0, out
        assert 'Build and package' in out and 'npm run' in out or 'Package the bundle' in out, out
        assert '%s hello-v1 none -> 1.0.0 upgraded' % target.name in out, out
        assert 'summary of hello-v1:1.0.0' in out and 'upgraded 1' in out, out
        assert report['counts']['upgraded'] == 1 and list(report['nodes']) == [target.name], report
        assert version(target) == '1.0.0'
        for node in fleet.nodes:
            if node is not target:
                assert stats(node)['requests_total'] == 0


@pytest.mark.registry
def test_fresh_controllers_roll_out_rerun_and_roll_back_with_the_registry(tmp_path):
    """Every run from its own empty HOME (an AWX job): the registry is the only thing kept between runs."""
    (tmp_path / 'work').mkdir()
    v1, v2 = hello_tar(tmp_path, '1.0.0'), hello_tar(tmp_path, '2.0.0')
    with Registry(tmp_path / 'registry') as reg, SimFleet(3, legacy_every=3) as fleet:
        legacy = [n for n in fleet.nodes if n.api == 'legacy']
        assert legacy
        runs = iter(range(100))

        def job(playbook=None, **extra):
            home = tmp_path / ('home-%d' % next(runs))
            extra = dict(dict(mim_env=HELLO_ENV, registry_url=reg.url, registry_namespace='edge', batch_size=5,
                              mim_rollout_image_cache=str(home / 'cache')), **extra)
            kwargs = {'playbook': playbook} if playbook else {}
            return run_rollout(fleet.inventory_path, tmp_path / 'work', extra, home=home, **kwargs)

        rc, out, _recap, report = job(image_tar=v1)
        assert rc == 0 and report['counts']['upgraded'] == 3, out
        for node in fleet.nodes:
            counter(node, 'POST')
            counter(node, 'POST')
            reset(node)

        # Re-run from another empty HOME: nothing changes, legacy nodes included (their counter stays 2).
        rc, out, recap, report = job(image_tar=v1)
        assert rc == 0 and report['counts']['unchanged'] == 3, out
        assert all(c['changed'] == 0 for c in recap.values()), out
        for node in fleet.nodes:
            assert stats(node)['write_requests'] == 0 and stats(node)['bytes_uploaded'] == 0, stats(node)
            assert counter(node) == 2

        # Upgrade from an empty HOME: the previous release comes from the registry.
        rc, out, _recap, report = job(image_tar=v2)
        assert rc == 0 and report['counts']['upgraded'] == 3, out
        assert {n['rollback_source'] for n in report['nodes'].values()} == {'registry'}, report
        from_digest = report['nodes'][fleet.nodes[0].name]['from_digest']

        # Roll back by digest from an empty HOME: the archive is fetched from the registry.
        rc, out, _recap, report = job(playbook=ROLLBACK, image_digest=from_digest)
        assert rc == 0 and report['counts']['upgraded'] == 3, out
        for node in fleet.nodes:
            assert version(node) == '1.0.0'
            if node not in legacy:
                assert counter(node) == 2  # the data went along both ways


@pytest.mark.slow
def test_twenty_nodes_print_about_five_lines_per_node(tmp_path):
    """With the collection's stdout callback (ANSIBLE_STDOUT_CALLBACK=mimoe.edge.rollout)."""
    (tmp_path / 'work').mkdir()
    v1 = hello_tar(tmp_path, '1.0.0')
    with SimFleet(20) as fleet:
        rc, out, _recap, report = run_rollout(
            fleet.inventory_path, tmp_path / 'work',
            dict(image_tar=v1, mim_env=HELLO_ENV, mim_rollout_image_cache=str(tmp_path / 'cache'), batch_size=5),
            timeout=600, env_extra={'ANSIBLE_STDOUT_CALLBACK': 'mimoe.edge.rollout'})
        assert rc == 0 and report['counts']['upgraded'] == 20, out
        lines = [line for line in out.splitlines() if line.strip()]
        assert len(lines) <= 5 * 20, '%d lines:\n%s' % (len(lines), out)
        assert 'batch 2/5' in out and 'batch 5/5' in out, out
        assert '%s hello-v1 none -> 1.0.0 upgraded' % fleet.nodes[6].name in out, out
        assert 'upgraded 20' in out
        for node in fleet.nodes:
            # One outcome line under its batch, one row of the final table, one line of the recap.
            mentions = [line for line in lines if line.split() and line.split()[0] == node.name]
            assert len(mentions) == 3, (node.name, mentions)
            assert sum('%s hello-v1 none -> 1.0.0 upgraded' % node.name == line for line in lines) == 1, out


def test_legacy_node_is_not_redeployed_by_a_rerun_from_an_empty_home(tmp_path):
    (tmp_path / 'work').mkdir()
    v1 = hello_tar(tmp_path, '1.0.0')
    with SimNode(data_dir=str(tmp_path / 'n1'), api='legacy', datastore_delay=0.01) as node:
        inventory = write_inventory(tmp_path / 'inventory.yml', {'edge1': node})
        extra = dict(image_tar=v1, mim_env=HELLO_ENV, mim_rollout_image_cache=str(tmp_path / 'cache'))
        rc, out, _recap, _report = run_rollout(inventory, tmp_path / 'work', extra, home=tmp_path / 'home1')
        assert rc == 0, out
        counter(node, 'POST')
        counter(node, 'POST')
        reset(node)
        rc, out, recap, report = run_rollout(inventory, tmp_path / 'work', extra, home=tmp_path / 'home2')
        assert rc == 0 and report['nodes']['edge1']['status'] == 'unchanged', out
        assert recap['edge1']['changed'] == 0
        assert stats(node)['write_requests'] == 0
        assert counter(node) == 2
