#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: mcm_composition
short_description: Deploy a set of mims together on a mimOE node
version_added: 0.1.0
description:
  - Deploys several mims as one named composition through the node's compositions endpoint
    (C(POST /mcm/v1/compositions)).
  - Each member is compared with the node like M(mimoe.edge.mcm_mim) does; only members that are missing or
    differ are (re)deployed (C(DELETE) of the old member, then one C(POST) with the changed members).
  - 'Membership: every member is deployed with the reserved env key C(MIMOE_COMPOSITION=<name>), visible on the
    node in the mim''s env. O(prune=true) removes mims carrying that key for this composition that are no longer
    listed; mims of other compositions or deployed otherwise are never pruned. On the legacy API generation, which
    does not return env, the member names are also recorded in O(fingerprint_file).'
  - On the legacy API generation, which has no compositions endpoint, the changed members are deployed one by one.
  - O(state=absent) removes the whole application, like C(helm uninstall) or C(docker compose down). With
    O(remove_images=true) the images that only its members used go too (an image another mim still uses stays).
author:
  - mimoe.edge contributors (@mimoe-edge)
extends_documentation_fragment:
  - mimoe.edge.mcm
  - mimoe.edge._attributes
  - mimoe.edge._attributes.ACTIONGROUP_MCM
  - mimoe.edge._attributes.CHECK_MODE_FULL
  - mimoe.edge._attributes.DIFF_MODE_FULL
attributes:
  idempotent:
    support: full
    details:
      - On the legacy API generation idempotency relies on O(fingerprint_file) on the host that runs the task.
options:
  name:
    description:
      - Name of the composition. Set as the value of the env key C(MIMOE_COMPOSITION) on every member.
    type: str
    required: true
  state:
    description:
      - V(present) deploys the members that are missing or differ.
      - V(absent) removes every member of the composition, that is every mim carrying C(MIMOE_COMPOSITION=<name>)
        (on the legacy API generation, every mim recorded as a member in O(fingerprint_file)), and every mim listed
        in O(mims) that carries no other composition's key. Mims of other compositions are never removed.
    type: str
    choices: [present, absent]
    default: present
    version_added: 0.2.0
  mims:
    description:
      - 'The members. Each is a dictionary with the keys of M(mimoe.edge.mcm_mim): C(name) (required),
        C(image) (required), C(env) (dictionary of strings) and C(secret_env) (dictionary of strings whose
        values are never shown).'
      - Validated with JSON Schema before anything is sent; an error names the entry and the field, for example
        C(mims[2].env.PORT) followed by C(8080 is not of type 'string').
      - The env keys C(MIMOE_COMPOSITION), C(MIMOE_SECRET_KEYS) and C(MIMOE_RELEASE) are reserved. The names (never
        the values) of C(secret_env) keys are kept on the node in C(MIMOE_SECRET_KEYS), like
        M(mimoe.edge.mcm_mim) does.
      - Required with O(state=present). With O(state=absent) it may be left out; if given, it is validated and its
        names are removed too (see O(state)).
    type: list
    elements: dict
  prune:
    description:
      - Remove the mims of this composition (env C(MIMOE_COMPOSITION=<name>)) that are not in O(mims).
    type: bool
    default: false
  remove_images:
    description:
      - Also remove the images of the mims this task removes (the whole composition with O(state=absent), the
        pruned members with O(prune=true)), after removing the mims.
      - An image is removed only if no mim left on the node (for this client) uses it; images of other mims and
        other compositions stay. To remove every image no mim uses, see M(mimoe.edge.mcm_prune).
      - RV(removed_images) lists what was removed (in check mode, what would be).
    type: bool
    default: false
    version_added: 0.2.0
  atomic:
    description:
      - If deploying a member fails, undo this run's changes to the members. Remove the members it deployed and
        redeploy the previous spec of members it replaced, then fail.
      - On the legacy API generation the previous spec of a replaced member cannot be read back (no env), so such
        a member stays removed; the failure message lists what was and was not restored.
      - Pruning happens only after every member deployed, so a failed run never prunes.
      - With V(false) (the default) a failed run still never leaves a previously working member removed; every
        member that existed before and is not running and healthy after the failure gets its previous spec back
        (current API generation); members that updated fine keep the new spec. RV(rolled_back) lists what was
        restored. The legacy generation cannot read a previous spec back (no env), so there the failure message
        says which member could not be restored.
    type: bool
    default: false
  wait:
    description:
      - Wait until every deployed member runs (O(state=present)).
    type: bool
    default: true
  wait_timeout:
    description:
      - Seconds to wait for each member.
    type: int
    default: 60
  wait_sleep:
    description:
      - Seconds between two reads while waiting.
    type: float
    default: 1
  fingerprint_file:
    description:
      - Fingerprint file for the legacy API generation; see M(mimoe.edge.mcm_mim).
      - If not set, the value of the E(MCM_FINGERPRINT_FILE) environment variable is used, then the default.
    type: path
    default: ~/.ansible/mimoe_edge/mcm_state.json
notes:
  - The node has no call to read a composition back; the module reads the mims and their env.
seealso:
  - module: mimoe.edge.mcm_mim
'''

EXAMPLES = r'''
- name: Deploy the shop composition
  hosts: edge_nodes
  gather_facts: false
  module_defaults:
    group/mimoe.edge.mcm:
      mcm_url: "http://{{ ansible_host }}:8083"
      mcm_token: "{{ mcm_api_key }}"
  tasks:
    - name: Two mims, deployed together; drop members no longer listed
      mimoe.edge.mcm_composition:
        name: shop
        prune: true
        atomic: true
        mims:
          - name: catalog-v1
            image: catalog-v1
            env:
              MCM.BASE_API_PATH: /catalog/v1
          - name: cart-v1
            image: cart-v1
            env:
              MCM.BASE_API_PATH: /cart/v1
              PORT: "8080"
            secret_env:
              API_KEY: "{{ cart_api_key }}"
      delegate_to: localhost

    - name: Uninstall the shop application and the images only it used
      mimoe.edge.mcm_composition:
        name: shop
        state: absent
        remove_images: true
      delegate_to: localhost
'''

RETURN = r'''
mims:
  description: The members as the node reports them after the task (before it in check mode), secret values masked.
    Empty with O(state=absent).
  returned: always
  type: list
  elements: dict
  sample:
    - id: api-cart-v1
      name: cart-v1
      image: cart-v1
      state: started
      env: {MCM.BASE_API_PATH: /api/cart/v1, MIMOE_COMPOSITION: shop, API_KEY: "********"}
deployed:
  description: Members (re)deployed, or in check mode to be.
  returned: when O(state=present)
  type: list
  elements: str
  sample: [cart-v1]
unchanged:
  description: Members already up to date.
  returned: when O(state=present)
  type: list
  elements: str
  sample: [catalog-v1]
pruned:
  description: Mims removed by O(prune=true), or in check mode to be.
  returned: when O(state=present)
  type: list
  elements: str
  sample: [old-v1]
removed:
  description: Members removed by O(state=absent), or in check mode to be. Empty when the composition is gone.
  returned: when O(state=absent)
  type: list
  elements: str
  sample: [cart-v1, catalog-v1]
  version_added: 0.2.0
removed_images:
  description: Images removed by O(remove_images=true) (in check mode, to be), by name. Empty without it.
  returned: always
  type: list
  elements: str
  sample: [cart-v1]
  version_added: 0.2.0
reasons:
  description: Per changed member, why it is (re)deployed.
  returned: when O(state=present)
  type: dict
  sample: {cart-v1: ["env differs in PORT"]}
actions:
  description: What was done, or in check mode would be done, in order.
  returned: always
  type: list
  elements: str
  sample: ["removed mim cart-v1", "deployed composition members cart-v1"]
rolled_back:
  description: What the rollback after a failure did (all members with O(atomic=true), else the members whose
    update failed).
  returned: on failure
  type: list
  elements: str
  sample: ["removed cart-v1", "restored the previous cart-v1"]
api_version:
  description: API generation of the node, V(current) or V(legacy).
  returned: always
  type: str
  sample: current
diff:
  description: Per member, changed keys only, secret values masked. Returned in diff mode. A removed image appears
    as C(image/<name>).
  returned: when diff mode is on
  type: dict
  contains:
    before:
      description: Values on the node, per member name.
      type: dict
      returned: success
    after:
      description: Values after the task, per member name.
      type: dict
      returned: success
  sample:
    before: {cart-v1: {env: {PORT: "8080"}}}
    after: {cart-v1: {env: {PORT: "8081"}}}
'''

from ansible.module_utils.basic import env_fallback, missing_required_lib

from ansible_collections.mimoe.edge.plugins.module_utils._errors import MimoeError
from ansible_collections.mimoe.edge.plugins.module_utils._mcm_composition import (
    STATES,
    composition_manager,
    secret_values,
)
from ansible_collections.mimoe.edge.plugins.module_utils._mcm_mim import HAS_JSONSCHEMA, JSONSCHEMA_IMPORT_ERROR
from ansible_collections.mimoe.edge.plugins.module_utils._mcm_module import MCMModule
from ansible_collections.mimoe.edge.plugins.module_utils._mcm_state import DEFAULT_STATE_FILE, FingerprintStore

RESULT_KEYS = dict(present=('mims', 'deployed', 'unchanged', 'pruned', 'reasons', 'removed_images'),
                   absent=('mims', 'removed', 'removed_images'))


def main():
    argument_spec = dict(
        name=dict(type='str', required=True),
        state=dict(type='str', default='present', choices=list(STATES)),
        mims=dict(type='list', elements='dict'),
        prune=dict(type='bool', default=False),
        remove_images=dict(type='bool', default=False),
        atomic=dict(type='bool', default=False),
        wait=dict(type='bool', default=True),
        wait_timeout=dict(type='int', default=60),
        wait_sleep=dict(type='float', default=1),
        fingerprint_file=dict(type='path', default=DEFAULT_STATE_FILE,
                              fallback=(env_fallback, ['MCM_FINGERPRINT_FILE'])),
    )
    # secret_env values of the members are secrets like a no_log option: kept out of every output, from the raw
    # parameters, so that a malformed member (validation failure) is masked too.
    mcm = MCMModule(argument_spec, supports_check_mode=True, required_if=[('state', 'present', ['mims'])],
                    extra_secrets=lambda params: secret_values(params.get('mims')))
    params = mcm.params
    if not HAS_JSONSCHEMA:
        mcm.module.fail_json(msg=missing_required_lib('jsonschema'), exception=JSONSCHEMA_IMPORT_ERROR)
    manager = composition_manager(mcm, FingerprintStore(params['fingerprint_file']))
    try:
        result = manager.run(params['state'], params['name'], params['mims'], prune=params['prune'],
                             atomic=params['atomic'], remove_images=params['remove_images'], wait=params['wait'],
                             wait_timeout=params['wait_timeout'], wait_sleep=params['wait_sleep'])
    except MimoeError as exc:
        mcm.fail_from(exc, changed=mcm.recorder.changed, rolled_back=getattr(exc, 'rolled_back', []))

    output = dict((key, result[key]) for key in RESULT_KEYS[params['state']])
    if mcm.diff_mode:
        output['diff'] = dict(before=result['before'], after=result['after'])
    mcm.exit(**output)


if __name__ == '__main__':
    main()
