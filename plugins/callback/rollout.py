# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: rollout
type: stdout
short_description: Compact output for fleet rollouts (one line per node)
version_added: 0.2.0
description:
  - The default stdout callback, quieter, for C(playbooks/rollout.yml), C(rollback.yml) and the
    mimoe.edge.mim_rollout role. Results that are ok or skipped are not shown, nor the banner of a task that shows
    nothing; the per-node results of M(mimoe.edge.mim_release) are not shown either when they succeed, as the role
    prints one line per node for each batch. A C(debug) message that is a list is printed as plain lines.
  - Failures, warnings, diffs and the play recap are shown as the default callback shows them.
  - Enable it with C(ANSIBLE_STDOUT_CALLBACK=mimoe.edge.rollout) (or C(stdout_callback) in C(ansible.cfg)).
extends_documentation_fragment:
  - default_callback
  - result_format_callback
requirements:
  - set as stdout callback in configuration
'''

from ansible.plugins.callback.default import CallbackModule as DefaultCallback

QUIET_ACTIONS = ('mimoe.edge.mim_release', 'mim_release')
DEBUG_ACTIONS = ('ansible.builtin.debug', 'debug', 'ansible.legacy.debug')


class CallbackModule(DefaultCallback):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'stdout'
    CALLBACK_NAME = 'mimoe.edge.rollout'

    def get_option(self, k, hostvars=None):
        if k in ('display_ok_hosts', 'display_skipped_hosts'):
            return False
        return super(CallbackModule, self).get_option(k) if hostvars is None else \
            super(CallbackModule, self).get_option(k, hostvars)

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._task_start(task)

    def v2_runner_on_ok(self, result):
        task = result.task
        if task.action in QUIET_ACTIONS and not result.result.get('diff'):
            return
        msg = result.result.get('msg')
        if task.action in DEBUG_ACTIONS and isinstance(msg, list) and not result.result.get('failed'):
            for line in msg:
                self._display.display(str(line))
            return
        if task.action in DEBUG_ACTIONS:
            if self._last_task_banner != task._uuid:
                self._print_task_banner(task)
            self._display.display(str(msg if msg is not None else self._dump_results(result.result)))
            return
        super(CallbackModule, self).v2_runner_on_ok(result)
