#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: rollout_summary
short_description: Summarise one serial batch of a mim rollout and write its JSON report
version_added: 0.3.0
description:
  - The end of each serial batch of the mimoe.edge.mim_rollout role, once per batch (C(run_once)), on the controller
    and without starting a Python process (an action plugin only).
  - Reads the results that M(mimoe.edge.mim_release) registered for the hosts of this batch, merges them into the
    report of the earlier batches (the variable C(mim_rollout_summary) of C(localhost)), and returns the batch's lines
    (C(batch n/m), one line per node; on the final batch the table of the whole run), the canary gate and whether
    the run stops here.
  - Writes the report to O(report_file) after every batch, so it exists whatever stops the run later.
author:
  - mimoe.edge contributors (@mimoe-edge)
extends_documentation_fragment:
  - mimoe.edge._attributes
attributes:
  check_mode:
    support: full
    details:
      - The report is a record of the run, written in check mode too.
  diff_mode:
    support: none
  idempotent:
    support: full
    details:
      - Never reports a change; the report file is rewritten with the results of the run.
options:
  hosts:
    description: All hosts of the rollout, in play order (C(ansible_play_hosts_all)).
    type: list
    elements: str
    required: true
  batch_hosts:
    description:
      - The hosts of this batch. Default the serial batch (O(serial)) of the host the task runs for, failed hosts
        included (C(ansible_play_batch) leaves them out).
    type: list
    elements: str
  var:
    description: The variable each host registered the M(mimoe.edge.mim_release) result in.
    type: str
    default: mim_rollout_result
  label:
    description: A label of the release, shown in the report and the table.
    type: str
    default: ''
  serial:
    description:
      - The play's C(serial) (an integer, C(N%) or a list of those), to tell the batch number.
      - Empty means C([canary_count, "100%"]).
    type: raw
    default: []
  canary_count:
    description: Hosts of the first batch that are canaries.
    type: int
    default: 1
  max_fail_percentage:
    description: The play's C(max_fail_percentage), to tell whether the run stops after this batch.
    type: int
    default: 0
  canary_gate:
    description: A failed canary stops the run (returned in RV(failed_canaries)).
    type: bool
    default: true
  report_file:
    description: Path of the JSON report on the controller; not written when unset.
    type: path
notes:
  - Sets the custom stat C(mim_rollout_summary) (release, counts, each node's status), as M(ansible.builtin.set_stats)
    would. AWX keeps it as an artifact of the job, which a following node of a workflow gets as an extra variable.
  - Run it with C(run_once=true) and C(delegate_to=localhost), and keep RV(report) as C(mim_rollout_summary) on
    C(localhost) (C(set_fact) with C(delegate_facts=true)), as the role does.
'''

EXAMPLES = r'''
- name: Summarise the batch and write the report
  mimoe.edge.rollout_summary:
    hosts: "{{ ansible_play_hosts_all }}"
    label: hello-v1:1.1.0
    serial: [1, 5]
    report_file: /tmp/mim_rollout_report.json
  register: batch_summary
  run_once: true
  delegate_to: localhost

- name: Show it
  ansible.builtin.debug:
    msg: "{{ batch_summary.msg }}"
  run_once: true
'''

RETURN = r'''
msg:
  description: The lines of this batch (C(batch n/m), one per node; on the final batch the table).
  returned: always
  type: list
  elements: str
  sample: ["batch 2/3", "node002 hello-v1 1.0.0 -> 1.1.0 upgraded, data restored"]
batch:
  description: C(number) and C(count) of the batch.
  returned: always
  type: dict
final:
  description: Whether this is the last batch of the run (the last one, or the run stops here).
  returned: always
  type: bool
stops:
  description: Whether the run stops after this batch (the canary gate, or more failures than allowed).
  returned: always
  type: bool
failed_hosts:
  description: Hosts of this batch that failed or were rolled back.
  returned: always
  type: list
  elements: str
failed_canaries:
  description: Canaries that failed (non-empty only in the first batch, with O(canary_gate)).
  returned: always
  type: list
  elements: str
report_file:
  description: Where the report was written ('' when not).
  returned: always
  type: str
report:
  description: The report so far (C(image), C(counts), C(nodes)); the role keeps it as C(mim_rollout_summary) on
    C(localhost), where the next batch takes it up.
  returned: always
  type: dict
'''
