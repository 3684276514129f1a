#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: mcm_info
short_description: List the images and mims of a mimOE node
version_added: 0.1.0
description:
  - Reads the images and mims (containers on the legacy API generation) of a mimik mimOE edge node through the MCM
    API, and which API generation it runs. Never changes anything.
author:
  - mimoe.edge contributors (@mimoe-edge)
extends_documentation_fragment:
  - mimoe.edge.mcm
  - mimoe.edge._attributes
  - mimoe.edge._attributes.ACTIONGROUP_MCM
  - mimoe.edge._attributes.INFO_MODULE
options:
  name:
    description:
      - Only return the images and mims with these names (or IDs). All of them if not set.
    type: list
    elements: str
  images:
    description:
      - Whether to read the images.
    type: bool
    default: true
  mims:
    description:
      - Whether to read the mims.
    type: bool
    default: true
notes:
  - On the current API generation, C(env) in RV(mims) holds every env value the mim was deployed with, including
    secrets. Use C(no_log) on the task, or register and filter the result, when that matters.
seealso:
  - module: mimoe.edge.mcm_mim
  - module: mimoe.edge.mcm_image
'''

EXAMPLES = r'''
- name: Inventory the nodes
  hosts: edge_nodes
  gather_facts: false
  module_defaults:
    group/mimoe.edge.mcm:
      mcm_url: "http://{{ ansible_host }}:8083"
      mcm_token: "{{ mcm_api_key }}"
  tasks:
    - name: Read images and mims
      mimoe.edge.mcm_info:
      delegate_to: localhost
      register: node

    - name: Show the running mims
      ansible.builtin.debug:
        msg: "{{ node.mims | selectattr('state', 'in', ['started', 'running']) | map(attribute='name') | list }}"

    - name: Only the hello-v1 image and mim
      mimoe.edge.mcm_info:
        name: [hello-v1]
      delegate_to: localhost
'''

RETURN = r'''
api_version:
  description: API generation of the node, V(current) or V(legacy).
  returned: always
  type: str
  sample: current
images:
  description: The images as the node reports them.
  returned: always
  type: list
  elements: dict
  sample:
    - id: api-hello-v1
      name: hello-v1
      digest: sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
      repoTags: ["hello-v1:1.0.0"]
      size: 10240
      created: 1763888000
mims:
  description: The mims (legacy containers) as the node reports them.
  returned: always
  type: list
  elements: dict
  sample:
    - id: api-hello-v1
      name: hello-v1
      image: hello-v1
      clientId: api
      state: started
      status: up
      env: {MCM.BASE_API_PATH: /api/hello/v1}
'''

from ansible_collections.mimoe.edge.plugins.module_utils._mcm_client import MCMError, image_matches
from ansible_collections.mimoe.edge.plugins.module_utils._mcm_module import MCMModule


def main():
    argument_spec = dict(
        name=dict(type='list', elements='str'),
        images=dict(type='bool', default=True),
        mims=dict(type='bool', default=True),
    )
    mcm = MCMModule(argument_spec, supports_check_mode=True)
    params = mcm.params
    names = params['name']
    client = mcm.client
    try:
        api_version = client.api_version
        images = client.list_images() if params['images'] else []
        mims = client.list_mims() if params['mims'] else []
    except MCMError as exc:
        mcm.fail_mcm(exc)
    if names:
        images = [i for i in images if any(image_matches(i, n) for n in names)]
        mims = [m for m in mims if m.get('name') in names or m.get('id') in names]
    mcm.module.exit_json(changed=False, api_version=api_version, images=images, mims=mims)


if __name__ == '__main__':
    main()
