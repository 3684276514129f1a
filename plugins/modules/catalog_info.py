#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: catalog_info
short_description: Browse the mim catalog and resolve a version for an architecture
version_added: 0.2.0
description:
  - Lists the catalog items of an OCI registry (published with M(mimoe.edge.catalog_item)), their versions,
    architectures, image digests, sizes and descriptions.
  - With one version (O(reference), or O(name) and O(version)), resolves its image for each architecture to a
    downloadable blob (digest, size, URL, image name), reading the artifact manifests rather than trusting the
    index annotations.
  - With O(download=true), makes sure each resolved image is in the controller's image cache O(cache_dir) as
    C(<sha256 hex>.tar) (each digest downloaded once, its SHA-256 verified, written atomically). This writes to
    the local cache only, never to the registry.
  - With O(filters), lists only the versions whose annotations, architectures and description match (every filter
    given must match), and only the items with such a version; combinable with O(name) and O(version).
author:
  - mimoe.edge contributors (@mimoe-edge)
extends_documentation_fragment:
  - mimoe.edge.registry
  - mimoe.edge._attributes
  - mimoe.edge.registry.ACTIONGROUP_CATALOG
  - mimoe.edge._attributes.INFO_MODULE
options:
  name:
    description:
      - Only this catalog item. Without it, every repository of the registry (below O(registry.namespace)) is
        listed through C(GET /v2/_catalog), which some registries restrict.
    type: str
  version:
    description:
      - Only this version of O(name); its images are resolved.
    type: str
  reference:
    description:
      - V(<name>@<version>), the same as O(name) and O(version).
    type: str
  arch:
    description:
      - Resolve only these architectures; the task fails when the version has no image for one of them.
        Default is every architecture of the version.
    type: list
    elements: str
    choices: [amd64, arm64, arm]
  filters:
    description:
      - Select versions, like C(docker_host_info)'s C(*_filters) or C(k8s_info)'s selectors. A version is listed
        when it matches every filter given; an item is listed when one of its versions is.
      - With a version (O(reference), or O(name) and O(version)) that does not match, C(items) is empty and
        C(resolved) is V({}).
    type: dict
    suboptions:
      annotation:
        description:
          - Annotations of the version's index, each V(<key>) (present, any value) or V(<key>=<value>) (exactly
            that value); all must match. A version's own annotations are set with
            O(mimoe.edge.catalog_item#module:annotations); the collection's are listed in C(annotations) of each
            version (for example V(io.mimoe.edge.mim.name=hello)).
        type: list
        elements: str
      architecture:
        description:
          - Only versions with an image for each of these architectures (for example every architecture of a
            mixed fleet).
        type: list
        elements: str
        choices: [amd64, arm64, arm]
      description:
        description:
          - Only versions whose description contains this text (case-insensitive).
        type: str
      description_regex:
        description:
          - Only versions whose description matches this Python regular expression (searched anywhere; use
            V((?i)) for case-insensitive).
        type: str
  download:
    description:
      - Download each resolved image into O(cache_dir) unless it is there with the right digest. Not done in check
        mode.
    type: bool
    default: false
  cache_dir:
    description:
      - Image cache directory on the host that runs the task (the cache of the mimoe.edge.mim_rollout role).
    type: path
    default: ~/.cache/mimoe.edge/images
seealso:
  - module: mimoe.edge.catalog_item
  - module: mimoe.edge.mcm_image
'''

EXAMPLES = r'''
- name: Browse the catalog
  mimoe.edge.catalog_info:
    registry:
      url: https://registry.example.com
      namespace: acme/mims
  register: catalog

- name: Show item, versions and architectures
  ansible.builtin.debug:
    msg: "{{ item.name }}: {{ item.versions | map(attribute='version') | join(', ') }}"
  loop: "{{ catalog.items }}"

- name: Resolve hello 1.0.0 for ARM64 nodes and download it into the controller's cache
  mimoe.edge.catalog_info:
    reference: hello@1.0.0
    arch: [arm64]
    download: true
    registry:
      url: https://registry.example.com
  register: hello

- name: The versions of hello for ARM64 and ARM nodes marked stable
  mimoe.edge.catalog_info:
    name: hello
    filters:
      architecture: [arm64, arm]
      annotation: [channel=stable]
    registry:
      url: https://registry.example.com
  register: stable

- name: Items whose description mentions a counter, any namespace below acme
  mimoe.edge.catalog_info:
    filters:
      description_regex: '(?i)count(s|er)'
    registry:
      url: https://registry.example.com
      namespace: acme

- name: Upload it to a node
  mimoe.edge.mcm_image:
    src: "{{ hello.resolved.arm64.path }}"
'''

RETURN = r'''
items:
  description: Catalog items, each with its versions (only those that are catalog versions).
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Item name.
      type: str
      returned: success
    repository:
      description: Repository in the registry.
      type: str
      returned: success
    description:
      description: Description of the latest listed version that has one.
      type: str
      returned: success
    versions:
      description: Versions, each with C(version), C(digest) (of the index), C(description), C(created), C(mim),
        C(annotations) (every annotation of the index) and C(architectures) (per architecture C(manifest_digest), C(image_digest), C(size), C(image_name),
        C(repo_tag), C(url)).
      type: list
      elements: dict
      returned: success
  sample:
    - name: hello
      repository: acme/mims/hello
      description: Hello mim
      versions:
        - version: 1.0.0
          digest: sha256:1f0e...
          description: Hello mim
          created: '2026-11-23T12:00:00Z'
          mim: hello
          annotations: {channel: stable, io.mimoe.edge.mim.name: hello, org.opencontainers.image.version: 1.0.0}
          architectures:
            amd64: {manifest_digest: "sha256:77aa...", image_digest: "sha256:9f86...", size: 10240,
                    image_name: hello-v1, repo_tag: "hello-v1:1.0.0",
                    url: "https://registry.example.com/v2/acme/mims/hello/blobs/sha256:9f86..."}
resolved:
  description: Per architecture, the downloadable image of the one version asked for (V({}) when O(filters)
    exclude it).
  returned: when a version is given
  type: dict
  sample:
    amd64:
      name: hello
      version: 1.0.0
      arch: amd64
      repository: acme/mims/hello
      index_digest: sha256:1f0e...
      manifest_digest: sha256:77aa...
      image_digest: sha256:9f86...
      hex: 9f86...
      size: 10240
      image_name: hello-v1
      repo_tag: hello-v1:1.0.0
      image_version: 1.0.0
      url: https://registry.example.com/v2/acme/mims/hello/blobs/sha256:9f86...
      path: /home/user/.cache/mimoe.edge/images/9f86....tar
      downloaded: true
downloaded:
  description: Image digests downloaded into O(cache_dir) by this task.
  returned: always
  type: list
  elements: str
  sample: ["sha256:9f86..."]
'''

from ansible_collections.mimoe.edge.plugins.module_utils._catalog import (
    ARCHITECTURES,
    browse,
    client_from_params,
    registry_argument_spec,
    require_libraries,
)
from ansible_collections.mimoe.edge.plugins.module_utils._errors import MimoeError
from ansible_collections.mimoe.edge.plugins.module_utils._mcm_module import SafeAnsibleModule, fail_module_from


def main():
    argument_spec = dict(
        name=dict(type='str'),
        version=dict(type='str'),
        reference=dict(type='str'),
        arch=dict(type='list', elements='str', choices=list(ARCHITECTURES)),
        filters=dict(type='dict', options=dict(
            annotation=dict(type='list', elements='str'),
            architecture=dict(type='list', elements='str', choices=list(ARCHITECTURES)),
            description=dict(type='str'),
            description_regex=dict(type='str'),
        )),
        download=dict(type='bool', default=False),
        cache_dir=dict(type='path', default='~/.cache/mimoe.edge/images'),
    )
    argument_spec.update(registry_argument_spec())
    # SafeAnsibleModule: a registry.url with user:password is refused, and masked in invocation too.
    module = SafeAnsibleModule(
        argument_spec=argument_spec,
        supports_check_mode=True,
        mutually_exclusive=[('reference', 'name'), ('reference', 'version')],
        required_by={'version': 'name'},
    )
    require_libraries(module)
    registry = module.params['registry']
    try:
        result = browse(client_from_params(registry), registry['namespace'], module.params, module.check_mode)
    except MimoeError as exc:
        fail_module_from(module, exc, changed=False, items=[], downloaded=[])
    module.exit_json(changed=False, **result)


if __name__ == '__main__':
    main()
