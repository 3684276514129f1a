#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: mim_release_info
short_description: The release and revision history of a mim on a mimOE node
version_added: 0.3.0
description:
  - Reads the release a mim runs on a node and the revision history the node keeps for it, like C(helm history).
    M(mimoe.edge.mim_release) records every release it deploys in the mim's C(MIMOE_RELEASE) env marker, with the
    releases before it (the last 10), so any controller, an AWX job with an empty HOME included, can list them.
  - One read of the node (C(GET /mims)). Never changes anything.
  - Roll back to an entry with M(mimoe.edge.mim_release) O(mimoe.edge.mim_release#module:revision), or
    C(playbooks/rollback.yml) C(-e revision=N).
author:
  - mimoe.edge contributors (@mimoe-edge)
extends_documentation_fragment:
  - mimoe.edge.mcm
  - mimoe.edge._attributes
  - mimoe.edge._attributes.ACTIONGROUP_MCM
  - mimoe.edge._attributes.INFO_MODULE
options:
  name:
    description: Name of the mim.
    type: str
    required: true
notes:
  - Legacy API nodes do not return env, so their history cannot be read (RV(readable=false), with a warning).
seealso:
  - module: mimoe.edge.mim_release
'''

EXAMPLES = r'''
- name: What each node remembers of hello-v1
  mimoe.edge.mim_release_info:
    mcm_url: "{{ mcm_url }}"
    mcm_token: "{{ mcm_token }}"
    name: hello-v1
  register: hello_history

- name: One line per revision
  ansible.builtin.debug:
    msg: "{{ hello_history.history | map(attribute='revision') | zip(hello_history.history | map(attribute='version'))
             | map('join', ' ') }}"
'''

RETURN = r'''
exists:
  description: Whether the mim is on the node.
  returned: always
  type: bool
readable:
  description: Whether the node returned the mim's env (current API); the history is empty otherwise.
  returned: always
  type: bool
release:
  description: The release the mim runs (C(image), C(version), C(digest), C(revision)), or empty without a marker.
  returned: always
  type: dict
  sample: {image: hello-v1, version: 1.1.0, digest: "sha256:9a8b...", revision: 4}
history:
  description: The revisions, newest first; the first one is the current release (C(current=true)).
  returned: always
  type: list
  elements: dict
  sample: [{revision: 4, version: 1.1.0, digest: "sha256:9a8b...", current: true},
           {revision: 3, version: 1.0.0, digest: "sha256:0f1e...", current: false}]
'''

from ansible_collections.mimoe.edge.plugins.module_utils._markers import decode_release
from ansible_collections.mimoe.edge.plugins.module_utils._mcm_mim import env_as_dict
from ansible_collections.mimoe.edge.plugins.module_utils._mcm_module import MCMModule
from ansible_collections.mimoe.edge.plugins.module_utils._mcm_release import revisions


def main():
    mcm = MCMModule(dict(name=dict(type='str', required=True)), supports_check_mode=True)
    name = mcm.params['name']
    mim = mcm.run(lambda: mcm.client.find_mim(name))
    if mim is None:
        mcm.exit(changed=False, exists=False, readable=True, release={}, history=[])
    env = env_as_dict(mim.get('env'))
    if env is None:
        mcm.recorder.warn('the node (legacy API) does not return env: the revision history of %s cannot be read '
                          'there' % name)
        mcm.exit(changed=False, exists=True, readable=False, release={}, history=[])
    marker = decode_release(env) or {}
    release = dict((k, v) for k, v in marker.items() if k != 'history')
    mcm.exit(changed=False, exists=True, readable=True, release=release, history=revisions(marker))


if __name__ == '__main__':
    main()
