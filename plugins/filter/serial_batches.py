# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: serial_batches
short_description: Sizes of the serial batches Ansible makes of a number of hosts
version_added: 0.1.0
description:
- The sizes of the batches that the play keyword C(serial) makes of O(_input) hosts, as ansible-core counts them
  (an integer, a C("N%") string, or a list of those whose last item repeats).
positional: _input, total
options:
  _input:
    description: The C(serial) value of the play.
    type: raw
    required: true
  total:
    description: The number of hosts.
    type: int
    required: true
'''

EXAMPLES = r'''
- name: Show the sizes
  ansible.builtin.debug:
    msg: "{{ [1, '50%'] | mimoe.edge.serial_batches(10) }}"  # [1, 5, 4]
'''

RETURN = r'''
_value:
  description: The batch sizes, in order.
  type: list
  elements: int
'''

from ansible_collections.mimoe.edge.plugins.plugin_utils._rollout import serial_batches


class FilterModule(object):
    def filters(self):
        return {'serial_batches': serial_batches}
