# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: rollout_report
short_description: The JSON report of a rollout
version_added: 0.1.0
description:
- 'Counts by status (C(not_reached) for hosts without a result) and, per node, what the M(mimoe.edge.mim_release)
  result registered in the variable O(var) says: status, versions and digests before and after, revision, errors.'
positional: _input, hosts, var, image, canary
options:
  _input:
    description: The C(hostvars) magic variable.
    type: dict
    required: true
  hosts:
    description: The hosts of the rollout.
    type: list
    required: true
    elements: str
  var:
    description: The name of the variable holding each host's result.
    type: str
    required: true
  image:
    description: A label of the release (shown in the report).
    type: str
    default: ''
  canary:
    description: The canary hosts.
    type: list
    default: []
    elements: str
'''

EXAMPLES = r'''
- name: Show the report
  ansible.builtin.debug:
    msg: "{{ hostvars | mimoe.edge.rollout_report(ansible_play_hosts_all, 'mim_rollout_result') }}"
'''

RETURN = r'''
_value:
  description: C(image), C(counts) and C(nodes).
  type: dict
'''

from ansible_collections.mimoe.edge.plugins.plugin_utils._rollout import rollout_report


class FilterModule(object):
    def filters(self):
        return {'rollout_report': rollout_report}
