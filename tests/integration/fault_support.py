# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Shared by the fault scenario tests (test_fault_*.py): nodes with hello-v1 1.0.0 rolled out and a stored counter,
and the end-of-scenario checks every scenario makes (old or new version, never neither; data intact)."""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from rollout_helpers import hello_tar, run_rollout, write_inventory  # noqa: E402  pylint: disable=wrong-import-position
from mimoe_sim.testing import SimNode, http_json  # noqa: E402  pylint: disable=wrong-import-position

HELLO_ENV = {'MCM.BASE_API_PATH': '/hello/v1'}
VERSIONS = ('1.0.0', '2.0.0')


class Scenario:
    """A work dir with hello-v1 archives 1.0.0 and 2.0.0, an image cache, and simulator nodes by host name."""

    def __init__(self, tmp_path):
        self.tmp_path = tmp_path
        (tmp_path / 'work').mkdir()
        self.work = str(tmp_path / 'work')
        self.cache = str(tmp_path / 'cache')
        self.tars = {'v1': hello_tar(tmp_path, '1.0.0'), 'v2': hello_tar(tmp_path, '2.0.0')}
        self.nodes = {}

    def start_nodes(self, *names, api='current'):
        for name in names:
            self.nodes[name] = SimNode(data_dir=str(self.tmp_path / name), api=api, datastore_delay=0.01).start()
        return self.inventory()

    def inventory(self, tokens=None):
        """The inventory of the nodes; ``tokens`` ({host: token}) replaces their API keys."""
        nodes = {}
        for name, node in self.nodes.items():
            nodes[name] = _Host(node.url, (tokens or {}).get(name, node.api_key))
        return write_inventory(self.tmp_path / ('inventory-%d.yml' % len(os.listdir(str(self.tmp_path)))), nodes)

    def rollout(self, inventory, image, **extra):
        """playbooks/rollout.yml; returns (rc, output, recap, report)."""
        extra.setdefault('mim_env', HELLO_ENV)
        extra.setdefault('mim_rollout_image_cache', self.cache)
        extra.setdefault('mim_rollout_health_delay', 1)
        extra.setdefault('canary_count', len(self.nodes))
        return run_rollout(inventory, self.work, dict(extra, image_tar=self.tars.get(image, image)))

    def install_v1_with_counters(self, inventory):
        """1.0.0 on every node, then the counter of the n-th node (current API) set to n + 2."""
        rc, out, _recap, report = self.rollout(inventory, 'v1')
        assert rc == 0, out
        assert report['counts']['upgraded'] == len(self.nodes), report
        counters = {}
        for index, (name, node) in enumerate(sorted(self.nodes.items())):
            for _i in range(index + 2):
                assert mim(node, '/counter', 'POST')[0] == 200
            counters[name] = index + 2
            node.reset_stats()
        return counters

    def close(self):
        for node in self.nodes.values():
            node.close()


class _Host:
    def __init__(self, url, api_key):
        self.url = url
        self.api_key = api_key


def mim(node, path, method='GET'):
    return http_json(method, node.url + '/api/hello/v1' + path, timeout=10)


def assert_old_or_new(node, expected=None):
    """The node runs hello 1.0.0 or 2.0.0 (never neither); ``expected`` pins which. Returns the version."""
    status, body = mim(node, '/version')
    assert status == 200 and isinstance(body, dict) and body.get('version') in VERSIONS, (status, body)
    if expected:
        assert body['version'] == expected, body
    return body['version']


def assert_counter(node, value):
    """The mim's stored data (hello-mim's counter in its datastore) is intact."""
    assert mim(node, '/counter') == (200, {'counter': value})


def applied(outcomes, route):
    """How many requests of ``route`` the node handled successfully (answered or with the answer lost)."""
    return sum(count for outcome, count in (outcomes.get(route) or {}).items() if outcome.split()[0].startswith('2'))
