# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fixtures of the integration tests; the helpers they use live in ``mcm_it`` (a unique module name, so the
suites can run in one pytest session next to other ``conftest`` modules)."""

from __future__ import annotations

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from fault_support import Scenario  # noqa: E402  pylint: disable=wrong-import-position
from mcm_it import Ansible  # noqa: E402  pylint: disable=wrong-import-position
from mimoe_sim.testing import SimNode  # noqa: E402  pylint: disable=wrong-import-position


@pytest.fixture
def sim(tmp_path):
    """``sim(api, legacy_image_id=None)`` -> a started SimNode (``current`` or ``legacy``; how a legacy node shows
    image ids: ``archive``, ``config``, ``short`` or ``opaque``), stopped at teardown."""
    nodes = []

    def start(api='current', legacy_image_id=None):
        node = SimNode(data_dir=str(tmp_path / ('node-%d' % len(nodes))), api=api, datastore_delay=0.01,
                       legacy_image_id=legacy_image_id)
        nodes.append(node)
        return node.start()

    yield start
    for node in nodes:
        node.close()


@pytest.fixture
def ansible_for(tmp_path):
    """``ansible_for({host: node, ...})`` -> :class:`Ansible`."""
    return lambda nodes: Ansible(tmp_path, nodes)


@pytest.fixture
def both(sim, ansible_for):
    """A current and a legacy node, and an :class:`Ansible` with the hosts ``current`` and ``legacy``."""
    nodes = {'current': sim('current'), 'legacy': sim('legacy')}
    return nodes, ansible_for(nodes)


@pytest.fixture
def scenario(tmp_path):
    """A fault scenario (fault_support.Scenario): simulator nodes, tars and a rollout runner, closed afterwards."""
    scene = Scenario(tmp_path)
    yield scene
    scene.close()
