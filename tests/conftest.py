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
FakeNode in tests/unit but a simulator node elsewhere), from what its module imports when the module declares no
``pytestmark`` (IMPORT_MARKS), and from explicit ``pytest.mark.<name>``. A selected test whose part is missing
fails at setup with the marker to deselect, never skips: ``make test`` runs everything and fails on any skip. A test
that starts a node or a registry without its marker fails too (``_parts_are_declared``).
"""

from __future__ import annotations

import os
import shutil
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))

MARKERS = {
    'node': 'starts mimOE simulator nodes (tools/mimoe_sim; their mims run in Node.js, so it needs `node` too)',
    'registry': "starts a real OCI registry: Debian's docker-registry (apt-get install -y docker-registry)",
    'npm': 'needs Node.js, npm and the example mim built by the real packager (examples/hello-mim: npm ci, '
           'npm run build, npm run package)',
    'ansible': 'runs ansible-playbook / ansible-inventory / ansible-runner / ansible-builder as a subprocess',
    'slow': 'takes about a minute or more: npm builds, 20 or more nodes, ansible-runner',
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

# What a test module imports tells what its tests need, when the module declares no ``pytestmark`` of its own (a
# module that declares one says exactly what each of its tests needs). (module, name) -> markers.
IMPORT_MARKS = {
    ('mimoe_sim.testing', 'SimNode'): ('node',),
    ('mimoe_sim.testing', 'SimFleet'): ('node',),
    ('registry', 'Registry'): ('registry',),
    ('rollout_helpers', 'hello_tar'): ('npm',),  # built from the example's npm build output
    ('rollout_helpers', 'BUNDLE'): ('npm',),
    ('mcm_it', 'EXAMPLE_TAR'): ('npm',),
    ('rollout_helpers', 'run_rollout'): ('ansible',),
    ('rollout_helpers', 'ANSIBLE_PLAYBOOK'): ('ansible',),
    ('mcm_it', 'ANSIBLE_PLAYBOOK'): ('ansible',),
    ('mcm_it', 'Ansible'): ('ansible',),
    ('inventory_it', 'ANSIBLE_PLAYBOOK'): ('ansible',),
    ('inventory_it', 'inventory_list'): ('ansible',),
}


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


def _import_marks(module):
    """The markers of what ``module`` imports (IMPORT_MARKS), or none when it declares ``pytestmark``."""
    if module is None or hasattr(module, 'pytestmark'):
        return set()
    names = set()
    for (source, name), marks in IMPORT_MARKS.items():
        provider = sys.modules.get(source)
        if provider is not None and name in vars(module) and vars(module)[name] is getattr(provider, name, None):
            names.update(marks)
    return names


def pytest_collection_modifyitems(items):
    for item in items:
        relative = os.path.relpath(str(item.path), HERE).split(os.sep)
        table = FIXTURE_MARKS.get(relative[0], {})
        names = _import_marks(getattr(item, 'module', None))
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


@pytest.fixture(autouse=True)
def _parts_are_declared(request, monkeypatch):
    """A test that starts a simulator node or a registry without its marker fails (in make test, which runs every
    test): otherwise ``-m "not node"`` would select it on a machine that cannot run it."""
    marks = {mark.name for mark in request.node.iter_markers()}

    def refuse(part, what):
        def start(*_args, **_kwargs):
            pytest.fail('%s starts %s but is not marked %r: add @pytest.mark.%s (or pytestmark) so that '
                        'pytest -m "not %s" leaves it out (tests/README.md)'
                        % (request.node.nodeid, what, part, part, part), pytrace=False)
        return start

    testing = sys.modules.get('mimoe_sim.testing')
    if 'node' not in marks and testing is not None:
        monkeypatch.setattr(testing.SimNode, 'start', refuse('node', 'a simulator node'))
        monkeypatch.setattr(testing.SimFleet, 'start', refuse('node', 'simulator nodes'))
    registry = sys.modules.get('registry')
    if 'registry' not in marks and registry is not None and hasattr(registry, 'Registry'):
        monkeypatch.setattr(registry.Registry, 'start', refuse('registry', 'a docker-registry'))
