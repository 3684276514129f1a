# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: rollout_line
short_description: One line telling what a rollout did on one node
version_added: 0.1.0
description:
- 'C(node007 hello-v1 1.0.0 -> 1.1.0 upgraded, data restored): the summary of a M(mimoe.edge.mim_release) result,
  or C(<host> not reached) when there is none.'
positional: _input, host
options:
  _input:
    description: A registered M(mimoe.edge.mim_release) result (or nothing).
    type: raw
    required: true
  host:
    description: The host name the line starts with.
    type: str
    required: true
'''

EXAMPLES = r'''
- name: Show the line
  ansible.builtin.debug:
    msg: "{{ release_result | mimoe.edge.rollout_line(inventory_hostname) }}"
'''

RETURN = r'''
_value:
  description: The line.
  type: str
'''

from ansible_collections.mimoe.edge.plugins.plugin_utils._rollout import rollout_line


class FilterModule(object):
    def filters(self):
        return {'rollout_line': rollout_line}
