#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: catalog_item
short_description: Publish or delete a version of a mim in the catalog (an OCI registry)
version_added: 0.2.0
description:
  - Publishes one version of a catalog item, the images of a mim for each node architecture (V(amd64), V(arm64),
    V(arm)), to an OCI registry; or deletes a version.
  - Each mim image archive becomes an OCI artifact; the version is an OCI image index tagged with the version, one
    entry per architecture, with the description and the mim name as annotations. C(docs/catalog.md) describes
    the layout.
  - 'Idempotent by digest: the archives are hashed locally; a blob the registry has already is not uploaded
    (C(HEAD) first), and a version whose index already lists the same images and description is not touched
    (C(changed=false), nothing pushed).'
  - A published version is not replaced with other images unless O(force=true).
  - O(state=absent) refuses to delete a version listed in O(in_use) unless O(force=true).
  - Also reads an iofogctl C(CatalogItem) document (O(definition) or O(src)) with C(spec.x86) and C(spec.arm).
author:
  - mimoe.edge contributors (@mimoe-edge)
extends_documentation_fragment:
  - mimoe.edge.registry
  - mimoe.edge._attributes
  - mimoe.edge.registry.ACTIONGROUP_CATALOG
  - mimoe.edge._attributes.CHECK_MODE_FULL
  - mimoe.edge._attributes.DIFF_MODE_FULL
  - mimoe.edge._attributes.IDEMPOTENT_FULL
options:
  name:
    description:
      - Name of the catalog item, lowercase letters, digits and C(-), 3 characters or more. The repository is
        C(<registry.namespace>/<name>).
      - Required unless O(definition) or O(src) names the item.
    type: str
  version:
    description:
      - Version, the tag of the index in the repository (for example V(1.0.0)).
    type: str
    required: true
  description:
    description:
      - Description of the item, stored with the version. With O(definition) or O(src), defaults to its
        C(spec.description).
    type: str
  images:
    description:
      - Image per architecture. Each value is the path of a mim image archive (C(.tar), on the host that runs the
        task), or an image already in the registry, V(<repository>@sha256:<hex>) (an artifact manifest) or
        V(<item>@<version>/<arch>) (the image of another catalog version).
      - Several architectures may name the same image (published once).
    type: dict
    suboptions:
      amd64:
        description: Image for 64-bit x86 nodes.
        type: str
      arm64:
        description: Image for 64-bit ARM nodes.
        type: str
      arm:
        description: Image for 32-bit ARM nodes.
        type: str
  image:
    description:
      - One image for every architecture (mim images are JavaScript, often the same on all). Same forms as in
        O(images).
    type: str
  definition:
    description:
      - An iofogctl C(CatalogItem) document (C(apiVersion) V(iofog.org/v3), C(kind) V(CatalogItem),
        C(metadata.name), C(spec.description), C(spec.x86), C(spec.arm), optionally C(spec.arm64)).
      - C(spec.x86) becomes V(amd64), C(spec.arm) becomes V(arm). The image values have the forms of O(images).
        C(spec.registry), C(spec.id) and C(spec.configExample) are ignored (the registry is O(registry)).
    type: dict
  src:
    description:
      - Path of a YAML file holding one iofogctl C(CatalogItem) document, read like O(definition).
    type: path
  state:
    description:
      - V(present) publishes the version; V(absent) deletes it (its index, and its artifacts that no other version
        of the item uses).
    type: str
    choices: [present, absent]
    default: present
  in_use:
    description:
      - With O(state=absent), what the fleet runs, as versions (V(1.0.0) or V(hello@1.0.0)) or digests (the image
        digests nodes report, as M(mimoe.edge.mcm_info) returns them, or manifest digests). A version that any of
        them names is not deleted unless O(force=true).
    type: list
    elements: str
    default: []
  force:
    description:
      - With O(state=absent), delete even when O(in_use) names the version.
      - With O(state=present), replace a published version whose images differ.
    type: bool
    default: false
notes:
  - Deleting needs a registry that allows it (CNCF distribution C(storage.delete.enabled=true)); the space is
    freed by the registry's garbage collection.
seealso:
  - module: mimoe.edge.catalog_info
  - module: mimoe.edge.mcm_image
'''

EXAMPLES = r'''
- name: Publish hello 1.0.0, one archive for every architecture
  mimoe.edge.catalog_item:
    name: hello
    version: 1.0.0
    description: Hello mim, counts its callers
    image: examples/hello-mim/deploy/hello-v1-1.0.0.tar
    registry:
      url: https://registry.example.com
      namespace: acme/mims
      username: publisher
      password: "{{ registry_password }}"

- name: Publish per-architecture builds
  mimoe.edge.catalog_item:
    name: hello
    version: 1.1.0
    images:
      amd64: build/hello-v1-1.1.0-amd64.tar
      arm64: build/hello-v1-1.1.0-arm64.tar
      arm: hello@1.0.0/arm
    registry:
      url: https://registry.example.com

- name: Import an iofogctl CatalogItem
  mimoe.edge.catalog_item:
    src: catalog/hello.yaml
    version: 1.0.0
    registry:
      url: https://registry.example.com

- name: Read what the fleet runs
  mimoe.edge.mcm_info:
    mims: false
  register: fleet_images
  delegate_to: localhost

- name: Delete hello 0.9.0 unless a node still runs it
  mimoe.edge.catalog_item:
    name: hello
    version: 0.9.0
    state: absent
    # current nodes report the digest as `digest`, legacy nodes as the `sha256:` id: pass both
    in_use: >-
      {{ (__images | map(attribute='digest', default='') | list) + (__images | map(attribute='id') | list) }}
    registry:
      url: https://registry.example.com
  vars:
    __images: "{{ ansible_play_hosts | map('extract', hostvars, ['fleet_images', 'images']) | flatten }}"
  run_once: true
  delegate_to: localhost
'''

RETURN = r'''
item:
  description: The version as published (after the task; in check mode, as it would be).
  returned: when the version exists before or after the task
  type: dict
  contains:
    version:
      description: The version (tag).
      type: str
      returned: success
    digest:
      description: Digest of the version's index.
      type: str
      returned: success
    description:
      description: Description.
      type: str
      returned: success
    created:
      description: When this content of the version was first published (RFC 3339).
      type: str
      returned: success
    mim:
      description: Catalog item name recorded in the index.
      type: str
      returned: success
    architectures:
      description: Per architecture, C(manifest_digest), C(image_digest) (the archive's digest, what a node
        reports), C(size), C(image_name), C(repo_tag) and C(url) (the blob URL).
      type: dict
      returned: success
  sample:
    version: 1.0.0
    digest: sha256:1f0e...
    description: Hello mim
    created: '2026-11-23T12:00:00Z'
    mim: hello
    architectures:
      amd64:
        manifest_digest: sha256:77aa...
        image_digest: sha256:9f86...
        size: 10240
        image_name: hello-v1
        repo_tag: hello-v1:1.0.0
        url: https://registry.example.com/v2/acme/mims/hello/blobs/sha256:9f86...
repository:
  description: Repository of the item in the registry.
  returned: always
  type: str
  sample: acme/mims/hello
blobs_pushed:
  description: Blobs uploaded (0 on a re-run). Blobs the registry had already are counted in C(blobs_skipped).
  returned: with O(state=present)
  type: int
  sample: 2
blobs_skipped:
  description: Blobs not uploaded because the registry had them.
  returned: with O(state=present)
  type: int
  sample: 0
blobs_mounted:
  description: Blobs of referenced images linked from another repository of the registry (no bytes sent).
  returned: with O(state=present)
  type: int
  sample: 0
manifests_pushed:
  description: Manifests (artifacts and the index) pushed.
  returned: with O(state=present)
  type: int
  sample: 2
manifests_deleted:
  description: Manifests deleted.
  returned: with O(state=absent)
  type: int
  sample: 2
actions:
  description: What was done, or in check mode would be done.
  returned: always
  type: list
  elements: str
  sample: ["pushed blob sha256:9f86... (10240 bytes)", "pushed index acme/mims/hello:1.0.0 (sha256:1f0e...)"]
diff:
  description: Changed keys only. Returned in diff mode.
  returned: when diff mode is on
  type: dict
  sample:
    before: {state: absent}
    after: {state: present, architectures: {amd64: "sha256:9f86..."}}
'''

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.mimoe.edge.plugins.module_utils._catalog import (
    client_from_params,
    publish,
    registry_argument_spec,
    remove,
    sources_from_params,
)
from ansible_collections.mimoe.edge.plugins.module_utils._mcm_module import SafeAnsibleModule
from ansible_collections.mimoe.edge.plugins.module_utils._oci_client import (
    HAS_ORAS,
    HAS_REQUESTS,
    ORAS_IMPORT_ERROR,
    REQUESTS_IMPORT_ERROR,
    OCIError,
)


def main():
    argument_spec = dict(
        name=dict(type='str'),
        version=dict(type='str', required=True),
        description=dict(type='str'),
        images=dict(type='dict', options=dict(
            amd64=dict(type='str'),
            arm64=dict(type='str'),
            arm=dict(type='str'),
        )),
        image=dict(type='str'),
        definition=dict(type='dict'),
        src=dict(type='path'),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        in_use=dict(type='list', elements='str', default=[]),
        force=dict(type='bool', default=False),
    )
    argument_spec.update(registry_argument_spec())
    # SafeAnsibleModule: a registry.url with user:password is refused, and masked in invocation too.
    module = SafeAnsibleModule(
        argument_spec=argument_spec,
        supports_check_mode=True,
        mutually_exclusive=[('images', 'image', 'definition', 'src')],
        required_if=[('state', 'present', ('images', 'image', 'definition', 'src'), True),
                     ('state', 'absent', ('name', 'definition', 'src'), True)],
    )
    if not HAS_REQUESTS:
        module.fail_json(msg=missing_required_lib('requests'), exception=REQUESTS_IMPORT_ERROR)
    if not HAS_ORAS:
        module.fail_json(msg=missing_required_lib('oras'), exception=ORAS_IMPORT_ERROR)
    params = module.params
    registry = params['registry']
    result = dict(changed=False, actions=[])
    try:
        client = client_from_params(registry)
        name, description, sources = sources_from_params(params)
        if not name:
            module.fail_json(msg='name is required (or a definition with metadata.name)')
        if params['state'] == 'present':
            outcome = publish(client, registry['namespace'], name, params['version'], description, sources,
                              force=params['force'], check_mode=module.check_mode)
        else:
            outcome = remove(client, registry['namespace'], name, params['version'], params['in_use'],
                             force=params['force'], check_mode=module.check_mode)
    except OCIError as exc:
        module.fail_json(msg=str(exc), error=exc.to_dict(), **result)

    result = dict(changed=outcome['changed'], actions=outcome['actions'], repository=outcome['repository'])
    for key in ('blobs_pushed', 'blobs_skipped', 'blobs_mounted', 'manifests_pushed', 'manifests_deleted'):
        if key in outcome:
            result[key] = outcome[key]
    if outcome.get('item') is not None:
        result['item'] = outcome['item']
    if module._diff:
        result['diff'] = dict(before=outcome['before'], after=outcome['after'])
    module.exit_json(**result)


if __name__ == '__main__':
    main()
