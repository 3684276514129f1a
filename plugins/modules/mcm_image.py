#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: mcm_image
short_description: Upload, replace or remove a mim image on a mimOE node
version_added: 0.1.0
description:
  - Manages one image on a mimik mimOE edge node through the MCM API.
  - 'Idempotent by content: the module computes the SHA-256 digest of the archive (streaming, on the host that
    runs the task) and compares it with the digest the node reports for the image of that name (after the colon,
    so C(sha256:) and a real node''s C(sha265:) spelling compare equal). Same digest: nothing is sent. A different
    digest: the image is replaced (C(DELETE) then upload).'
  - 'Nodes identify images in different ways, and all are understood: the current API reports the archive digest;
    legacy nodes report the Docker image id, the digest of the image config JSON, in full or short form
    (C(sha256:4dcab49015d4)), which is compared with the archive''s config digest (or a 12-hex prefix of it); some
    legacy nodes give an opaque id (C(<appId>-example-v1)) and no digest: the release marker that the collection
    keeps in the env of the mims deployed from the image (C(MIMOE_RELEASE)) then decides, never a file on the
    controller.'
  - 'When the node proves nothing (opaque id, no marker), an image with the same RepoTag C(name:version) as the
    archive is kept, and so is an image that mims use: the task reports C(identity.verified=false) and a warning
    rather than take running mims down on a guess. An unused image that the node cannot identify is replaced.'
  - The archive is validated locally before anything is sent (docker-save layout, C(manifest.json) with
    C(RepoTags) and C(Layers), a layer holding the entry file C(index.js)); a corrupt or truncated archive fails
    with the reason.
  - 'The upload is C(multipart/form-data) (field C(image), type C(application/x-tar)) and never sends
    C(Expect: 100-continue), which the node rejects.'
  - 'A node refuses to delete an image that a deployed mim uses. Replacing or removing such an image therefore
    fails with the names of those mims, unless O(force=true): with O(state=present), the module then removes those
    mims, replaces the image and redeploys them with the spec they had (name, image, env as read back from the
    node); with O(state=absent) it removes those mims and the image. O(force=true) with O(state=present) is refused
    on the legacy API generation, which does not return the env needed to redeploy.'
  - 'With O(reference), the image is the one the catalog (an OCI registry, see M(mimoe.edge.catalog_item)) holds for
    the node''s architecture O(arch): uploaded from the controller''s image cache (O(pull=controller), each digest
    downloaded once and its SHA-256 verified), or downloaded by the node itself from the registry
    (O(pull=node)).'
author:
  - mimoe.edge contributors (@mimoe-edge)
extends_documentation_fragment:
  - mimoe.edge.mcm
  - mimoe.edge.registry
  - mimoe.edge._attributes
  - mimoe.edge._attributes.ACTIONGROUP_MCM
  - mimoe.edge._attributes.CHECK_MODE_FULL
  - mimoe.edge._attributes.DIFF_MODE_FULL
attributes:
  idempotent:
    support: partial
    details:
      - Full with O(src) and O(reference) (compared by content digest).
      - With O(url) the content is compared only when O(digest) is given; otherwise an image of that name counts
        as up to date.
options:
  name:
    description:
      - Name of the image on the node, the repository part of the archive's first RepoTag (tag V(hello-v1:1.0.0)
        gives V(hello-v1)).
      - With O(src) it is read from the archive; if given, it must match.
      - Required with O(url), and with O(state=absent) unless O(src) is given.
    type: str
  src:
    description:
      - Path of a docker-save image archive (C(.tar)), as the mimik packager writes it to C(deploy/).
      - 'The path is on the host that runs the task: with C(delegate_to: localhost) or C(connection: local),
        the controller.'
      - Mutually exclusive with O(url) and O(reference).
    type: path
  url:
    description:
      - URL the node downloads the image archive from (the node must reach it). Mutually exclusive with O(src).
    type: str
  reference:
    description:
      - 'A catalog reference, V(<item>@<version>): the image of that version for the architecture O(arch), from
        the registry O(registry). The same reference as M(mimoe.edge.catalog_info) takes.'
      - Mutually exclusive with O(src) and O(url). Needs O(registry) and O(arch).
    type: str
    aliases: [catalog]
  arch:
    description:
      - Architecture of the node, which picks the image of a O(reference) version. The task fails when the version
        has no image for it.
    type: str
    choices: [amd64, arm64, arm]
  pull:
    description:
      - With O(reference), who downloads the image from the registry.
      - V(controller) downloads it once per digest into O(cache_dir) on the host that runs the task, verifies its
        SHA-256, and uploads it to the node.
      - V(node) has the node download the blob URL itself (C(POST /mcm/v1/images) with C(url)), from
        O(node_registry_url) when given. The task first checks that the registry serves the blob without
        credentials; when it does not, the task fails unless O(node_credentials=true).
    type: str
    choices: [controller, node]
    default: controller
  node_registry_url:
    description:
      - With O(pull=node), the base URL under which the node reaches the registry, when it differs from
        O(registry.url) as the controller reaches it - a gateway proxy on the node's network (for example
        V(http://containers.local:8080)) or a pull-through mirror of the registry (docker C(registry-mirrors)).
      - The node is asked to fetch C(<node_registry_url>/v2/<repository>/blobs/<digest>); the blob is still checked
        against the catalog's digest after the download.
      - The controller still reads the catalog from O(registry.url).
    type: str
  node_credentials:
    description:
      - With O(pull=node), hand the node the registry credentials (O(registry.username) and
        O(registry.password), as an HTTP Basic C(authorization) field of the pull request) when the registry does
        not serve the image anonymously.
      - Off by default - a node is never given a registry password unless this is set. The credentials never
        appear in the task output, the actions or the diff. Prefer a read-only account for this.
      - For registries with HTTP Basic authentication (htpasswd); a registry that answers with a Bearer token
        challenge is not supported for node pulls yet (use O(pull=controller)).
    type: bool
    default: false
  upload_mode:
    description:
      - How the archive is sent to the node (O(src), or O(reference) with O(pull=controller)).
      - V(multipart) is a C(multipart/form-data) upload, which every node takes.
      - 'V(base64) is the legacy API''s JSON upload C({"base64Image": ...}) with C(mode=payload) (seed 002); only
        nodes of the legacy generation offer it, and the task fails on a current node before sending anything.
        The archive grows by a third on the wire.'
    type: str
    choices: [multipart, base64]
    default: multipart
  cache_dir:
    description:
      - With O(reference) and O(pull=controller), the image cache directory (C(<sha256 hex>.tar) files), shared with
        the mimoe.edge.mim_rollout role.
    type: path
    default: ~/.cache/mimoe.edge/images
  digest:
    description:
      - Expected C(sha256:) digest of the archive at O(url). When given, an image of that name with another digest
        is replaced, and a download with another digest fails. The image the node fetched with another digest is
        then removed (a later M(mimoe.edge.mcm_mim) must not run it) and the message says so; an image of that
        name that was on the node before had to be replaced by the pull and must be uploaded again.
      - Only with O(url).
    type: str
  force:
    description:
      - Replace (O(state=present)) or remove (O(state=absent)) the image even if deployed mims use it. See the
        description for what happens to those mims.
    type: bool
    default: false
  state:
    description:
      - V(present) makes the image with this content exist; V(absent) removes it.
    type: str
    choices: [present, absent]
    default: present
  wait:
    description:
      - When mims are redeployed because of O(force=true), wait until each runs again.
    type: bool
    default: true
  wait_timeout:
    description:
      - Seconds to wait for each redeployed mim.
    type: int
    default: 60
  wait_sleep:
    description:
      - Seconds between two reads of the node while waiting.
    type: float
    default: 1
seealso:
  - module: mimoe.edge.mcm_mim
  - module: mimoe.edge.mcm_info
'''

EXAMPLES = r'''
- name: Roll out the hello image
  hosts: edge_nodes
  gather_facts: false
  module_defaults:
    group/mimoe.edge.mcm:
      mcm_url: "http://{{ ansible_host }}:8083"
      mcm_token: "{{ mcm_api_key }}"
  tasks:
    - name: Upload the image built on the controller (no upload if the node has the same content)
      mimoe.edge.mcm_image:
        src: examples/hello-mim/deploy/hello-v1-1.0.0.tar
      delegate_to: localhost

    - name: Replace a new version of the image and redeploy the mims that use it
      mimoe.edge.mcm_image:
        src: examples/hello-mim/deploy/hello-v1-1.0.1.tar
        force: true
      delegate_to: localhost

    - name: Let the node download an image
      mimoe.edge.mcm_image:
        name: hello-v1
        url: https://artifacts.example.com/hello-v1-1.0.0.tar
        digest: sha256:5d41402abc4b2a76b9719d911017c592ae12b1f2e4d1b8f2c33b9a3c3b1c1a5e
      delegate_to: localhost

    - name: Upload the catalog's image of hello 1.0.0 for this node's architecture
      mimoe.edge.mcm_image:
        reference: hello@1.0.0
        arch: "{{ mimoe_arch }}"
        registry:
          url: https://registry.example.com
          username: reader
          password: "{{ registry_password }}"
      delegate_to: localhost

    - name: Let the node pull it from an anonymous-pull registry
      mimoe.edge.mcm_image:
        reference: hello@1.0.0
        arch: "{{ mimoe_arch }}"
        pull: node
        registry:
          url: https://registry.example.com
      delegate_to: localhost

    - name: Let the node pull through its gateway, with the registry's read-only account
      mimoe.edge.mcm_image:
        reference: hello@1.0.0
        arch: "{{ mimoe_arch }}"
        pull: node
        node_registry_url: http://containers.local:8080
        node_credentials: true
        registry:
          url: https://registry.example.com
          username: reader
          password: "{{ registry_password }}"
      delegate_to: localhost

    - name: Upload to a legacy node as base64 JSON (seed 002)
      mimoe.edge.mcm_image:
        src: examples/hello-mim/deploy/hello-v1-1.0.0.tar
        upload_mode: base64
      delegate_to: localhost

    - name: Remove the image
      mimoe.edge.mcm_image:
        name: hello-v1
        state: absent
      delegate_to: localhost
'''

RETURN = r'''
image:
  description: The image as the node reports it after the task (before it in check mode).
  returned: when the image exists after the task
  type: dict
  sample:
    id: api-hello-v1
    name: hello-v1
    digest: sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
    repoTags: ["hello-v1:1.0.0"]
    size: 10240
    created: 1763888000
    status: successfully deployed
digest:
  description: Content digest of the image (of O(src) when given, else as the node reports it).
  returned: when known
  type: str
  sample: sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
config_digest:
  description:
    - Digest of the image config JSON of O(src) (the Docker image id, what legacy nodes report as the image C(id)).
  returned: with O(src) or O(reference), when the archive has a config
  type: str
  sample: sha256:4dcab49015d4e3b0f2b7f0e4a1c7a1c8b2f3d4e5f60718293a4b5c6d7e8f9012
identity:
  description:
    - How the image already on the node was compared with O(src) (only when there was one).
    - C(verified) is true when a digest, a short C(sha256:) id or the release marker kept in the env of its mims
      proves the content; false when the node reports none of them and the image was kept because its RepoTag
      is the same C(name:version), or because mims use it (see the notes).
  returned: with O(src) or O(reference), when the image was on the node
  type: dict
  sample: {verified: true, compared_by: digest}
redeployed:
  description: Names of the mims removed and redeployed because of O(force=true).
  returned: always
  type: list
  elements: str
  sample: [hello-v1]
actions:
  description: What was done, or in check mode would be done, in order.
  returned: always
  type: list
  elements: str
  sample: ["removed image hello-v1", "uploaded image hello-v1 (sha256:9f86..., 10240 bytes)"]
catalog:
  description: With O(reference), the resolved image (as M(mimoe.edge.catalog_info) returns it in C(resolved)).
  returned: with O(reference)
  type: dict
  sample:
    name: hello
    version: 1.0.0
    arch: arm64
    image_digest: sha256:9f86...
    image_name: hello-v1
    repo_tag: hello-v1:1.0.0
    size: 10240
    url: https://registry.example.com/v2/hello/blobs/sha256:9f86...
    path: /home/user/.cache/mimoe.edge/images/9f86....tar
api_version:
  description: API generation of the node, V(current) or V(legacy).
  returned: when known (set by O(api_version), or detected by the calls the task made; finishing a task never calls the node)
  type: str
  sample: current
diff:
  description: Changed keys only. Returned in diff mode.
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
    before: {digest: "sha256:0a1b..."}
    after: {digest: "sha256:9f86..."}
'''

from ansible_collections.mimoe.edge.plugins.module_utils._catalog import registry_argument_spec, require_libraries
from ansible_collections.mimoe.edge.plugins.module_utils._errors import MimoeError
from ansible_collections.mimoe.edge.plugins.module_utils._mcm_image import ImageManager, node_secrets
from ansible_collections.mimoe.edge.plugins.module_utils._mcm_module import MCMModule


def main():
    argument_spec = dict(
        name=dict(type='str'),
        src=dict(type='path'),
        url=dict(type='str'),
        digest=dict(type='str'),
        force=dict(type='bool', default=False),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        wait=dict(type='bool', default=True),
        wait_timeout=dict(type='int', default=60),
        wait_sleep=dict(type='float', default=1),
        reference=dict(type='str', aliases=['catalog']),
        arch=dict(type='str', choices=['amd64', 'arm64', 'arm']),
        pull=dict(type='str', default='controller', choices=['controller', 'node']),
        node_registry_url=dict(type='str'),
        node_credentials=dict(type='bool', default=False),
        upload_mode=dict(type='str', default='multipart', choices=['multipart', 'base64']),
        cache_dir=dict(type='path', default='~/.cache/mimoe.edge/images'),
    )
    argument_spec.update(registry_argument_spec(apply_defaults=False))
    mcm = MCMModule(
        argument_spec,
        supports_check_mode=True,
        mutually_exclusive=[('src', 'url', 'reference')],
        required_by={'digest': 'url', 'url': 'name', 'reference': ('registry', 'arch'),
                     'node_registry_url': 'reference'},
        required_if=[
            ('state', 'present', ('src', 'url', 'reference'), True),
            ('state', 'absent', ('name', 'src'), True),
            ('node_credentials', True, ('reference',)),
        ],
        # The Basic value handed to a node is a secret too, in whatever a node might echo back.
        extra_secrets=node_secrets,
    )
    if mcm.params['reference']:
        require_libraries(mcm.module)
    manager = ImageManager(mcm.client, mcm.recorder, mcm.client_id)
    try:
        result = manager.run(mcm.params, diff=mcm.diff_mode)
    except MimoeError as exc:
        # A rejected node pull says itself whether it changed the node (it may have replaced an image first).
        mcm.fail_from(exc, changed=getattr(exc, 'changed', mcm.recorder.changed))
    mcm.exit(**result)


if __name__ == '__main__':
    main()
