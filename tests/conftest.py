# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Markers that say what a test needs of the machine, so a part of the suite can be chosen by what a machine has:

    pytest -m "not registry"              # no Debian docker-registry
    pytest -m "not npm"                   # no npm / the example mim not built
    pytest -m "not node and not npm"      # no Node.js at all (simulator nodes run their mims in Node.js)
    pytest -m "not node and not ansible"  # the quick in-process part

A test gets its markers from the fixtures it uses (FIXTURE_MARKS below, per test directory: ``node`` means a
FakeNode in tests/unit but a simulator node elsewhere) and from explicit ``pytest.mark.<name>`` where a fixture
cannot tell (a test that starts a SimFleet or a Registry itself). A selected test whose part is missing fails at
setup with the marker to deselect, never skips: ``make test`` runs everything and fails on any skip.
"""

from __future__ import annotations

import os
import shutil

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))

MARKERS = {
    'node': 'starts mimOE simulator nodes (tools/mimoe_sim; their mims run in Node.js, so it needs `node` too)',
    'registry': "starts a real OCI registry: Debian's docker-registry (apt-get install -y docker-registry)",
    'npm': 'needs Node.js, npm and the example mim built by the real packager (examples/hello-mim: npm ci, '
           'npm run build, npm run package)',
    'ansible': 'runs ansible-playbook / ansible-inventory / ansible-runner / ansible-builder as a subprocess',
    'slow': 'takes more than about 30 s of wall time on an idle 2-core machine',
}

# Test directory (under tests/) -> fixture name -> the markers a test using that fixture gets.
FIXTURE_MARKS = {
    'integration': {
        'sim': ('node',),
        'both': ('node', 'ansible'),
        'ansible_for': ('ansible',),
        'scenario': ('node', 'npm', 'ansible'),
    },
    'sim': {
        'node_factory': ('node',),
        'sim_fleet': ('node',),
    },
}

EXAMPLE = os.path.join(os.path.dirname(HERE), 'examples', 'hello-mim')


def _missing_node():
    if os.environ.get('MIMOE_SIM_NODE') or shutil.which('node') or shutil.which('nodejs'):
        return None
    return 'Node.js (`node` on PATH or MIMOE_SIM_NODE): the simulator runs each mim in Node.js'


def _missing_npm():
    missing = [tool for tool in ('node', 'npm') if not shutil.which(tool)]
    if missing:
        return ' and '.join(missing) + ' on PATH'
    return None


def _missing_registry():
    if shutil.which('docker-registry'):
        return None
    return 'docker-registry on PATH (apt-get install -y docker-registry)'


REQUIREMENTS = {'node': _missing_node, 'npm': _missing_npm, 'registry': _missing_registry}


def pytest_configure(config):
    for name, description in MARKERS.items():
        config.addinivalue_line('markers', '%s: %s' % (name, description))


def pytest_collection_modifyitems(items):
    for item in items:
        relative = os.path.relpath(str(item.path), HERE).split(os.sep)
        table = FIXTURE_MARKS.get(relative[0], {})
        names = set()
        for fixture in item.fixturenames:
            names.update(table.get(fixture, ()))
        for name in sorted(names - {mark.name for mark in item.iter_markers()}):
            item.add_marker(getattr(pytest.mark, name))


def pytest_runtest_setup(item):
    """A selected test whose part is missing fails here, naming the part and the marker that leaves it out."""
    for mark in item.iter_markers():
        check = REQUIREMENTS.get(mark.name)
        problem = check() if check else None
        if problem:
            pytest.fail('this test needs %s; on a machine without it, deselect it: pytest -m "not %s"'
                        % (problem, mark.name), pytrace=False)
