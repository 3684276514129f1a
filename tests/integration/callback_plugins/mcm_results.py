# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Test-only callback: append every task result, as JSON lines, to the file named by MCM_TEST_RESULTS.

The stdout callback stays the default one, so tests can also read what a user sees (diffs included).
"""

from __future__ import annotations

import json
import os

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = '''
name: mcm_results
type: aggregate
short_description: write task results to a JSON lines file (mimoe.edge integration tests)
description:
  - Appends one JSON object per task result to the file in the environment variable E(MCM_TEST_RESULTS).
requirements:
  - enable in configuration
'''


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'mcm_results'
    CALLBACK_NEEDS_ENABLED = True

    def _write(self, result, status):
        path = os.environ.get('MCM_TEST_RESULTS')
        if not path:
            return
        # The raw result (diff included), not the display-cleaned one: a leaked secret would show here.
        # ansible-core 2.19+ names them result/task/host; before 2.19 only _result/_task/_host exist.
        raw = getattr(result, 'result', None) or result._result
        task = getattr(result, 'task', None) or result._task
        host = getattr(result, 'host', None) or result._host
        data = dict((k, v) for k, v in raw.items() if not k.startswith('_ansible'))
        record = {'host': host.get_name(), 'task': task.get_name(), 'action': task.action, 'status': status,
                  'result': data}
        with open(path, 'a') as handle:
            handle.write(json.dumps(record, default=str) + '\n')

    def v2_runner_on_ok(self, result):
        self._write(result, 'ok')

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._write(result, 'failed')

    def v2_runner_on_skipped(self, result):
        self._write(result, 'skipped')
