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
  - With O(compare_mim), the same read also tells whether M(mimoe.edge.mcm_mim) would redeploy a mim with that
    spec (the comparison M(mimoe.edge.mcm_mim) makes, in check mode), so one task decides what a node needs.
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
  mim_filters:
    description:
      - Return only the mims that match every filter given here (as C(*_filters) of community.docker
        C(docker_host_info) and the label selectors of C(k8s_info)). Inside one filter the values are
        alternatives; different filters must all match; every O(mim_filters.label) entry must match.
      - Filters select what is returned; they never change what is read, and O(compare_mim) still sees every mim.
    type: dict
    suboptions:
      name:
        description: Name patterns (shell style, C(hello-*)); the mim's name must match one.
        type: list
        elements: str
      state:
        description: States as the node reports them (V(started), V(stopped), V(running)...); case-insensitive.
        type: list
        elements: str
      status:
        description: Statuses as the node reports them (V(up), V(crashed)...); case-insensitive.
        type: list
        elements: str
      image:
        description:
          - Images the mim runs, each an image name (or RepoTag repository) or a digest (V(sha256:) and 64 hex
            digits) of the image, as C(digest) in RV(images) or the mim's release marker tells it.
        type: list
        elements: str
      label:
        description:
          - Label selectors, all of which must match the C(labels) of the mim in RV(mims) (AND). V(key) selects
            mims that have the label, V(key=value) mims whose label has that value.
        type: list
        elements: str
      composition:
        description: Compositions (M(mimoe.edge.mcm_composition) names); the mim must belong to one.
        type: list
        elements: str
  image_filters:
    description:
      - Return only the images that match every filter given here; inside one filter the values are alternatives.
    type: dict
    suboptions:
      name:
        description: Name patterns (shell style), matched with the image name and its RepoTag repositories.
        type: list
        elements: str
      in_use:
        description: V(true) returns the images a mim of the node uses, V(false) the unused ones.
        type: bool
      digest:
        description:
          - Content digests (V(sha256:) and 64 hex digits), compared with every digest the node reports for the
            image and with the release marker of the mims using it.
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
  compare_mim:
    description:
      - A desired mim spec to compare with the node's mim of that name, read only. The result is RV(mim_comparison).
      - The comparison is the one of M(mimoe.edge.mcm_mim) with O(mimoe.edge.mcm_mim#module:state=present), on the
        image name, the image content replaced since the deployment, the env as the node stores it (current API), or
        the recorded fingerprint (legacy API, see O(fingerprint_file)).
      - The images and mims are read once whatever O(images), O(mims) and O(name) say; those only filter what is
        returned.
    type: dict
    suboptions:
      name:
        description: Name of the mim.
        type: str
        required: true
      image:
        description: Name of the image the mim should run.
        type: str
        required: true
      env:
        description: Env of the mim (string values).
        type: dict
        default: {}
      secret_env:
        description:
          - Secret env values, compared like O(compare_mim.env) and shown as C(********) in RV(mim_comparison).
        type: dict
        default: {}
  fingerprint_file:
    description:
      - The fingerprint file of M(mimoe.edge.mcm_mim) (legacy API nodes), read by O(compare_mim). Never written.
      - If not set, the value of the E(MCM_FINGERPRINT_FILE) environment variable is used, then the default.
    type: path
    default: ~/.ansible/mimoe_edge/mcm_state.json
  unmask_secret_env:
    description:
      - Return the values of secret env keys in clear in RV(mims) instead of C(********).
      - For a task that must redeploy a mim as it is (a rollback) and has C(no_log=true); never needed to read a
        fleet.
    type: bool
    default: false
notes:
  - Every mim in RV(mims) has C(labels) (its labels, from the reserved env key C(MIMOE_LABELS) the node keeps, set by
    the C(labels) option of M(mimoe.edge.mcm_mim)) and C(composition); that key is never shown in C(env) or
    C(spec_env). A legacy node that filters env out of its answers shows no labels, and O(mim_filters.label)
    selects none of its mims.
  - On the current API generation, C(env) in RV(mims) holds the env the mim was deployed with. The values of keys
    deployed through C(secret_env) (M(mimoe.edge.mcm_mim), M(mimoe.edge.mcm_composition)) are shown as
    C(********); the node keeps their names in the reserved env key C(MIMOE_SECRET_KEYS). The keys of
    O(compare_mim.secret_env) are masked too. A mim deployed before that marker existed, or by other tools,
    has no marker, and its env is shown as the node stores it.
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

    - name: The started mims of the shop composition labelled tier=web, and the images no mim uses
      mimoe.edge.mcm_info:
        mim_filters:
          state: [started, running]
          composition: [shop]
          label: [tier=web, canary]
        image_filters:
          in_use: false
      delegate_to: localhost
      register: selected

    - name: The mims that run hello images, by name pattern or by digest
      mimoe.edge.mcm_info:
        images: false
        mim_filters:
          image: ["hello-v1", "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"]
          name: ["hello-*"]
      delegate_to: localhost

    - name: Read the node and tell whether the mim needs a redeploy, in one read
      mimoe.edge.mcm_info:
        name: [hello-v1]
        compare_mim:
          name: hello-v1
          image: hello-v1
          env: {MCM.BASE_API_PATH: /hello/v1}
      delegate_to: localhost
      register: node

    - name: Show why
      ansible.builtin.debug:
        msg: "{{ node.mim_comparison.reasons }}"
      when: not node.mim_comparison.equal
'''

RETURN = r'''
api_version:
  description: API generation of the node, V(current) or V(legacy).
  returned: always
  type: str
  sample: current
images:
  description:
    - The images as the node reports them, with normalised fields added (the same rules as M(mimoe.edge.mcm_image),
      the inventory plugin and the fleet report).
    - C(digest) is the content digest the node reports, whatever its style (C(digest), a full C(sha256:) C(id) of a
      legacy node, or C(repoDigests)), as V(sha256:) and 64 lowercase hex digits (a real node's C(sha265:)
      spelling is normalised); null when the node reports none or a malformed one. A legacy short id
      (C(sha256:4dcab49015d4)) or opaque id (C(example-v1)) gives null.
    - C(repo_tag) is the first RepoTag (null when the node reports none); C(version) the version it names, else the
      version of the release marker kept in the env of the mims deployed from the image (when nothing the node
      reports contradicts it); C(version_source) says which (V(repo_tag), V(release_marker), or null).
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
      repo_tag: hello-v1:1.0.0
      version: 1.0.0
      version_source: repo_tag
mims:
  description:
    - The mims (legacy containers) as the node reports them, with normalised fields added.
    - 'C(spec_env) is C(env) in the form of a M(mimoe.edge.mcm_mim) spec (null when the node returns no env):
      C(MCM.BASE_API_PATH) without the C(/<clientId>) prefix the node adds, without the C(MCM.*) flags the node
      fills with V(false), and without the reserved C(MIMOE_*) keys the collection keeps on the node
      (C(MCM.MAX_EXECUTION_TIME_SEC) is kept: a node default cannot be told from a value that was set).'
    - C(release) is the release marker kept in the mim's env (C(image), C(version), C(digest), C(config_digest),
      C(revision)), or null when the mim has none.
    - C(labels) is the mim's labels (a dictionary, empty when none); C(composition) the composition it belongs to,
      or null.
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
      env: {MCM.BASE_API_PATH: /api/hello/v1, MCM.WEBSOCKET_SUPPORT: "false"}
      spec_env: {MCM.BASE_API_PATH: /hello/v1}
      release: null
      labels: {tier: web}
      composition: null
mim_comparison:
  description: The node's mim compared with O(compare_mim); secret values are shown as C(********).
  returned: when O(compare_mim) is set
  type: dict
  contains:
    name:
      description: Name of the mim.
      type: str
      returned: success
    equal:
      description: Whether the node runs the mim with this spec (M(mimoe.edge.mcm_mim) would not change it).
      type: bool
      returned: success
    reasons:
      description: Why they differ (empty when equal).
      type: list
      elements: str
      returned: success
    diff:
      description: The differing values, C(before) on the node and C(after) as desired.
      type: dict
      returned: success
  sample:
    name: hello-v1
    equal: false
    reasons: ["env differs in GREETING"]
    diff: {before: {env: {GREETING: hello}}, after: {env: {GREETING: hi}}}
'''

from ansible.module_utils.basic import env_fallback

from ansible_collections.mimoe.edge.plugins.module_utils._mcm_info import run_info
from ansible_collections.mimoe.edge.plugins.module_utils._mcm_module import MCMModule
from ansible_collections.mimoe.edge.plugins.module_utils._mcm_state import DEFAULT_STATE_FILE


def main():
    argument_spec = dict(
        name=dict(type='list', elements='str'),
        mim_filters=dict(type='dict', options=dict(
            name=dict(type='list', elements='str'),
            state=dict(type='list', elements='str'),
            status=dict(type='list', elements='str'),
            image=dict(type='list', elements='str'),
            label=dict(type='list', elements='str'),
            composition=dict(type='list', elements='str'),
        )),
        image_filters=dict(type='dict', options=dict(
            name=dict(type='list', elements='str'),
            in_use=dict(type='bool'),
            digest=dict(type='list', elements='str'),
        )),
        images=dict(type='bool', default=True),
        mims=dict(type='bool', default=True),
        compare_mim=dict(type='dict', options=dict(
            name=dict(type='str', required=True),
            image=dict(type='str', required=True),
            env=dict(type='dict', default={}),
            secret_env=dict(type='dict', default={}, no_log=True),
        )),
        unmask_secret_env=dict(type='bool', default=False),
        fingerprint_file=dict(type='path', default=DEFAULT_STATE_FILE,
                              fallback=(env_fallback, ['MCM_FINGERPRINT_FILE'])),
    )
    mcm = MCMModule(argument_spec, supports_check_mode=True)
    mcm.exit(changed=False, **mcm.run(lambda: run_info(mcm)))


if __name__ == '__main__':
    main()
