#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: mcm_datastore
short_description: Back up or restore the datastore of a mim on a mimOE node
version_added: 0.1.0
description:
  - Starts a backup or a restore of a mim's datastore (its persistent C(context.storage)) to or from a path on the
    node (C(POST /mcm/v1/mims/{id}/dataStore)), then polls its progress (C(GET) on the same path) until the node
    reports C(completed) or C(failed), or O(wait_timeout) passes.
  - Needs the current MCM API generation; the legacy generation has no datastore call.
author:
  - mimoe.edge contributors (@mimoe-edge)
extends_documentation_fragment:
  - mimoe.edge.mcm
  - mimoe.edge._attributes
  - mimoe.edge._attributes.ACTIONGROUP_MCM
attributes:
  check_mode:
    support: full
    details:
      - Reports that the backup or restore would run (C(changed=true)) and calls nothing that writes.
  diff_mode:
    support: none
  idempotent:
    support: none
    details:
      - A backup or restore is an operation, not a state. Every run performs it and reports C(changed=true).
options:
  action:
    description:
      - V(backup) writes the mim's datastore to O(path); V(restore) replaces it with the content of O(path).
    type: str
    choices: [backup, restore]
    required: true
  name:
    description:
      - Name (or ID C(<clientId>-<name>)) of the deployed mim.
      - The same option as O(mimoe.edge.mcm_mim#module:name); C(mim) is its older name.
    type: str
    required: true
    aliases: [mim]
  path:
    description:
      - Path on the node to back up to or restore from.
      - A relative path is relative to the node's own datastore storage; a node may refuse a path outside it (the
        mimoe.edge simulator does).
    type: str
    required: true
  wait:
    description:
      - Wait until the node reports the operation C(completed) (or C(failed)).
      - With V(false) the task returns the node's first answer (usually C(inProgress)) and the operation goes on
        on the node.
    type: bool
    default: true
    version_added: 0.2.0
  wait_timeout:
    description:
      - Seconds to wait for the operation to finish. On timeout the task fails and returns the last progress seen.
    type: int
    default: 300
  wait_sleep:
    description:
      - Seconds between two progress reads. More than 0.
      - C(poll_interval) is its older name.
    type: float
    default: 1
    aliases: [poll_interval]
seealso:
  - module: mimoe.edge.mcm_mim
'''

EXAMPLES = r'''
- name: Back up, upgrade, restore
  hosts: edge_nodes
  gather_facts: false
  module_defaults:
    group/mimoe.edge.mcm:
      mcm_url: "http://{{ ansible_host }}:8083"
      mcm_token: "{{ mcm_api_key }}"
  tasks:
    - name: Back up the hello mim's datastore on the node
      mimoe.edge.mcm_datastore:
        action: backup
        name: hello-v1
        path: backups/hello-v1.json
      delegate_to: localhost
      register: backup

    - name: Restore it
      mimoe.edge.mcm_datastore:
        action: restore
        name: hello-v1
        path: "{{ backup.path }}"
      delegate_to: localhost

    - name: Start a backup and let it run on the node
      mimoe.edge.mcm_datastore:
        action: backup
        name: hello-v1
        path: backups/hello-v1-nightly.json
        wait: false
      delegate_to: localhost
'''

RETURN = r'''
action:
  description: The operation, as the node reports it.
  returned: success
  type: str
  sample: backup
status:
  description: Final status reported by the node (V(completed)); with O(wait=false) the first status the node
    reported; V(skipped) in check mode.
  returned: success
  type: str
  sample: completed
message:
  description: The node's message about the operation.
  returned: success
  type: str
  sample: backup completed
path:
  description: The path on the node.
  returned: success
  type: str
  sample: backups/hello-v1.json
percentage:
  description: Progress in percent (100 when completed).
  returned: success
  type: int
  sample: 100
mim:
  description: ID of the mim.
  returned: success
  type: str
  sample: api-hello-v1
actions:
  description: What was done, or in check mode would be done.
  returned: always
  type: list
  elements: str
  sample: ["backup of mim hello-v1 to backups/hello-v1.json"]
api_version:
  description: API generation of the node.
  returned: always
  type: str
  sample: current
'''

from ansible_collections.mimoe.edge.plugins.module_utils._errors import MimoeError
from ansible_collections.mimoe.edge.plugins.module_utils._mcm_datastore import DatastoreError, DatastoreManager
from ansible_collections.mimoe.edge.plugins.module_utils._mcm_module import MCMModule


def main():
    argument_spec = dict(
        action=dict(type='str', required=True, choices=list(DatastoreManager.ACTIONS)),
        name=dict(type='str', required=True, aliases=['mim']),
        path=dict(type='str', required=True),
        wait=dict(type='bool', default=True),
        wait_timeout=dict(type='int', default=300),
        wait_sleep=dict(type='float', default=1, aliases=['poll_interval']),
    )
    mcm = MCMModule(argument_spec, supports_check_mode=True)
    params = mcm.params
    manager = DatastoreManager(mcm.client, mcm.recorder)
    try:
        result = manager.run(params['action'], params['name'], params['path'], wait=params['wait'],
                             wait_timeout=params['wait_timeout'], wait_sleep=params['wait_sleep'])
    except DatastoreError as exc:  # the operation started: say so, with the last progress the node reported
        mcm.fail_from(exc, changed=True, mim=exc.mim, **exc.result)
    except MimoeError as exc:
        mcm.fail_from(exc, changed=False)
    mcm.exit(**result)


if __name__ == '__main__':
    main()
