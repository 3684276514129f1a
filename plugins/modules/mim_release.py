#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: mim_release
short_description: Bring one mim on one mimOE node to a release, atomically, with rollback
version_added: 0.2.0
description:
  - Brings one mim on one node to the desired release in one transaction, the way C(helm upgrade --install --atomic
    --wait) does for a Kubernetes release.
  - One read of the node (its images and mims), then a decision. A node that has the image digest and the mim's env
    is left alone (C(changed=false), no write). Otherwise, in order, backs up the mim's datastore (current API),
    removes the mim, uploads the image (or has the node pull it), deploys the mim with O(env) and O(secret_env),
    restores the datastore, waits until the mim runs and checks its health through the node.
  - Any failure after the first write rolls the node back to its previous image, env and data, then fails with
    RV(rolled_back=true), RV(failed_step) and the node's own message.
  - What identifies the deployed release is kept on the node, in the reserved env key C(MIMOE_RELEASE) of the mim
    (image, version, digest, revision), so any controller, an AWX job with an empty HOME included, can tell it.
  - The archive of the previous release, needed to roll back, comes from O(cache_dir) when it holds it (a speed-up),
    else from O(registry), where the module keeps every archive it rolls out, by digest, before the first write
    (repository C(<namespace>/mimoe-releases), tag C(sha256-<hex>)). When neither has it, the node is not touched
    unless O(allow_no_rollback=true).
  - An upgrade interrupted after the mim was removed (node killed, link lost) leaves the previous image on the node
    without its mim; the next run deploys the release and restores the backup taken before the interruption
    (RV(resumed=true)).
  - Runs in-process on the controller (action plugin), like the MCM modules.
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
      - Reads the node and returns the plan (RV(plan)) and C(changed) as a real run would; writes nothing, to the
        node or the registry, and never fails because a skipped write did not happen.
  diff_mode:
    support: full
    details:
      - Before and after version, digest and env, every secret value masked.
  idempotent:
    support: full
options:
  src:
    description:
      - Path of the image archive (docker-save layout) on the controller. Validated and hashed by the module.
      - Mutually exclusive with O(image) and O(revision).
    type: path
  image:
    description:
      - The image, described once for the whole run (so the archive is not hashed again per node). Either the
        RV(mimoe.edge.mim_package_info#module:image) of M(mimoe.edge.mim_package_info) (keys C(path), C(digest),
        C(name), C(version), ...), or an entry of the RV(mimoe.edge.catalog_info#module:resolved) of
        M(mimoe.edge.catalog_info) (keys C(image_digest), C(image_name), C(image_version), C(path), C(url),
        C(repository), ...), or a dictionary of such entries by architecture (C(amd64), C(arm64), C(arm)), from
        which O(arch) picks the node's.
      - Mutually exclusive with O(src) and O(revision).
    type: dict
  revision:
    description:
      - Bring the mim back to a release the node remembers instead of O(src) or O(image), like C(helm rollback).
        V(previous) is the release before the current one; or a revision number (see RV(history)).
      - The node keeps the revision history of each mim in its release marker (the last 10 releases), so a fresh
        controller needs nothing else; the archive comes from O(cache_dir) or O(registry) (where every release
        rolled out with a registry is kept by digest). Needs O(name), and a node that returns env (current API).
      - The rollback is a new revision, as with Helm; O(env) and O(secret_env) are deployed with it.
      - Mutually exclusive with O(src) and O(image).
    type: str
    version_added: 0.3.0
  arch:
    description:
      - Architecture of the node; picks its image when O(image) has one entry per architecture.
    type: str
    choices: [amd64, arm64, arm]
  pull:
    description:
      - V(controller) uploads the archive from the controller; V(node) has the node download the image URL of a
        catalog entry itself (the registry must allow anonymous pulls; no credential is sent to a node).
    type: str
    choices: [controller, node]
    default: controller
  name:
    description:
      - Name of the mim. Defaults to the image name.
    type: str
  env:
    description:
      - Env of the mim (string values). The node's own rewrite of C(MCM.BASE_API_PATH) and its C(MCM.*) defaults
        are taken into account when comparing.
      - The keys C(MIMOE_RELEASE), C(MIMOE_SECRET_KEYS) and C(MIMOE_COMPOSITION) are reserved.
    type: dict
    default: {}
  secret_env:
    description:
      - Env values that are secret; masked in every result and diff.
    type: dict
    default: {}
  force:
    description:
      - Redeploy even when the node already runs the release.
    type: bool
    default: false
  backup:
    description:
      - Back up the mim's datastore before the change and restore it after the deploy (current API only; the
        legacy API has no datastore call).
    type: bool
    default: true
  backup_path:
    description:
      - Path on the node for the backup. Default C(mimoe.edge/<mim>-<first 12 hex of the previous digest>.json),
        which a later run finds again after an interruption.
    type: str
  health:
    description:
      - The health check, through the node (C(GET <node>/<clientId><MCM.BASE_API_PATH><path>)). The MCM token is
        never sent to the mim.
    type: dict
    default: {}
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
  wait_timeout:
    description:
      - Seconds to wait until a deployed mim runs.
    type: int
    default: 60
  datastore_timeout:
    description:
      - Seconds to wait for a datastore backup or restore.
    type: int
    default: 120
  poll_interval:
    description:
      - Seconds between two reads while waiting (mim state, datastore progress).
    type: float
    default: 0.2
  cache_dir:
    description:
      - A content-addressed cache of archives (C(<sha256 hex>.tar)) on the controller. The archive rolled out is
        copied there, and a rollback takes the previous one there first. It is optional (a speed-up), never
        required when O(registry) is set.
    type: path
  allow_no_rollback:
    description:
      - Upgrade a node even when the archive of its previous release is available neither in O(cache_dir) nor in
        O(registry) (a failure then leaves the node on the new image or without the previous one).
    type: bool
    default: false
  fingerprint_file:
    description:
      - Legacy API nodes do not return env. When this file (see M(mimoe.edge.mcm_mim)) has a record of the mim, a
        changed env is detected with it; without a record, a legacy node is compared by image digest and mim only,
        so a run from an empty HOME never redeploys (and never wipes the data of) a legacy node that runs the
        release.
    type: path
  registry:
    description:
      - The registry where every release is kept by digest (see the description). Keys as in
        M(mimoe.edge.catalog_info).
    type: dict
    suboptions:
      url:
        description: Registry URL.
        type: str
        required: true
      username:
        description: User.
        type: str
      password:
        description: Password or token.
        type: str
      auth_file:
        description:
          - The auth file to read the registry's credentials from when O(registry.username) and
            O(registry.password) are not set (as in M(mimoe.edge.catalog_info)); by default E(REGISTRY_AUTH_FILE),
            then C(config.json) of E(DOCKER_CONFIG) or C(~/.docker/).
        type: path
      namespace:
        description: Repository prefix.
        type: str
        default: ''
      validate_certs:
        description: Verify TLS.
        type: bool
        default: true
      ca_path:
        description: CA bundle.
        type: path
      client_cert:
        description: Client certificate (PEM) for registries that require mutual TLS.
        type: path
      client_key:
        description: Key of O(registry.client_cert), unless the certificate file holds it.
        type: path
      timeout:
        description: Seconds per request.
        type: float
        default: 30
notes:
  - A redeploy drops the mim's storage on the node, hence the datastore backup and restore.
  - On the legacy API the previous env cannot be read back, so a rollback redeploys with O(env) and O(secret_env).
seealso:
  - module: mimoe.edge.mcm_image
  - module: mimoe.edge.mcm_mim
  - module: mimoe.edge.mcm_datastore
'''

EXAMPLES = r'''
- name: Describe the archive once
  mimoe.edge.mim_package_info:
    path: /srv/mims/hello-v1-1.1.0.tar
  register: archive
  run_once: true
  delegate_to: localhost

- name: Bring hello-v1 to 1.1.0 on every node, atomically
  mimoe.edge.mim_release:
    mcm_url: "{{ mcm_url }}"
    mcm_token: "{{ mcm_token }}"
    image: "{{ archive.image }}"
    env:
      MCM.BASE_API_PATH: /hello/v1
    secret_env:
      API_KEY: "{{ vault_hello_api_key }}"
    health:
      path: /healthcheck
      body_regex: ok
    registry:
      url: https://registry.example.com
      namespace: edge
  register: release

- name: Back to the previous revision, from any controller (the node remembers its history)
  mimoe.edge.mim_release:
    mcm_url: "{{ mcm_url }}"
    mcm_token: "{{ mcm_token }}"
    name: hello-v1
    revision: previous
    env:
      MCM.BASE_API_PATH: /hello/v1
    registry:
      url: https://registry.example.com
      namespace: edge

- name: One line per node
  ansible.builtin.debug:
    msg: "{{ inventory_hostname }} {{ release.summary }}"
'''

RETURN = r'''
identity:
  description:
    - How the image on the node was compared with the release (absent when the node has no such image).
    - V(verified=false) means the node proved nothing (an opaque image id, no digest, no release marker) and its
      RepoTag names the same version; the image was kept rather than replaced on a guess.
  returned: when the node has the image
  type: dict
  sample: {verified: true, compared_by: digest}
status:
  description: V(unchanged), V(upgraded), V(rolled_back) (failed, and the node runs its previous release again) or
    V(failed) (before any write, or the rollback failed too).
  returned: always
  type: str
  sample: upgraded
summary:
  description: One line about the outcome.
  returned: always
  type: str
  sample: hello-v1 1.0.0 -> 1.1.0 upgraded, data restored
from:
  description: The release on the node before (C(version), C(digest), C(revision)).
  returned: when the node could be read
  type: dict
  sample: {version: 1.0.0, digest: "sha256:0f1e...", revision: 3}
to:
  description: The desired release (C(version), C(digest), C(revision)).
  returned: when the node could be read
  type: dict
  sample: {version: 1.1.0, digest: "sha256:9a8b...", revision: 4}
history:
  description:
    - The revision history of the mim on the node before this task, newest first; the first entry is the current
      release (C(current=true)). Each entry has C(revision), C(version), C(digest), C(current).
    - Empty when the mim has no release marker.
  returned: when the node could be read
  type: list
  elements: dict
  sample: [{revision: 4, version: 1.1.0, digest: "sha256:9a8b...", current: true},
           {revision: 3, version: 1.0.0, digest: "sha256:0f1e...", current: false}]
  version_added: 0.3.0
revision_target:
  description: With O(revision), the history entry it named (C(revision), C(version), C(digest)).
  returned: when O(revision) is set and found
  type: dict
  version_added: 0.3.0
mim:
  description: Name of the mim.
  returned: always
  type: str
  sample: hello-v1
api_version:
  description: API generation of the node.
  returned: when the node could be read
  type: str
  sample: current
backup:
  description: Path on the node of the datastore backup that was taken or restored (kept there), or empty.
  returned: always
  type: str
  sample: mimoe.edge/hello-v1-0f1e2d3c4b5a.json
data_restored:
  description: Whether the datastore was restored after the deploy.
  returned: always
  type: bool
resumed:
  description: Whether this run finished an upgrade that an earlier run left half done (data restored from its
    backup).
  returned: always
  type: bool
rolled_back:
  description: Whether the node was rolled back after a failure.
  returned: always
  type: bool
touched:
  description: Whether anything was written to the node.
  returned: always
  type: bool
failed_step:
  description: The step that failed (V(read), V(backup), V(remove_mim), V(upload_image), V(deploy), V(restore),
    V(health_check)), or empty.
  returned: always
  type: str
error:
  description: The step and the node's own message, or empty.
  returned: always
  type: str
  sample: "health_check failed: GET http://node:8083/api/hello/v1/healthcheck: status 500, expected 200"
rollback_error:
  description: Why the rollback failed, or empty.
  returned: always
  type: str
rollback_source:
  description: Where the previous image would come from for a rollback (V(node), V(cache), V(registry), V(none)).
  returned: when a change is needed
  type: str
reasons:
  description: Why the node needs a change.
  returned: always
  type: list
  elements: str
plan:
  description: The steps taken, or in check mode that would be taken.
  returned: always
  type: list
  elements: str
  sample: ["backup: back up the datastore of hello-v1 to mimoe.edge/hello-v1-0f1e2d3c4b5a.json"]
steps:
  description: Each step run, with its duration in seconds and whether it succeeded.
  returned: always
  type: list
  elements: dict
  sample: [{step: read, seconds: 0.012, ok: true}]
actions:
  description: Unused by this module (kept for the MCM modules' common result); see RV(plan).
  returned: always
  type: list
  elements: str
'''

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.mimoe.edge.plugins.module_utils._mcm_module import MCMModule
from ansible_collections.mimoe.edge.plugins.module_utils._mcm_release import (
    RELEASE_RULES,
    ReleaseFailed,
    release_argument_spec,
    run_release,
)
from ansible_collections.mimoe.edge.plugins.module_utils._oci_client import HAS_ORAS, ORAS_IMPORT_ERROR


def main():
    mcm = MCMModule(release_argument_spec(), supports_check_mode=True, **RELEASE_RULES)
    if mcm.params['registry'] and not HAS_ORAS:
        mcm.module.fail_json(msg=missing_required_lib('oras'), exception=ORAS_IMPORT_ERROR)
    try:
        result = run_release(mcm)
    except ReleaseFailed as exc:
        mcm.fail(exc.message, **exc.result)
    mcm.exit(**result)


if __name__ == '__main__':
    main()
