#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: mim_package
short_description: Package a built mim bundle into a reproducible mim image archive
version_added: 0.1.0
description:
  - Writes the image archive a mimOE node's MCM API takes (C(POST /mcm/v1/images)) from a built JavaScript bundle
    (C(build/index.js)), in the docker-save layout of mimik's packager C(@mimik/edge-ms-packager) 1.1.5
    (C(manifest.json), C(repositories), C(<sha256>.json) image config, C(<layer id>/VERSION),
    C(<layer id>/json) and C(<layer id>/layer.tar) holding exactly C(index.js)).
  - 'Unlike that packager, the archive is reproducible: the same bundle, name, version and O(mtime) always give the
    same bytes, so the returned RV(digest) identifies the image. Members are sorted and have fixed owners (0:0),
    modes (0755 directories, 0644 files) and modification times (O(mtime)); the layer id is the SHA-256 of
    C(layer.tar); the config file is named after the SHA-256 of its JSON (sorted keys, fixed C(created) time).'
  - The image config also carries the labels C(mimik.runtime=javascript), C(mimik.version=<version>),
    C(mimik.entry=index.js) and C(mimik.type=sandbox) in C(config.Labels), as newer mimik packagers write them;
    C(repositories) maps both the version and C(latest) to the layer. The other config fields are those of the
    official packager's template.
  - The archive is built in memory and compared with the file at O(dest). It is written (to a temporary file in
    the same directory, then renamed over O(dest)) only when the bytes differ, so C(changed) is true only when the
    content of O(dest) changed (or, with the file options, its attributes).
  - This module does not run npm. Build the project first (C(npm ci) and C(npm run build)), or use the
    C(mimoe.edge.mim_build) role, which does both and skips the work when the sources did not change.
author:
  - mimoe.edge contributors (@mimoe-edge)
extends_documentation_fragment:
  - ansible.builtin.files
  - mimoe.edge._attributes
  - mimoe.edge._attributes.CHECK_MODE_FULL
  - mimoe.edge._attributes.DIFF_MODE_FULL
  - mimoe.edge._attributes.IDEMPOTENT_FULL
options:
  project_dir:
    description:
      - The Node.js project of the mim (the directory holding C(package.json)).
      - Name, version, bundle and output folder default to what mimik's packager takes from this project; see
        O(name), O(version), O(bundle) and O(dest).
      - At least one of O(project_dir) and O(bundle) is required.
    type: path
  bundle:
    description:
      - The built bundle, a C(.js) file. It is stored as C(index.js) in the image layer.
      - Relative paths are relative to O(project_dir) when that is given.
      - Default is C(package.imageIndexFilePath) from the project's C(config/default.yml), else C(build/index.js).
    type: path
  name:
    description:
      - The image name (the repository part of the image's RepoTag, and the name the node gives the image).
      - 'Default, as mimik''s packager: C(<imageName>-v<apiVersion>) from the C(package) section of the
        project''s C(config/default.yml) (C(apiVersion) defaults to 1); without an C(imageName) there, the
        C(name) in C(package.json) without its C(@scope/) and with C(-v1) appended.'
      - Required when O(project_dir) is not given.
    type: str
  version:
    description:
      - The image version (the tag part of the RepoTag, also the C(mimik.version) label).
      - Default is C(version) in the project's C(package.json). Required when O(project_dir) is not given.
    type: str
  dest:
    description:
      - Where to write the archive. An existing directory, or a path ending with C(/), receives
        C(<name>-<version>.tar); any other path is the archive's file name. Missing parent directories are created.
      - Relative paths are relative to O(project_dir) when that is given.
      - Default is C(<outputFolder>/<name>-<version>.tar) with C(outputFolder) from the project's
        C(config/default.yml) (default C(deploy)) inside O(project_dir); without O(project_dir), the bundle's
        directory.
    type: path
  mtime:
    description:
      - Modification time of every member, and the C(created) time of the image config, in seconds since the
        epoch. Set it to C(SOURCE_DATE_EPOCH) to stamp a release time; keep it fixed to keep the archive
        reproducible.
    type: int
    default: 0
attributes:
  platform:
    description: Runs on the host that holds the project, usually the controller (C(delegate_to=localhost)).
    support: full
    platforms: posix
notes:
  - The archive lists the entry file as C(index.js) and the runtime as C(javascript); WASM mims are not packaged
    by this module.
  - Only C(config/default.yml) is read, not the environment-specific files of the C(config) npm package.
    Reading it needs PyYAML on the host that runs the task (it comes with ansible-core on the controller).
seealso:
  - module: mimoe.edge.mcm_image
  - name: mimik edge-ms-packager on npm
    description: The official packager whose archive layout this module reproduces.
    link: https://www.npmjs.com/package/@mimik/edge-ms-packager
'''

EXAMPLES = r'''
- name: Package the built example mim into deploy/hello-v1-1.0.0.tar
  mimoe.edge.mim_package:
    project_dir: examples/hello-mim
  delegate_to: localhost
  run_once: true
  register: mim_image

- name: Upload it to every node (nothing is sent where the node has the same digest)
  mimoe.edge.mcm_image:
    src: "{{ mim_image.path }}"
  delegate_to: localhost

- name: Package a bundle built elsewhere, stamped with the release time
  mimoe.edge.mim_package:
    bundle: /srv/builds/hello/index.js
    name: hello-v1
    version: 1.2.0
    dest: /srv/images/
    mtime: "{{ lookup('ansible.builtin.env', 'SOURCE_DATE_EPOCH') | default(0, true) | int }}"
'''

RETURN = r'''
path:
  description: Absolute path of the archive.
  returned: success
  type: str
  sample: /home/dev/hello-mim/deploy/hello-v1-1.0.0.tar
name:
  description: The image name.
  returned: success
  type: str
  sample: hello-v1
version:
  description: The image version (tag).
  returned: success
  type: str
  sample: 1.0.0
repo_tag:
  description: The image's RepoTag, C(<name>:<version>).
  returned: success
  type: str
  sample: hello-v1:1.0.0
digest:
  description:
    - SHA-256 digest of the archive, the value the node reports as the image digest after an upload.
    - In check mode, the digest the archive would have.
  returned: success
  type: str
  sample: sha256:3c5d4e1a0f8b9b8a0e8a7cfa2b0b4bd1c5e9b6f0d0a4f6e0b2f8c3a7d9e1f2a4
size:
  description: Size of the archive in bytes.
  returned: success
  type: int
  sample: 20480
layer_id:
  description: The layer id, the SHA-256 of C(layer.tar).
  returned: success
  type: str
  sample: 9a3e5fb1c1b7f9e0a9e1b0bd8c4f8b5b2e4f6a7c8d9e0f1a2b3c4d5e6f7a8b9c
bundle:
  description: Absolute path of the bundle that was packaged.
  returned: success
  type: str
  sample: /home/dev/hello-mim/build/index.js
diff:
  description: The digest of the file at RV(path) before and after. Returned in diff mode.
  returned: when diff mode is on
  type: dict
  sample:
    before: {digest: "sha256:0a1b2c..."}
    after: {digest: "sha256:3c5d4e..."}
'''

import os
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.mimoe.edge.plugins.module_utils._mim_package import MimPackageError, package

FILE_ATTRIBUTE_OPTIONS = ('mode', 'owner', 'group', 'seuser', 'serole', 'setype', 'selevel', 'attributes')


def write_atomically(module, dest, data):
    """Write data to a temporary file beside dest, then rename it over dest."""
    directory = os.path.dirname(dest)
    if not os.path.isdir(directory):
        try:
            os.makedirs(directory)
        except OSError as exc:
            module.fail_json(msg='cannot create the directory %s: %s' % (directory, to_native(exc)))
    fd, tmp = tempfile.mkstemp(prefix='.%s.' % os.path.basename(dest), suffix='.tmp', dir=directory)
    try:
        with os.fdopen(fd, 'wb') as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except (IOError, OSError) as exc:
        os.unlink(tmp)
        module.fail_json(msg='cannot write %s: %s' % (tmp, to_native(exc)))
    # atomic_move renames within the directory and keeps the permissions of an existing dest (umask for a new one).
    module.atomic_move(tmp, dest)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            project_dir=dict(type='path'),
            bundle=dict(type='path'),
            name=dict(type='str'),
            version=dict(type='str'),
            dest=dict(type='path'),
            mtime=dict(type='int', default=0),
        ),
        required_one_of=[('project_dir', 'bundle')],
        add_file_common_args=True,
        supports_check_mode=True,
    )
    params = module.params
    try:
        image = package(project_dir=params['project_dir'], bundle=params['bundle'], name=params['name'],
                        version=params['version'], dest=params['dest'], mtime=params['mtime'])
    except MimPackageError as exc:
        module.fail_json(msg=to_native(exc))

    dest = image['dest']
    changed = image['current_digest'] != image['digest']
    if changed and not module.check_mode:
        write_atomically(module, dest, image['data'])

    result = dict(
        path=dest,
        name=image['name'],
        version=image['version'],
        repo_tag=image['repo_tag'],
        digest=image['digest'],
        size=image['size'],
        layer_id=image['layer_id'],
        bundle=image['bundle'],
    )
    if module._diff:
        result['diff'] = dict(before=dict(digest=image['current_digest']) if image['current_digest'] else {},
                              after=dict(digest=image['digest']))

    # owner, group, mode, SELinux context: applied to the archive when given (reported as changes of their own).
    if os.path.exists(dest) or not module.check_mode:
        file_args = module.load_file_common_arguments(params, path=dest)
        changed = module.set_fs_attributes_if_different(file_args, changed, diff=result.get('diff'))
    elif any(params[key] is not None for key in FILE_ATTRIBUTE_OPTIONS):
        changed = True
    module.exit_json(changed=changed, **result)


if __name__ == '__main__':
    main()
