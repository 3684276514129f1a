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
  - O(state=absent) deletes a version (O(version)) or a manifest by digest (O(digest)). It refuses to delete what
    O(in_use) lists, or what the fleet runs according to results of M(mimoe.edge.mcm_info) (O(in_use_from)), unless
    O(force=true).
  - Also reads an iofogctl C(CatalogItem) document (O(definition) or O(src)) with C(spec.x86) and C(spec.arm), or an
    ioFog Controller catalog item with C(images) (C(containerImage), C(fogTypeId)); without O(version), the version
    is the one of its images.
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
      - Required unless O(reference), O(definition) or O(src) names the item.
    type: str
  version:
    description:
      - Version, the tag of the index in the repository (for example V(1.0.0)).
      - Required with O(images) or O(image) and with O(state=absent) (unless O(digest) is given).
      - 'With O(definition) or O(src) it may be omitted: the version is then the version of the images, the tag of
        the C(RepoTag) each mim archive carries (C(hello-v1:1.0.0) gives V(1.0.0)). Images of different versions,
        or tagged C(latest) or not at all, are refused with the fix (set O(version)).'
    type: str
  reference:
    description:
      - V(<name>@<version>), the same as O(name) and O(version) (the catalog reference, as
        M(mimoe.edge.catalog_info) takes it).
    type: str
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
      - Also accepted, from the ioFog Controller's catalog (seed 003), C(images) as a list of C(containerImage) and
        C(fogTypeId) (V(1) is x86, published as V(amd64); V(2) is ARM, published as V(arm)), in C(spec) or at the top
        of an item with C(name) and no C(apiVersion).
      - 'A docker image reference (C([host/]path:tag), for example C(registry.example.com/acme/mims/hello:1.0.0)) is
        accepted when this registry (the host may be omitted) holds, at that path (or below O(registry.namespace))
        and tag, a mim archive artifact or a catalog version (its image for the architecture is taken). Anything
        else is refused: mimOE nodes run mim archives, not docker images; publish the archive (a C(.tar)) first.'
    type: dict
  src:
    description:
      - Path of a YAML file holding one iofogctl C(CatalogItem) document, read like O(definition).
    type: path
  annotations:
    description:
      - Annotations of the version (string keys and values), stored in its index next to the description; listed
        by M(mimoe.edge.catalog_info) and selected with its O(mimoe.edge.catalog_info#module:filters.annotation).
      - Not given, a re-publish keeps the annotations the version has; V({}) removes them. Changing them re-pushes
        only the index.
      - The keys the collection writes (C(org.opencontainers.image.description), C(.version), C(.created),
        C(io.mimoe.edge.mim.name)) are refused.
    type: dict
  state:
    description:
      - V(present) publishes the version; V(absent) deletes it (its index, and its artifacts that no other version
        of the item uses).
    type: str
    choices: [present, absent]
    default: present
  digest:
    description:
      - With O(state=absent), delete the manifest with this digest instead of a version (the registry's own
        C(DELETE /v2/<name>/manifests/<digest>)), for example the C(digest) of a version or the C(manifest_digest)
        of an architecture as M(mimoe.edge.catalog_info) returns them.
      - A version's index is deleted with every version (tag) on it and the artifacts no other version uses. An
        architecture's artifact that versions still list is refused unless O(force=true) (those versions then miss
        that image, a warning says which). A digest the repository does not hold changes nothing.
    type: str
  in_use:
    description:
      - With O(state=absent), what the fleet runs, as versions (V(1.0.0) or V(hello@1.0.0)) or digests (the image
        digests nodes report, as M(mimoe.edge.mcm_info) returns them, or manifest digests). A version that any of
        them names is not deleted unless O(force=true).
    type: list
    elements: str
    default: []
  in_use_from:
    description:
      - With O(state=absent), registered results of M(mimoe.edge.mcm_info) that say what the fleet runs now, as a
        list of results, a registered loop (its C(results)), or a mapping of node name to result.
      - An image counts as in use when a mim of that node uses it (every image of a result read with
        C(mims=false)). A refusal names the node, the mim and the image; a failed result refuses (what that node runs
        is unknown), a skipped one is left out.
      - 'A node is named after its mapping key, else its loop item (a registered loop), else its position
        (C(in_use_from[0])): a mapping, C(dict(hosts | zip(results))), names the nodes best.'
    type: raw
  force:
    description:
      - With O(state=absent), delete even when O(in_use) or O(in_use_from) says the version is in use, or when
        versions list the manifest O(digest).
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

- name: Import an ioFog Controller catalog item; the version is the one of its images
  mimoe.edge.catalog_item:
    definition:
      name: hello
      description: Hello mim
      images:
        - containerImage: build/hello-v1-1.0.0-amd64.tar
          fogTypeId: 1
        - containerImage: registry.example.com/acme/mims/hello:1.0.0   # an archive already in this registry
          fogTypeId: 2
    registry:
      url: https://registry.example.com
      namespace: acme/mims

- name: Annotate a version (catalog_info filters on annotations)
  mimoe.edge.catalog_item:
    reference: hello@1.0.0
    image: examples/hello-mim/deploy/hello-v1-1.0.0.tar
    annotations:
      channel: stable
    registry:
      url: https://registry.example.com

- name: Read what each node runs
  mimoe.edge.mcm_info:
  register: node_info

- name: Delete hello 0.9.0 unless a node runs it now
  mimoe.edge.catalog_item:
    reference: hello@0.9.0
    state: absent
    in_use_from: "{{ dict(ansible_play_hosts | zip(ansible_play_hosts | map('extract', hostvars, 'node_info'))) }}"
    registry:
      url: https://registry.example.com
  run_once: true
  delegate_to: localhost

- name: Delete a manifest by its digest (as catalog_info lists it)
  mimoe.edge.catalog_item:
    name: hello
    digest: sha256:1f0e3dad99908345f7439f8ffabdffc4080e2b8e1d0e4c0f4b5e0e0e2b8e1d0e
    state: absent
    registry:
      url: https://registry.example.com
  run_once: true
  delegate_to: localhost

- name: Read what the fleet has
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
    annotations:
      description: Every annotation of the version's index, the user's (O(annotations)) and the collection's.
      type: dict
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
    annotations:
      channel: stable
      io.mimoe.edge.mim.name: hello
      org.opencontainers.image.version: 1.0.0
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
  description: Blobs uploaded (0 on a re-run; in check mode, that would be uploaded). Blobs the registry had already are counted in C(blobs_skipped).
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
  description: Manifests deleted (in check mode, that would be deleted).
  returned: with O(state=absent)
  type: int
  sample: 2
versions_deleted:
  description: With O(digest), the versions (tags) whose index was that manifest.
  returned: with O(state=absent) and O(digest)
  type: list
  elements: str
  sample: ["1.0.0"]
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

from ansible_collections.mimoe.edge.plugins.module_utils._catalog import (
    CatalogManager,
    client_from_params,
    registry_argument_spec,
    require_libraries,
)
from ansible_collections.mimoe.edge.plugins.module_utils._errors import MimoeError
from ansible_collections.mimoe.edge.plugins.module_utils._mcm_module import SafeAnsibleModule, fail_module_from
from ansible_collections.mimoe.edge.plugins.module_utils._recorder import Recorder

RESULT_KEYS = ('repository', 'item', 'blobs_pushed', 'blobs_skipped', 'blobs_mounted', 'manifests_pushed',
               'manifests_deleted', 'versions_deleted')


def main():
    argument_spec = dict(
        name=dict(type='str'),
        version=dict(type='str'),
        reference=dict(type='str'),
        description=dict(type='str'),
        images=dict(type='dict', options=dict(
            amd64=dict(type='str'),
            arm64=dict(type='str'),
            arm=dict(type='str'),
        )),
        image=dict(type='str'),
        definition=dict(type='dict'),
        src=dict(type='path'),
        annotations=dict(type='dict'),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        digest=dict(type='str'),
        in_use=dict(type='list', elements='str', default=[]),
        in_use_from=dict(type='raw'),
        force=dict(type='bool', default=False),
    )
    argument_spec.update(registry_argument_spec())
    # SafeAnsibleModule: a registry.url with user:password is refused, and masked in invocation too.
    module = SafeAnsibleModule(
        argument_spec=argument_spec,
        supports_check_mode=True,
        mutually_exclusive=[('images', 'image', 'definition', 'src'), ('version', 'digest', 'reference'),
                            ('name', 'reference')],
        required_if=[('state', 'present', ('images', 'image', 'definition', 'src'), True),
                     ('state', 'absent', ('name', 'reference', 'definition', 'src'), True),
                     ('state', 'absent', ('version', 'digest', 'reference'), True)],
    )
    require_libraries(module)
    registry = module.params['registry']
    recorder = Recorder(module.check_mode)
    try:
        outcome = CatalogManager(client_from_params(registry), registry['namespace'], recorder).run(module.params)
    except MimoeError as exc:
        fail_module_from(module, exc, recorder, changed=recorder.changed)
    result = dict((key, outcome[key]) for key in RESULT_KEYS if outcome.get(key) is not None)
    if module._diff:
        result['diff'] = dict(before=outcome['before'], after=outcome['after'])
    for text in recorder.warnings:
        module.warn(text)
    module.exit_json(changed=recorder.changed, actions=recorder.actions, **result)


if __name__ == '__main__':
    main()
