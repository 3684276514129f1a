# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: rollout_batch_state
short_description: What the outcome of a rollout batch means for the run
version_added: 0.1.0
description:
- The nodes of the batch that failed or were rolled back, the canaries that failed (the canary gate stops the run),
  whether the run stops after this batch (the gate, or more failed nodes than O(max_fail_percentage) of the batch,
  as Ansible counts them) and whether this is the last batch.
positional: _input, batch, canaries, max_fail_percentage, canary_gate
options:
  _input:
    description: A report made by P(mimoe.edge.rollout_report#filter).
    type: dict
    required: true
  batch:
    description: The batch, from P(mimoe.edge.rollout_batch#filter).
    type: dict
    required: true
  canaries:
    description: The canary hosts.
    type: list
    required: true
    elements: str
  max_fail_percentage:
    description: The play's C(max_fail_percentage).
    type: int
    default: 0
  canary_gate:
    description: Whether a failed canary stops the run.
    type: bool
    default: true
'''

EXAMPLES = r'''
- name: Show the state
  ansible.builtin.debug:
    msg: "{{ report | mimoe.edge.rollout_batch_state(batch, canaries, 20) }}"
'''

RETURN = r'''
_value:
  description: C(failed), C(failed_canaries), C(stops) and C(final).
  type: dict
'''

from ansible_collections.mimoe.edge.plugins.plugin_utils._rollout import rollout_batch_state


class FilterModule(object):
    def filters(self):
        return {'rollout_batch_state': rollout_batch_state}
