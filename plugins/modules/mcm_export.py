#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: mcm_export
short_description: Export what a mimOE node runs as a spec the modules apply back
version_added: 0.2.0
description:
  - Reads the images and mims of a mimik mimOE edge node through the MCM API and returns them as a spec that
    M(mimoe.edge.mcm_mim) and M(mimoe.edge.mcm_composition) accept back, like C(iofogctl describe -o yaml) then
    C(deploy). Export a node, apply the spec to another node (or the same one later), and export again gives the
    same spec.
  - RV(spec.mims) holds the mims that belong to no composition, each with the arguments of M(mimoe.edge.mcm_mim)
    (C(name), C(image), C(env), C(labels) when it has some, C(secret_env)); RV(spec.compositions) holds one entry per
    composition with the arguments of M(mimoe.edge.mcm_composition) (C(name), C(mims)). C(env) is in spec form, as
    C(spec_env) in RV(mimoe.edge.mcm_info#module:mims) (no C(/<clientId>) prefix, no node-filled flags, no reserved
    C(MIMOE_*) keys).
  - RV(spec.images) lists the images the node holds (C(name), C(repo_tag), C(version), C(digest), C(used_by)).
    Image content cannot be read back from a node; upload each image with M(mimoe.edge.mcm_image) (from your build
    or catalog) before applying the mims.
  - Optionally writes the spec as YAML to O(dest), only when its content changes.
author:
  - mimoe.edge contributors (@mimoe-edge)
extends_documentation_fragment:
  - mimoe.edge.mcm
  - mimoe.edge._attributes
  - mimoe.edge._attributes.ACTIONGROUP_MCM
  - mimoe.edge._attributes.CHECK_MODE_FULL
  - mimoe.edge._attributes.DIFF_MODE_FULL
attributes:
  idempotent:
    support: full
    details:
      - Never changes the node. With O(dest), the file is written only when the export differs from its content.
options:
  dest:
    description:
      - Write the spec as YAML to this file on the controller (a new file gets mode C(0600); an existing one keeps
        its mode). Not written when its content is already the same; in check mode never written.
      - The file starts with a comment saying how to apply it. Strings the node sent that contain a Jinja
        delimiter are written with the C(!unsafe) tag, so loading the file with M(ansible.builtin.include_vars)
        never evaluates them.
      - The directory must exist.
    type: path
notes:
  - 'Secrets: a node never returns the values of env keys deployed through C(secret_env). The export lists their
    names in C(secret_env) with a null value, and in RV(secret_env_keys). Supply the values before applying:
    edit the file (for example values from C(ansible-vault encrypt_string)), or combine them in the task
    (C(secret_env: "{{ item.secret_env | combine(my_secrets[item.name]) }}")). A null value is refused by
    M(mimoe.edge.mcm_mim) and M(mimoe.edge.mcm_composition): a missing secret is never deployed as a placeholder.'
  - Env values deployed as plain C(env) are exported as they are; keys another tool deployed without the
    C(MIMOE_SECRET_KEYS) marker cannot be told from plain env.
  - The legacy API generation does not return env. A legacy node that runs mims cannot be exported (the task
    fails and says so); keep the spec you deployed there in your own files.
  - The release marker of M(mimoe.edge.mim_release) is not part of the spec (it describes a release, not a spec).
    M(mimoe.edge.mcm_mim) compares the whole env, so applying the export to a node whose mim carries that marker
    redeploys the mim once, without it; roll such mims out again with C(playbooks/rollout.yml) instead.
  - C(playbooks/export.yml) exports every node of an inventory into one file.
seealso:
  - module: mimoe.edge.mcm_info
  - module: mimoe.edge.mcm_mim
  - module: mimoe.edge.mcm_composition
'''

EXAMPLES = r'''
- name: Export a node, then apply the export to a new node
  hosts: localhost
  gather_facts: false
  vars:
    # Values of the secret env keys, per mim (never in the export): from a vault file in real use.
    my_secrets:
      hello-v1: {API_KEY: "{{ vault_hello_api_key }}"}
  tasks:
    - name: Export what edge-1 runs
      mimoe.edge.mcm_export:
        mcm_url: http://edge-1.example.com:8083
        mcm_token: "{{ edge1_token }}"
        dest: exports/edge-1.yml
      register: export

    - name: Show the secret values to supply
      ansible.builtin.debug:
        var: export.secret_env_keys

    - name: Upload the images the export lists (from the build or the catalog)
      mimoe.edge.mcm_image:
        mcm_url: http://edge-2.example.com:8083
        mcm_token: "{{ edge2_token }}"
        src: "deploy/{{ item.repo_tag | replace(':', '-') }}.tar"
      loop: "{{ export.spec.images }}"

    - name: Deploy the mims that belong to no composition
      mimoe.edge.mcm_mim:
        mcm_url: http://edge-2.example.com:8083
        mcm_token: "{{ edge2_token }}"
        name: "{{ item.name }}"
        image: "{{ item.image }}"
        env: "{{ item.env }}"
        secret_env: "{{ item.secret_env | default({}) | combine(my_secrets[item.name] | default({})) }}"
      loop: "{{ export.spec.mims }}"

    - name: Deploy the compositions (their secret_env values filled in the file beforehand)
      mimoe.edge.mcm_composition:
        mcm_url: http://edge-2.example.com:8083
        mcm_token: "{{ edge2_token }}"
        name: "{{ item.name }}"
        mims: "{{ item.mims }}"
      loop: "{{ (lookup('ansible.builtin.file', 'exports/edge-1.yml') | ansible.builtin.from_yaml).compositions }}"
'''

RETURN = r'''
spec:
  description: What the node runs, in the argument shape of the modules.
  returned: success
  type: dict
  contains:
    export_format:
      description: Version of this structure (V(1)).
      type: int
    api_version:
      description: API generation of the node.
      type: str
    images:
      description: The images on the node (C(name), C(repo_tag), C(version), C(digest), C(used_by)), by name.
      type: list
      elements: dict
    mims:
      description:
        - The mims of no composition, as M(mimoe.edge.mcm_mim) arguments, by name. C(secret_env) (when the mim has
          secret keys) maps each key to null.
      type: list
      elements: dict
    compositions:
      description: One entry per composition (C(name), C(mims) as M(mimoe.edge.mcm_composition) arguments), by name.
      type: list
      elements: dict
  sample:
    export_format: 1
    api_version: current
    images:
      - {name: hello-v1, repo_tag: "hello-v1:1.0.0", version: 1.0.0, digest: "sha256:9f86d0...", used_by: [hello-v1]}
    mims:
      - name: hello-v1
        image: hello-v1
        env: {MCM.BASE_API_PATH: /hello/v1, GREETING: hello}
        labels: {tier: web}
        secret_env: {API_KEY: null}
    compositions: []
secret_env_keys:
  description: Mim name -> the secret env keys whose values must be supplied before applying.
  returned: success
  type: dict
  sample: {hello-v1: [API_KEY]}
dest:
  description: The absolute path of O(dest).
  returned: when O(dest) is set
  type: str
  sample: /home/user/exports/edge-1.yml
'''

from ansible_collections.mimoe.edge.plugins.module_utils._mcm_export import run_export
from ansible_collections.mimoe.edge.plugins.module_utils._mcm_module import MCMModule


def main():
    mcm = MCMModule(dict(dest=dict(type='path')), supports_check_mode=True)
    mcm.exit(**mcm.run(lambda: run_export(mcm)))


if __name__ == '__main__':
    main()
