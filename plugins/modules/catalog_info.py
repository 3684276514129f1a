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
      description: Versions, each with C(version), C(digest) (of the index), C(description), C(created), C(mim)
        and C(architectures) (per architecture C(manifest_digest), C(image_digest), C(size), C(image_name),
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
          architectures:
            amd64: {manifest_digest: "sha256:77aa...", image_digest: "sha256:9f86...", size: 10240,
                    image_name: hello-v1, repo_tag: "hello-v1:1.0.0",
                    url: "https://registry.example.com/v2/acme/mims/hello/blobs/sha256:9f86..."}
resolved:
  description: Per architecture, the downloadable image of the one version asked for.
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

import os

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.mimoe.edge.plugins.module_utils._catalog import (
    client_from_params,
    fetch_to_cache,
    list_items,
    parse_reference,
    registry_argument_spec,
    resolve,
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
        version=dict(type='str'),
        reference=dict(type='str'),
        arch=dict(type='list', elements='str', choices=['amd64', 'arm64', 'arm']),
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
    if not HAS_REQUESTS:
        module.fail_json(msg=missing_required_lib('requests'), exception=REQUESTS_IMPORT_ERROR)
    if not HAS_ORAS:
        module.fail_json(msg=missing_required_lib('oras'), exception=ORAS_IMPORT_ERROR)
    params = module.params
    registry = params['registry']
    name, version = params['name'], params['version']
    if (params['arch'] or params['download']) and not (params['reference'] or version):
        module.fail_json(msg='arch and download need one version: give reference (name@version), or name and version')
    result = dict(changed=False, items=[], downloaded=[])
    try:
        if params['reference']:
            name, version = parse_reference(params['reference'])
        client = client_from_params(registry)
        result['items'] = list_items(client, registry['namespace'], name, version)
        if version:
            found = result['items'][0]['versions'] if result['items'] else []
            archs = params['arch'] or (sorted(found[0]['architectures']) if found else ['amd64'])
            resolved = {}
            cache_dir = params['cache_dir']
            for arch in archs:
                resolved[arch] = resolve(client, registry['namespace'], name, version, arch)
                if params['download'] and not module.check_mode:
                    path, downloaded = fetch_to_cache(client, resolved[arch], cache_dir)
                    resolved[arch].update(path=path, downloaded=downloaded)
                    if downloaded:
                        result['downloaded'].append(resolved[arch]['image_digest'])
                elif params['download']:
                    path = os.path.join(cache_dir, '%s.tar' % resolved[arch]['hex'])
                    resolved[arch].update(path=path, downloaded=False)
            result['resolved'] = resolved
    except OCIError as exc:
        module.fail_json(msg=str(exc), error=exc.to_dict(), **result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
