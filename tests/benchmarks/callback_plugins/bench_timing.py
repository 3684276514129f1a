# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark-only callback: how long each task took, for docs/benchmarks.md ("where the time goes").

Per task name (summed over serial batches): ``action``, ``wall`` (from the task's start to the next task's start,
as the play sees it), ``host_seconds`` (sum over hosts of start-to-result) and ``hosts`` (results). Written as JSON to the
file in the environment variable ``MIMOE_BENCH_TIMING`` when the playbook ends.
"""

from __future__ import annotations

import json
import os
import time

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = '''
name: bench_timing
type: aggregate
short_description: per-task timings of a benchmark run (mimoe.edge tests/benchmarks)
description:
  - Writes per-task wall time and summed host time to the file in the environment variable E(MIMOE_BENCH_TIMING).
requirements:
  - enable in configuration
'''


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'bench_timing'
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._tasks = {}
        self._current = None
        self._current_start = None
        self._host_start = {}
        self._started = time.monotonic()

    def _entry(self, name, action=None):
        entry = self._tasks.setdefault(name, {'task': name, 'wall': 0.0, 'host_seconds': 0.0, 'hosts': 0})
        if action:
            entry['action'] = action
        return entry

    def _close_task(self):
        if self._current is not None:
            self._entry(self._current)['wall'] += time.monotonic() - self._current_start
            self._current = None

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._close_task()
        self._current = task.get_name()
        self._current_start = time.monotonic()
        self._entry(self._current, task.action)

    v2_playbook_on_handler_task_start = v2_playbook_on_task_start

    def v2_playbook_on_play_start(self, play):
        self._close_task()

    def v2_runner_on_start(self, host, task):
        self._host_start[(host.get_name(), task._uuid)] = time.monotonic()

    def _result(self, result):
        start = self._host_start.pop((result._host.get_name(), result._task._uuid), None)
        entry = self._entry(result._task.get_name())
        entry['hosts'] += 1
        if start is not None:
            entry['host_seconds'] += time.monotonic() - start

    def v2_runner_on_ok(self, result):
        self._result(result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._result(result)

    def v2_runner_on_skipped(self, result):
        self._result(result)

    def v2_runner_on_unreachable(self, result):
        self._result(result)

    def v2_playbook_on_stats(self, stats):
        self._close_task()
        path = os.environ.get('MIMOE_BENCH_TIMING')
        if not path:
            return
        data = {'total': time.monotonic() - self._started,
                'tasks': sorted(self._tasks.values(), key=lambda e: -e['wall'])}
        with open(path, 'w', encoding='utf-8') as handle:
            json.dump(data, handle, indent=1)
