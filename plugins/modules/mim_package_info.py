#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: mim_package_info
short_description: Validate a mim image archive and describe it
version_added: 0.1.0
description:
  - Reads a mim image archive on the host that runs the task (normally the controller) and checks that a mimOE
    node can take it, before anything is sent to a node. The check is the one M(mimoe.edge.mcm_image) does before
    an upload.
  - 'An archive is valid when it is a complete tar in the docker-save layout of mimik''s packager: a
    C(manifest.json) whose first entry has C(RepoTags) and C(Layers), every listed layer present and itself a
    readable tar, and one layer holding the entry file (the C(mimik.entry) label of the image config,
    C(index.js) by default). A truncated or corrupt archive, a plain tar of C(index.js), or any other layout
    fails the task with a message naming the problem.'
  - Never changes anything. M(mimoe.edge.mim_package) writes such archives.
  - With O(digest) instead of O(path), the archive is a release that M(mimoe.edge.mim_release) kept in O(registry)
    (by digest, before it rolled it out). It is downloaded into O(cache_dir) (SHA-256 verified) unless already
    there, then validated and described. Without O(registry), it must be in O(cache_dir). This is how a rollback
    from a fresh controller finds a previous release.
author:
  - mimoe.edge contributors (@mimoe-edge)
extends_documentation_fragment:
  - mimoe.edge._attributes
  - mimoe.edge._attributes.INFO_MODULE
  - mimoe.edge.registry
options:
  path:
    description:
      - The image archive (C(.tar)).
      - One of O(path) and O(digest) is required.
    type: path
  digest:
    description:
      - C(sha256:<hex>) (or C(<hex>)) of a release kept in O(registry) by M(mimoe.edge.mim_release).
    type: str
  cache_dir:
    description:
      - Where O(digest) is looked for (C(<hex>.tar)) and downloaded to.
    type: path
    default: ~/.cache/mimoe.edge/images
'''

EXAMPLES = r'''
- name: Refuse a bad archive before the rollout touches any node
  mimoe.edge.mim_package_info:
    path: examples/hello-mim/deploy/hello-v1-1.0.0.tar
  register: archive
  delegate_to: localhost
  run_once: true

- name: Show what will be rolled out
  ansible.builtin.debug:
    msg: "{{ archive.image.repo_tag }} {{ archive.image.digest }}"
'''

RETURN = r'''
image:
  description: The archive's image.
  returned: success
  type: dict
  contains:
    path:
      description: Absolute path of the archive.
      type: str
      sample: /home/me/hello-mim/deploy/hello-v1-1.0.0.tar
    name:
      description: The image name a node gives it (repository part of the first RepoTag).
      type: str
      sample: hello-v1
    version:
      description: Tag part of the first RepoTag.
      type: str
      sample: 1.0.0
    repo_tag:
      description: The first RepoTag (not counting C(runtime:*) tags).
      type: str
      sample: hello-v1:1.0.0
    repo_tags:
      description: Every RepoTag of the manifest.
      type: list
      elements: str
      sample: [hello-v1:1.0.0]
    entry:
      description: The entry file found in a layer.
      type: str
      sample: index.js
    digest:
      description: C(sha256:) of the archive bytes (what a node reports after the upload).
      type: str
      sample: sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
    config_digest:
      description:
        - 'C(sha256:) of the image config JSON that C(manifest.json) names in C(Config): the Docker image id, what
          legacy nodes report as the image C(id) (in full, or short as its first 12 hex digits).'
        - Null when the manifest names no config.
      type: str
      sample: sha256:4dcab49015d4e3b0f2b7f0e4a1c7a1c8b2f3d4e5f60718293a4b5c6d7e8f9012
    size:
      description: Size of the archive in bytes.
      type: int
      sample: 10240
'''

import os
import re

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.mimoe.edge.plugins.module_utils._catalog import (
    client_from_params,
    fetch_release,
    registry_argument_spec,
)
from ansible_collections.mimoe.edge.plugins.module_utils._digest import digest_hex
from ansible_collections.mimoe.edge.plugins.module_utils._image_archive import ImageArchiveError, inspect_image_tar
from ansible_collections.mimoe.edge.plugins.module_utils._oci_client import HAS_ORAS, OCIError


def main():
    argument_spec = dict(path=dict(type='path'), digest=dict(type='str'),
                         cache_dir=dict(type='path', default='~/.cache/mimoe.edge/images'))
    argument_spec.update(registry_argument_spec(apply_defaults=False))
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True,
                           mutually_exclusive=[('path', 'digest')], required_one_of=[('path', 'digest')])
    if not module.params['digest'] and not module.params['path']:
        module.fail_json(msg='give path (an image archive) or digest (a release kept in the registry)')
    try:
        if module.params['digest']:
            path = kept_release(module.params)
        else:
            path = os.path.abspath(module.params['path'])
        info = inspect_image_tar(path)
    except (ImageArchiveError, OCIError) as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=False, image=dict(
        path=path, name=info['name'], version=info['version'] or '', repo_tag=info['repo_tag'],
        repo_tags=info['repo_tags'], entry=info['entry'], digest=info['digest'], config_digest=info['config_digest'],
        size=info['size']))


def kept_release(params):
    """The local path of the kept release ``digest`` (downloaded from the registry when not cached)."""
    hexdigest = digest_hex(params['digest'])
    if not hexdigest or not re.match(r'^[0-9a-f]{64}$', hexdigest):
        raise OCIError('digest must be sha256:<64 hex digits>, got %s' % params['digest'])
    registry = params['registry']
    cached = os.path.join(params['cache_dir'], '%s.tar' % hexdigest)
    if not registry:
        if os.path.isfile(cached):
            return cached
        raise OCIError('The release %s is not in the cache %s and no registry is set to fetch it from'
                       % (params['digest'], params['cache_dir']),
                       hint='set registry (where mimoe.edge.mim_release keeps every release it rolls out)')
    if not HAS_ORAS:
        raise OCIError(missing_required_lib('oras'))
    path, _downloaded = fetch_release(client_from_params(registry), registry.get('namespace') or '',
                                      'sha256:' + hexdigest, params['cache_dir'])
    return path


if __name__ == '__main__':
    main()
