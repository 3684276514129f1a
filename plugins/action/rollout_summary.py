# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The end of each serial batch of a rollout, on the controller and in-process (see plugins/modules/rollout_summary.py
for the documentation): the report so far, the batch's lines, the canary gate, the table, the JSON file."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleActionFail, AnsibleFilterError
from ansible.plugins.action import ActionBase

from ansible_collections.mimoe.edge.plugins.plugin_utils._rollout import (
    rollout_batch,
    rollout_stats,
    rollout_summary,
    write_report,
)

ARGUMENT_SPEC = dict(
    hosts=dict(type='list', elements='str', required=True),
    batch_hosts=dict(type='list', elements='str'),
    var=dict(type='str', default='mim_rollout_result'),
    label=dict(type='str', default=''),
    serial=dict(type='raw', default=[]),
    canary_count=dict(type='int', default=1),
    max_fail_percentage=dict(type='int', default=0),
    canary_gate=dict(type='bool', default=True),
    report_file=dict(type='path'),
)


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _supports_check_mode = True  # the report is a record of the run, written in check mode too
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super(ActionModule, self).run(tmp, task_vars)
        dummy, args = self.validate_argument_spec(ARGUMENT_SPEC)
        hostvars = task_vars.get('hostvars') or {}
        serial = args['serial'] or [args['canary_count'], '100%']
        batch_hosts = args['batch_hosts']
        if batch_hosts is None:
            # The whole serial batch of the host this runs for: ansible_play_batch leaves out the hosts that
            # failed, which are the ones the summary must show.
            try:
                batch_hosts = rollout_batch(args['hosts'], task_vars.get('inventory_hostname'), serial)['hosts']
            except AnsibleFilterError as exc:
                raise AnsibleActionFail('mimoe.edge.rollout_summary: %s' % exc)

        def result_of(host):
            try:
                value = hostvars[host].get(args['var'])
            except (KeyError, AttributeError):
                return None
            return value if isinstance(value, dict) else None

        def kept_on_localhost(name):
            try:
                value = hostvars['localhost'].get(name)
            except (KeyError, AttributeError):
                return None
            return value if isinstance(value, dict) else None

        # Read the registered results of this batch only: the earlier batches' are in the report kept on localhost,
        # the nodes the plan found unchanged (playbooks/rollout.yml) in the plan kept there.
        summary = rollout_summary(
            kept_on_localhost('mim_rollout_summary'), dict((h, result_of(h)) for h in batch_hosts),
            args['hosts'], batch_hosts, serial, args['canary_count'],
            args['max_fail_percentage'], args['canary_gate'], args['label'], plan=kept_on_localhost('mim_rollout_plan'))
        report_file = args['report_file']
        if report_file:
            write_report(report_file, summary['report'])
        result.update(changed=False, msg=summary['lines'], report_file=report_file or '',
                      report=summary['report'],
                      failed_hosts=summary['failed'], ansible_stats=rollout_stats(summary['report']),
                      **dict((k, summary[k]) for k in ('batch', 'final', 'stops', 'failed_canaries')))
        return result
