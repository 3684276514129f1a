#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: mcm_prune
short_description: Remove the images no mim uses on a mimOE node, and optionally purge its mims
version_added: 0.2.0
description:
  - 'Prune (like C(docker image prune) / community.docker C(docker_prune) and C(iofogctl prune)): removes the images
    of a mimik mimOE edge node that no mim uses, selected by O(filters).'
  - 'Purge (like C(iofogctl delete all) or C(helm uninstall)): with O(mims=true), first removes the node''s mims
    selected by O(mims_filters) - all of them when no filter is given - then, with O(images=true), the images those
    mims used that no remaining mim uses. A purge never removes other unused images: prune them in a task of their
    own. To remove one application deployed with M(mimoe.edge.mcm_composition), that module''s
    O(mimoe.edge.mcm_composition#module:state=absent) with O(mimoe.edge.mcm_composition#module:remove_images=true)
    does it.'
  - 'Docker''s C(dangling) filter has no MCM counterpart: a node keeps one image per name (an upload replaces the
    image of that name), so no untagged leftovers exist. Use O(filters.until) and O(filters.name) instead.'
  - Every call is scoped to one client ID (O(client_id)); images and mims of other clients are neither seen nor
    removed. An image that a legacy node reports as used by containers (C(containers) above 0) is kept even when
    none of this client's mims uses it.
author:
  - mimoe.edge contributors (@mimoe-edge)
extends_documentation_fragment:
  - mimoe.edge.mcm
  - mimoe.edge._attributes
  - mimoe.edge._attributes.ACTIONGROUP_MCM
  - mimoe.edge._attributes.CHECK_MODE_FULL
  - mimoe.edge._attributes.DIFF_MODE_FULL
  - mimoe.edge._attributes.IDEMPOTENT_FULL
options:
  images:
    description:
      - Remove the images no mim uses (that pass O(filters)).
      - With O(mims=true), only the images of the removed mims are considered.
    type: bool
    default: true
  filters:
    description:
      - Which unused images to remove. Every filter given must match.
    type: dict
    default: {}
    suboptions:
      name:
        description:
          - Only images whose name matches one of these shell patterns (V(hello-*)).
        type: list
        elements: str
      keep:
        description:
          - Never remove the images whose name or id matches one of these shell patterns.
        type: list
        elements: str
      until:
        description:
          - Only images created at least this long ago, as seconds or a duration (V(30m), V(24h), V(7d), V(1h30m)).
          - An image whose creation time the node does not report is kept.
        type: str
  mims:
    description:
      - Purge - remove the mims selected by O(mims_filters) (all the mims of the client when none is given) before
        the images. Their data (the mim's storage) goes with them on a real node.
    type: bool
    default: false
  mims_filters:
    description:
      - Which mims O(mims=true) removes. Every filter given must match.
    type: dict
    default: {}
    suboptions:
      name:
        description:
          - Only mims whose name matches one of these shell patterns.
        type: list
        elements: str
      keep:
        description:
          - Never remove the mims whose name matches one of these shell patterns.
        type: list
        elements: str
      composition:
        description:
          - Only the members of this composition (M(mimoe.edge.mcm_composition)). Needs the current API generation.
        type: str
      label:
        description:
          - Only mims with these labels, each V(key) (the label exists) or V(key=value). Needs the current API
            generation (labels are kept in the mim's env, which legacy nodes do not return).
        type: list
        elements: str
      until:
        description:
          - Only mims created at least this long ago (seconds or a duration such as V(24h)).
        type: str
seealso:
  - module: mimoe.edge.mcm_image
  - module: mimoe.edge.mcm_composition
  - module: mimoe.edge.mcm_info
'''

EXAMPLES = r'''
- name: Clean up the edge nodes
  hosts: edge_nodes
  gather_facts: false
  module_defaults:
    group/mimoe.edge.mcm:
      mcm_url: "http://{{ ansible_host }}:8083"
      mcm_token: "{{ mcm_api_key }}"
  tasks:
    - name: Remove every image no mim uses
      mimoe.edge.mcm_prune:
      delegate_to: localhost

    - name: Remove the unused hello images older than a week, but keep the base image
      mimoe.edge.mcm_prune:
        filters:
          name: ["hello-*"]
          keep: [hello-base-v1]
          until: 7d
      delegate_to: localhost

    - name: Purge the mims labelled tier=canary and their images
      mimoe.edge.mcm_prune:
        mims: true
        mims_filters:
          label: [tier=canary]
      delegate_to: localhost

    - name: Purge the node - every mim, then their images
      mimoe.edge.mcm_prune:
        mims: true
      delegate_to: localhost
'''

RETURN = r'''
images:
  description: Names of the images removed (in check mode, to be removed).
  returned: always
  type: list
  elements: str
  sample: [hello-v1]
mims:
  description: Names of the mims removed by O(mims=true) (in check mode, to be removed).
  returned: always
  type: list
  elements: str
  sample: [hello-v1]
image_details:
  description: The images removed (in check mode, to be removed), as the node reported them.
  returned: always
  type: list
  elements: dict
  sample: [{name: hello-v1, id: api-hello-v1, digest: "sha256:9f86...", size: 10240}]
bytes_freed:
  description: Sum of the sizes of the removed images; null when the node does not report a size for each of them.
  returned: always
  type: int
  sample: 10240
actions:
  description: What was done, or in check mode would be done, in order.
  returned: always
  type: list
  elements: str
  sample: ["removed mim hello-v1", "removed image hello-v1"]
api_version:
  description: API generation of the node, V(current) or V(legacy).
  returned: always
  type: str
  sample: current
diff:
  description: The names of the images and mims before and after. Returned in diff mode.
  returned: when diff mode is on
  type: dict
  sample:
    before: {images: [hello-v1, old-v1], mims: [hello-v1]}
    after: {images: [hello-v1], mims: [hello-v1]}
'''

from ansible_collections.mimoe.edge.plugins.module_utils._mcm_module import MCMModule
from ansible_collections.mimoe.edge.plugins.module_utils._mcm_prune import PruneManager


def main():
    argument_spec = dict(
        images=dict(type='bool', default=True),
        filters=dict(type='dict', default={}, options=dict(
            name=dict(type='list', elements='str'),
            keep=dict(type='list', elements='str'),
            until=dict(type='str'),
        )),
        mims=dict(type='bool', default=False),
        mims_filters=dict(type='dict', default={}, options=dict(
            name=dict(type='list', elements='str'),
            keep=dict(type='list', elements='str'),
            composition=dict(type='str'),
            label=dict(type='list', elements='str'),
            until=dict(type='str'),
        )),
    )
    mcm = MCMModule(argument_spec, supports_check_mode=True)
    manager = PruneManager(mcm.client, mcm.recorder, mcm.client_id)
    mcm.exit(**mcm.run(lambda: manager.run(mcm.params, diff=mcm.diff_mode)))


if __name__ == '__main__':
    main()
