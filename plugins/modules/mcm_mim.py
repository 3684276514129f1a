#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: mcm_mim
short_description: Deploy, redeploy, start, stop or remove a mim on a mimOE node
version_added: 0.1.0
description:
  - Manages one mim (a microservice deployed from an image) on a mimik mimOE edge node through the MCM API.
  - Reads the mim from the node and writes only on a difference. A changed image or env is applied by a
    redeploy (C(DELETE) then C(POST)), because the node refuses to deploy a name that exists.
  - 'Idempotency on the V(current) API generation: the env is compared as the node stores it, that is with
    C(MCM.BASE_API_PATH) prefixed with C(/<clientId>) and the C(MCM.*) flags the node fills with V("false")
    when absent. The mim is also redeployed when its image was replaced on the node after the mim was
    deployed (the image C(created) time is later than the mim C(created) time, or a legacy C(imageId) differs).'
  - 'On the V(legacy) generation the node does not return env (it may hold secrets). The module then keeps a
    fingerprint of what it deployed: an HMAC-SHA256 of the image name and env, keyed with a random salt kept
    in O(fingerprint_file), together with the node''s mim C(id) and C(created). No env value is stored. A
    legacy mim without a matching fingerprint (deployed by other means, from another controller, or redeployed
    since) is redeployed once.'
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
    support: partial
    details:
      - O(state=restarted) always redeploys or restarts the mim.
      - On the legacy API generation idempotency relies on O(fingerprint_file) on the host that runs the task.
options:
  name:
    description:
      - Name of the mim. The node's mim ID is C(<clientId>-<name>).
      - Required unless O(start_file) or O(payload) is given.
    type: str
  image:
    description:
      - Name of the image to deploy from (for example V(hello-v1)), as uploaded with M(mimoe.edge.mcm_image).
      - Required for O(state=present), O(state=started) and O(state=restarted) unless O(start_file) or O(payload)
        is given. With O(state=stopped) it may be omitted to stop the mim as it is.
    type: str
  env:
    description:
      - Environment of the mim. All values must be strings (quote numbers and booleans).
      - The node prefixes C(MCM.BASE_API_PATH) with C(/<clientId>); give it without the prefix (V(/hello/v1)).
    type: dict
  secret_env:
    description:
      - Environment values that are secrets, merged into O(env) (a key may not be in both).
      - Their values are never shown in the output, the diff or error messages (C(********)).
      - The names (never the values) of these keys are kept on the node in the reserved env key
        C(MIMOE_SECRET_KEYS), so that M(mimoe.edge.mcm_info), a later diff (a key removed from O(secret_env)
        shows as removed, value masked) and a fresh controller still mask them. A mim deployed before this marker
        existed is not redeployed just to add it; it gets the marker with its next change (or V(restarted)).
      - The reserved keys C(MIMOE_SECRET_KEYS), C(MIMOE_COMPOSITION) and C(MIMOE_RELEASE) may not be set. As the one
        exception, C(MIMOE_SECRET_KEYS) in O(env) (an env read back from a node) marks the keys it lists as
        secret, so a node's env can be redeployed as is.
    type: dict
  start_file:
    description:
      - Path of a seed-style C(start.json) (C({"name", "image", "env"}), as C(mimik-edge-cli container deploy
        --payload) takes it) on the host that runs the task, used as is.
      - Mutually exclusive with O(name), O(image), O(env) and O(payload).
    type: path
  payload:
    description:
      - The content of a C(start.json), as a dictionary or a JSON string. Mutually exclusive with O(name),
        O(image), O(env) and O(start_file).
    type: raw
  state:
    description:
      - V(present) deploys the mim with this spec if it is missing or different.
      - V(started) is V(present), and also brings back a mim that is stopped or crashed (C(state) V(stopped) with
        C(status) V(crashed), for example). The legacy generation starts it; the current generation, which has no
        start call, redeploys it.
      - With O(wait=true), a deploy or start succeeds only once the mim is running and healthy, that is C(state)
        V(started) (or V(running)) and a C(status) that is not a failure (V(crashed), V(error), V(down)...).
      - V(stopped) stops the mim (legacy generation, C(PUT /containers/{id} {"action":"stop"})).
        The current generation has no stop call, so V(stopped) fails there with an explanation rather than
        remove the mim; use V(absent) to remove it.
      - V(restarted) always restarts the mim. On the legacy generation, stop and start (a redeploy if the spec
        differs); on the current generation, which has no start or stop call, a redeploy (C(DELETE) and C(POST)).
      - A redeploy removes the mim first. Whether the node keeps the mim's datastore across that is up to the node
        (the mimoe.edge simulator drops it); back it up with M(mimoe.edge.mcm_datastore) when it matters.
      - V(absent) removes the mim.
    type: str
    choices: [present, absent, started, stopped, restarted]
    default: present
  wait:
    description:
      - After a deploy or start, wait until the node reports the mim as running (C(state) V(started) or V(running)).
    type: bool
    default: true
  wait_timeout:
    description:
      - Seconds to wait when O(wait=true). On timeout the task fails and returns the last mim seen.
    type: int
    default: 60
  wait_sleep:
    description:
      - Seconds between two reads of the mim while waiting.
    type: float
    default: 1
  fingerprint_file:
    description:
      - File that keeps the fingerprints of legacy deployments (see the description), on the host that runs the
        task. Created with mode 0600 when first needed; shared by parallel tasks under a file lock.
      - Only used on the legacy API generation.
      - If not set, the value of the E(MCM_FINGERPRINT_FILE) environment variable is used, then the default.
    type: path
    default: ~/.ansible/mimoe_edge/mcm_state.json
seealso:
  - module: mimoe.edge.mcm_image
  - module: mimoe.edge.mcm_composition
  - module: mimoe.edge.mcm_info
'''

EXAMPLES = r'''
- name: Deploy the hello mim on every node
  hosts: edge_nodes
  gather_facts: false
  module_defaults:
    group/mimoe.edge.mcm:
      mcm_url: "http://{{ ansible_host }}:8083"
      mcm_token: "{{ mcm_api_key }}"
  tasks:
    - name: Deploy hello-v1 with its env and an API key
      mimoe.edge.mcm_mim:
        name: hello-v1
        image: hello-v1
        env:
          MCM.BASE_API_PATH: /hello/v1
          MCM.WEBSOCKET_SUPPORT: "false"
        secret_env:
          API_KEY: "{{ hello_api_key }}"
      delegate_to: localhost

    - name: Deploy from a seed-style start.json
      mimoe.edge.mcm_mim:
        start_file: examples/hello-mim/start.json
      delegate_to: localhost

    - name: Stop a mim (legacy edgeEngine nodes only)
      mimoe.edge.mcm_mim:
        name: hello-v1
        state: stopped
      delegate_to: localhost

    - name: Remove the mim
      mimoe.edge.mcm_mim:
        name: hello-v1
        state: absent
      delegate_to: localhost
'''

RETURN = r'''
mim:
  description:
    - The mim as the node reports it after the task (before it in check mode), with secret env values masked.
    - On the legacy API generation C(env) is usually missing (the node does not return it).
  returned: when the mim exists after the task
  type: dict
  sample:
    id: api-hello-v1
    name: hello-v1
    image: hello-v1
    imageId: api-hello-v1
    clientId: api
    created: 1763888000
    state: started
    status: up
    env:
      MCM.BASE_API_PATH: /api/hello/v1
      MCM.WEBSOCKET_SUPPORT: "false"
      API_KEY: "********"
actions:
  description: What was done, or in check mode would be done, in order.
  returned: always
  type: list
  elements: str
  sample: ["removed mim hello-v1", "deployed mim hello-v1 from image hello-v1"]
reasons:
  description: Why the mim was (or would be) changed; empty when it is up to date.
  returned: always
  type: list
  elements: str
  sample: ["env differs in GREETING"]
api_version:
  description: API generation of the node, V(current) or V(legacy).
  returned: always
  type: str
  sample: current
diff:
  description: Changed keys only, secret values masked. Returned in diff mode.
  returned: when diff mode is on
  type: dict
  contains:
    before:
      description: Values on the node.
      type: dict
      returned: success
    after:
      description: Values after the task.
      type: dict
      returned: success
  sample:
    before: {env: {GREETING: hello}}
    after: {env: {GREETING: hi}}
'''

from ansible_collections.mimoe.edge.plugins.module_utils._mcm_client import MCMError
from ansible_collections.mimoe.edge.plugins.module_utils._mcm_mim import (
    HAS_JSONSCHEMA,
    JSONSCHEMA_IMPORT_ERROR,
    MIM_SPEC_SCHEMA,
    Comparison,
    Desired,
    MimManager,
    SpecError,
    WaitTimeout,
    is_running,
    mask_mim,
    run_state,
    merge_env,
    spec_from_start_json,
    validate,
)
from ansible_collections.mimoe.edge.plugins.module_utils._mcm_module import MCMModule
from ansible_collections.mimoe.edge.plugins.module_utils._mcm_state import (
    DEFAULT_STATE_FILE,
    FingerprintStore,
    StateFileError,
)
from ansible.module_utils.basic import env_fallback, missing_required_lib


def desired_from_params(params):
    """Build a :class:`Desired` from the module parameters; raises :class:`SpecError`."""
    if params['start_file']:
        path = params['start_file']
        try:
            with open(path, 'r') as handle:
                text = handle.read()
        except (IOError, OSError) as exc:
            raise SpecError('start_file: cannot read %s (%s); it is read on the host that runs the task' % (path, exc))
        spec = spec_from_start_json(text, 'start_file')
    elif params['payload'] is not None:
        spec = spec_from_start_json(params['payload'], 'payload')
    else:
        spec = dict(name=params['name'], image=params['image'], env=params['env'] or {})
        checked = dict(spec)
        if checked['image'] is None:
            checked['image'] = 'unset'
        errors = validate(checked, MIM_SPEC_SCHEMA)
        if errors:
            raise SpecError('; '.join(errors))
    secret_env = params['secret_env'] or {}
    errors = validate({'name': spec['name'], 'image': spec['image'] or 'unset', 'secret_env': secret_env},
                      MIM_SPEC_SCHEMA)
    if errors:
        raise SpecError('; '.join(errors))
    env, secret_keys = merge_env(spec['env'], secret_env)
    return Desired(spec['name'], spec['image'], env, secret_keys)


def main():
    argument_spec = dict(
        name=dict(type='str'),
        image=dict(type='str'),
        env=dict(type='dict'),
        secret_env=dict(type='dict', no_log=True),
        start_file=dict(type='path'),
        payload=dict(type='raw'),
        state=dict(type='str', default='present', choices=['present', 'absent', 'started', 'stopped', 'restarted']),
        wait=dict(type='bool', default=True),
        wait_timeout=dict(type='int', default=60),
        wait_sleep=dict(type='float', default=1),
        fingerprint_file=dict(type='path', default=DEFAULT_STATE_FILE,
                              fallback=(env_fallback, ['MCM_FINGERPRINT_FILE'])),
    )
    mcm = MCMModule(
        argument_spec,
        supports_check_mode=True,
        mutually_exclusive=[
            ('start_file', 'payload'),
            ('start_file', 'name'), ('start_file', 'image'), ('start_file', 'env'),
            ('payload', 'name'), ('payload', 'image'), ('payload', 'env'),
        ],
        required_one_of=[('name', 'start_file', 'payload')],
        required_if=[
            ('state', 'present', ('image', 'start_file', 'payload'), True),
            ('state', 'started', ('image', 'start_file', 'payload'), True),
            ('state', 'restarted', ('image', 'start_file', 'payload'), True),
        ],
    )
    if not HAS_JSONSCHEMA:
        mcm.module.fail_json(msg=missing_required_lib('jsonschema'), exception=JSONSCHEMA_IMPORT_ERROR)
    params = mcm.params
    state = params['state']
    if params['wait_timeout'] < 0 or params['wait_sleep'] <= 0:
        mcm.fail('wait_timeout must be 0 or more and wait_sleep more than 0')
    try:
        desired = desired_from_params(params)
    except SpecError as exc:
        mcm.fail('Invalid mim spec: %s' % exc)

    try:
        run(mcm, desired, state)
    except WaitTimeout as exc:
        mcm.fail_mcm(exc, changed=True, mim=mask_mim(exc.mim, desired.secret_keys))
    except MCMError as exc:
        mcm.fail_mcm(exc)
    except StateFileError as exc:
        mcm.fail(str(exc))


def run(mcm, desired, state):
    params = mcm.params
    client = mcm.client
    if state == 'stopped' and not client.legacy:
        mcm.fail('state=stopped is not possible on this node: the current MCM API generation has no stop call '
                 '(a mim runs while it is deployed). Use state=absent to remove the mim, or state=restarted to '
                 'restart it')
    store = FingerprintStore(params['fingerprint_file'])
    mgr = MimManager(mcm, store)
    mim = mgr.find_mim(desired.name)
    result = dict(changed=False, reasons=[])
    diff = dict(before={}, after={})

    if state == 'absent':
        if mim is not None:
            result['changed'] = True
            result['reasons'].append('the mim %s is deployed' % desired.name)
            diff = dict(before={'state': 'present', 'image': mim.get('image')}, after={'state': 'absent'})
            if mcm.check_mode:
                mcm.actions.append('removed mim %s' % desired.name)
            else:
                mgr.remove(mim)
        elif client.legacy and not mcm.check_mode:
            store.forget(mgr.store_key(desired.name))
        finish(mcm, result, diff, None, desired)

    if desired.image is None:  # state=stopped without a spec: stop the mim as it is
        if mim is None:
            mcm.fail('The mim %s is not deployed; give image (and env) to deploy it stopped' % desired.name)
        cmp = Comparison()
    else:
        if mgr.find_image(desired.image) is None:
            message = mgr.missing_images_message([desired.image])
            if not mcm.check_mode:
                mcm.fail(message)
            mcm.module.warn(message + ' (check mode: assuming an earlier task uploads it)')
        cmp = mgr.compare(desired, mim)

    # The current API has no start call: a stopped or crashed mim is brought back by redeploying it.
    revive = state == 'started' and not client.legacy and mim is not None and cmp.equal and not is_running(mim)
    redeploy = not cmp.equal or (state == 'restarted' and not client.legacy) or revive
    result['reasons'].extend(cmp.reasons)
    if revive:
        result['reasons'].append('state=started and the mim is %s: redeploying it (the current API generation '
                                 'has no start call)' % run_state(mim))
    diff = dict(before=cmp.before, after=cmp.after)
    if revive:
        diff = dict(before={'state': run_state(mim)}, after={'state': 'started'})
    wait = params['wait']

    if redeploy:
        result['changed'] = True
        if state == 'restarted' and cmp.equal:
            result['reasons'].append('state=restarted: the current API generation restarts by redeploying')
        if mcm.check_mode:
            if mim is not None:
                mcm.actions.append('removed mim %s' % desired.name)
            mcm.actions.append('deployed mim %s from image %s' % (desired.name, desired.image))
            if state == 'stopped':
                mcm.actions.append('stopped mim %s' % desired.name)
        else:
            mim = mgr.deploy(desired, mim)
            if wait:
                mim = mgr.wait_running(desired.name, params['wait_timeout'], params['wait_sleep'], mim)
            else:
                mim = mgr.find_mim(desired.name, refresh=True) or mim
            mgr.record(desired, mim)
            if state == 'stopped':
                mgr.set_running(mim, False)
                mim = mgr.find_mim(desired.name, refresh=True) or mim
    elif client.legacy and mim is not None:
        running = is_running(mim)
        steps = []
        if state == 'restarted':
            steps = [False, True] if running else [True]
        elif state == 'started' and not running:
            steps = [True]
        elif state == 'stopped' and running:
            steps = [False]
        if steps:
            result['changed'] = True
            result['reasons'].append('state=%s and the mim is %s' % (state, run_state(mim)))
            if state != 'restarted':
                diff = dict(before={'state': run_state(mim)}, after={'state': 'started' if steps[-1] else 'stopped'})
            if mcm.check_mode:
                for step in steps:
                    mcm.actions.append('%s mim %s' % ('started' if step else 'stopped', desired.name))
            else:
                for step in steps:
                    mgr.set_running(mim, step)
                if steps[-1] and wait:
                    mim = mgr.wait_running(desired.name, params['wait_timeout'], params['wait_sleep'], mim)
                else:
                    mim = mgr.find_mim(desired.name, refresh=True) or mim
    finish(mcm, result, diff, mim, desired)


def finish(mcm, result, diff, mim, desired):
    if mim is not None:
        result['mim'] = mask_mim(mim, desired.secret_keys)
    if mcm.diff_mode:
        result['diff'] = diff if result['changed'] else dict(before={}, after={})
    mcm.exit(**result)


if __name__ == '__main__':
    main()
