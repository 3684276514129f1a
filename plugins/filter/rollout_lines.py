# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: rollout_lines
short_description: The lines of several nodes from a rollout report
version_added: 0.1.0
description:
- One line per host of O(hosts) (see P(mimoe.edge.rollout_line#filter)) from a report made by P(mimoe.edge.rollout_report#filter).
positional: _input, hosts
options:
  _input:
    description: A report made by P(mimoe.edge.rollout_report#filter).
    type: dict
    required: true
  hosts:
    description: The hosts, in the order of the lines.
    type: list
    required: true
    elements: str
'''

EXAMPLES = r'''
- name: Show the lines
  ansible.builtin.debug:
    msg: "{{ report | mimoe.edge.rollout_lines(ansible_play_batch) }}"
'''

RETURN = r'''
_value:
  description: The lines.
  type: list
  elements: str
'''

from ansible_collections.mimoe.edge.plugins.plugin_utils._rollout import rollout_lines


class FilterModule(object):
    def filters(self):
        return {'rollout_lines': rollout_lines}
