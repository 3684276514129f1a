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
      - The reserved keys C(MIMOE_SECRET_KEYS), C(MIMOE_COMPOSITION), C(MIMOE_RELEASE) and C(MIMOE_LABELS) may not be
        set. As the one
        exception, C(MIMOE_SECRET_KEYS) in O(env) (an env read back from a node) marks the keys it lists as
        secret, so a node's env can be redeployed as is.
    type: dict
  labels:
    description:
      - Labels of the mim, a dictionary of strings (quote numbers and booleans), like Docker or Kubernetes labels.
      - Kept on the node in the reserved env key C(MIMOE_LABELS), never shown as ordinary env; returned as
        RV(labels) and C(mim.labels), shown in the diff, and used by M(mimoe.edge.mcm_info) and the inventory to
        select mims.
      - Changing only the labels redeploys the mim, like an env change. Same labels, no change.
      - When not set, the labels on the node are left as they are (a redeploy keeps them). V({}) removes them.
    type: dict
  start_file:
    description:
      - Path of a seed-style C(start.json) (C({"name", "image", "env"}), as C(mimik-edge-cli container deploy
        --payload) takes it) on the host that runs the task, used as is.
      - Its C(image) may name the image archive instead of the image, as seed 000's C(start.json) does
        (V(hello-v1-1.0.0.tar), or a path relative to the directory of the C(start.json)). The mim is then deployed
        from the image inside that archive (the name of its first C(RepoTag)), which must already be on the node.
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
    aliases: [poll_interval]
  health:
    description:
      - A health check of the mim through the node, after it runs (C(GET <node>/<clientId><MCM.BASE_API_PATH><path>),
        the check M(mimoe.edge.mim_release) makes). The MCM token is never sent to the mim.
      - Runs with O(state=present), O(state=started) and O(state=restarted), also when the mim is up to date (the
        task then tells that it is healthy); never in check mode. Not set, no health check.
      - The task fails when the check fails, naming the node, the URL, the status and the body seen last, unless
        O(restart_on_failure=true) restarts the mim and the check then passes.
    type: dict
    suboptions:
      enabled:
        description: Whether to check.
        type: bool
        default: true
      path:
        description: Path below the mim's base path.
        type: str
        default: /healthcheck
      base_path:
        description: The mim's base path; default the C(MCM.BASE_API_PATH) of O(env), else C(/<name>).
        type: str
      status:
        description: Expected HTTP status.
        type: int
        default: 200
      body_regex:
        description: A regular expression the body must match (search).
        type: str
      retries:
        description: Attempts before the check fails.
        type: int
        default: 5
      delay:
        description: Seconds between two attempts.
        type: float
        default: 1
      timeout:
        description: Seconds to wait for each answer.
        type: float
        default: 10
  restart_on_failure:
    description:
      - When the O(health) check fails, restart the mim once (a stop and start on the legacy API generation, a
        redeploy on the current one) and check again; the task fails if it is still not healthy.
    type: bool
    default: false
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

    - name: Deploy with labels, wait until healthy, restart once if not
      mimoe.edge.mcm_mim:
        name: hello-v1
        image: hello-v1
        env:
          MCM.BASE_API_PATH: /hello/v1
        labels:
          app: hello
          tier: edge
        health:
          path: /hello
          status: 200
          body_regex: hello
          retries: 10
          delay: 1
        restart_on_failure: true
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
    labels:
      app: hello
labels:
  description:
    - The labels of the mim after the task (in check mode, as they would be); V({}) when it has none.
  returned: when the mim exists after the task
  type: dict
  sample: {app: hello, tier: edge}
health:
  description: The result of the O(health) check.
  returned: when O(health) is set and the check ran
  type: dict
  contains:
    url:
      description: The URL checked (through the node).
      type: str
      returned: success
    status:
      description: The HTTP status seen last (none when the mim did not answer).
      type: int
      returned: success
    healthy:
      description: Whether the check passed.
      type: bool
      returned: success
    restarted:
      description: Whether the mim was restarted because the first check failed (O(restart_on_failure)).
      type: bool
      returned: success
  sample: {url: "http://node:8083/api/hello/v1/hello", status: 200, healthy: true, restarted: false}
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

from ansible.module_utils.basic import env_fallback, missing_required_lib

from ansible_collections.mimoe.edge.plugins.module_utils import _health
from ansible_collections.mimoe.edge.plugins.module_utils._errors import InputError, MimoeError
from ansible_collections.mimoe.edge.plugins.module_utils._mcm_mim import (
    HAS_JSONSCHEMA,
    JSONSCHEMA_IMPORT_ERROR,
    MimManager,
    MimStateManager,
    desired_from_params,
)
from ansible_collections.mimoe.edge.plugins.module_utils._mcm_module import MCMModule
from ansible_collections.mimoe.edge.plugins.module_utils._mcm_state import DEFAULT_STATE_FILE, FingerprintStore

STATES = ['present', 'absent', 'started', 'stopped', 'restarted']
NEEDS_SPEC = ('image', 'start_file', 'payload')


def converge(mcm):
    """Everything between the options and the result, in the manager; raises only :class:`MimoeError`."""
    params = mcm.params
    if params['wait_timeout'] < 0 or params['wait_sleep'] <= 0:
        raise InputError('wait_timeout must be 0 or more and wait_sleep more than 0')
    desired = desired_from_params(params)
    mims = MimManager(mcm, FingerprintStore(params['fingerprint_file']))
    options = dict((key, params[key]) for key in ('state', 'wait', 'wait_timeout', 'wait_sleep', 'restart_on_failure'))
    options['health'] = _health.options(params['health']) if params['health'] is not None else None
    return MimStateManager(mims, desired, options)


def main():
    argument_spec = dict(
        name=dict(type='str'),
        image=dict(type='str'),
        env=dict(type='dict'),
        secret_env=dict(type='dict', no_log=True),
        labels=dict(type='dict'),
        start_file=dict(type='path'),
        payload=dict(type='raw'),
        state=dict(type='str', default='present', choices=STATES),
        wait=dict(type='bool', default=True),
        wait_timeout=dict(type='int', default=60),
        wait_sleep=dict(type='float', default=1, aliases=['poll_interval']),
        health=dict(type='dict', options=_health.argument_spec()),
        restart_on_failure=dict(type='bool', default=False),
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
            ('state', 'present', NEEDS_SPEC, True),
            ('state', 'started', NEEDS_SPEC, True),
            ('state', 'restarted', NEEDS_SPEC, True),
        ],
    )
    if not HAS_JSONSCHEMA:
        mcm.module.fail_json(msg=missing_required_lib('jsonschema'), exception=JSONSCHEMA_IMPORT_ERROR)
    manager = mcm.run(lambda: converge(mcm))
    try:
        result = manager.run()
    except MimoeError as exc:
        mcm.fail_from(exc, **manager.failure_result(exc))
    if not mcm.diff_mode:
        result.pop('diff')
    mcm.exit(**result)


if __name__ == '__main__':
    main()
