# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: rollout_table
short_description: The end-of-run table of a rollout
version_added: 0.1.0
description:
- A table (a list of lines, in play order, hosts not reached included) of node, status, versions before and after
  and a note, followed by the counts.
positional: _input, hosts
options:
  _input:
    description: A report made by P(mimoe.edge.rollout_report#filter).
    type: dict
    required: true
  hosts:
    description: The hosts, in play order.
    type: list
    required: true
    elements: str
'''

EXAMPLES = r'''
- name: Show the table
  ansible.builtin.debug:
    msg: "{{ report | mimoe.edge.rollout_table(ansible_play_hosts_all) }}"
'''

RETURN = r'''
_value:
  description: The lines of the table.
  type: list
  elements: str
'''

from ansible_collections.mimoe.edge.plugins.plugin_utils._rollout import rollout_table


class FilterModule(object):
    def filters(self):
        return {'rollout_table': rollout_table}
