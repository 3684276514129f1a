# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""map_in_processes: one task's work shared over forked helper processes, results back as JSON."""

from __future__ import annotations

import os

import pytest

from ansible_collections.mimoe.edge.plugins.plugin_utils._parallel import map_in_processes


def squares_with_pid(part):
    return dict((str(n), [n * n, os.getpid()]) for n in part)


def test_every_item_is_done_once_and_the_parts_run_in_other_processes():
    done = map_in_processes(squares_with_pid, range(10), 3)
    assert sorted(done) == sorted(str(n) for n in range(10))
    assert all(value[0] == int(key) ** 2 for key, value in done.items())
    pids = set(value[1] for value in done.values())
    assert len(pids) == 3 and os.getpid() in pids


def test_one_process_runs_everything_here():
    done = map_in_processes(squares_with_pid, range(4), 1)
    assert set(value[1] for value in done.values()) == {os.getpid()}


def test_more_processes_than_items_is_one_per_item():
    assert len(set(v[1] for v in map_in_processes(squares_with_pid, range(2), 8).values())) == 2


def test_a_helper_that_fails_leaves_its_items_out_and_nothing_behind():
    parent = os.getpid()

    def fails_in_helpers(part):
        if os.getpid() != parent:
            raise RuntimeError('helper broke')
        return dict((str(n), n) for n in part)

    done = map_in_processes(fails_in_helpers, range(6), 2)
    assert done == {'0': 0, '2': 2, '4': 4}
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)  # every helper was reaped


def test_a_failure_here_still_reaps_the_helpers_and_is_raised():
    parent = os.getpid()

    def fails_here(part):
        if os.getpid() == parent:
            raise ValueError('parent part broke')
        return {}

    with pytest.raises(ValueError):
        map_in_processes(fails_here, range(6), 3)
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)
