# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Share the work of one controller task over the controller's CPUs, the way Ansible's forks share a play's hosts.

A task that runs once for a whole fleet (the rollout plan) templates each host's variables, which is CPU work in one
Python process: one core. :func:`map_in_processes` forks helper processes from the task's worker, each of which does
its part of the items and sends its results back as JSON over a pipe. Forking is what Ansible does for every task:
the helpers start with everything loaded and share the worker's memory until they write to it. A helper never
returns into Ansible (``os._exit``); the display queue they may write warnings to takes whole messages.

Private to the collection; the interface can change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os


def cpu_count():
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _run_helper(function, part, write_fd):
    code = 0
    try:
        data = json.dumps(function(part), default=str).encode('utf-8')
    except BaseException:  # pylint: disable=broad-except
        data, code = b'', 1
    try:
        with os.fdopen(write_fd, 'wb') as out:
            out.write(data)
    finally:
        os._exit(code)  # never back into the worker's code: the parent finishes the task


def map_in_processes(function, items, processes):
    """``function(part) -> dict`` for ``processes`` interleaved parts of ``items``, all but the first part in forked
    helpers; returns the dicts merged. A part whose helper failed is missing from the result (the caller treats what
    is missing as not done). Without ``os.fork`` or with one process, everything runs here."""
    items = list(items)
    processes = max(1, min(int(processes), len(items)))
    if processes == 1 or not hasattr(os, 'fork'):
        return function(items)
    parts = [items[index::processes] for index in range(processes)]
    helpers = []
    for part in parts[1:]:
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:  # the helper
            os.close(read_fd)
            _run_helper(function, part, write_fd)
        os.close(write_fd)
        helpers.append((pid, read_fd))
    merged = {}
    try:
        merged.update(function(parts[0]))
    finally:
        for pid, read_fd in helpers:
            with os.fdopen(read_fd, 'rb') as pipe:
                data = pipe.read()
            os.waitpid(pid, 0)
            try:
                merged.update(json.loads(data.decode('utf-8')))
            except ValueError:
                pass
    return merged
