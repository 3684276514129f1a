# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: rollout_batch
short_description: The serial batch a host of a rollout belongs to
version_added: 0.1.0
description:
- 'The serial batch of O(host) among the play hosts O(_input) (in play order): its number, the count of batches
  and its hosts, for the C(batch n/m) progress line of the P(mimoe.edge.mim_rollout#role) role.'
positional: _input, host, serial
options:
  _input:
    description: The play hosts in play order (C(ansible_play_hosts_all)).
    type: list
    required: true
    elements: str
  host:
    description: The host to place.
    type: str
    required: true
  serial:
    description: The C(serial) value of the play.
    type: raw
    required: true
'''

EXAMPLES = r'''
- name: Show the batch
  ansible.builtin.debug:
    msg: "{{ ansible_play_hosts_all | mimoe.edge.rollout_batch(inventory_hostname, [1, 5]) }}"
'''

RETURN = r'''
_value:
  description: C(number), C(count) and C(hosts) of the batch.
  type: dict
'''

from ansible_collections.mimoe.edge.plugins.plugin_utils._rollout import rollout_batch


class FilterModule(object):
    def filters(self):
        return {'rollout_batch': rollout_batch}
