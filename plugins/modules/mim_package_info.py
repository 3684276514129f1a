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
author:
  - mimoe.edge contributors (@mimoe-edge)
extends_documentation_fragment:
  - mimoe.edge._attributes
  - mimoe.edge._attributes.INFO_MODULE
options:
  path:
    description:
      - The image archive (C(.tar)).
    type: path
    required: true
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

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.mimoe.edge.plugins.module_utils._mcm_client import MCMError, inspect_image_tar


def main():
    module = AnsibleModule(argument_spec=dict(path=dict(type='path', required=True)), supports_check_mode=True)
    path = os.path.abspath(module.params['path'])
    try:
        info = inspect_image_tar(path)
    except MCMError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=False, image=dict(
        path=path, name=info['name'], version=info['version'] or '', repo_tag=info['repo_tag'],
        repo_tags=info['repo_tags'], entry=info['entry'], digest=info['digest'], config_digest=info['config_digest'],
        size=info['size']))


if __name__ == '__main__':
    main()
