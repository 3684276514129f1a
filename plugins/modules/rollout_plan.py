#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: rollout_plan
short_description: Read every node of a mim rollout at once and tell which already run the release
version_added: 0.4.0
description:
  - The plan of the mimoe.edge.mim_rollout role (its C(tasks_from=plan) entry point, in the first play of
    C(playbooks/rollout.yml)), once per run (C(run_once)), on the controller and without starting a Python process
    (an action plugin only).
  - For every host of O(hosts), takes that host's release options (the variable O(node_options), templated with the
    host's own variables as the release task would template it there, on top of the run-wide O(options)), validates
    them with the argument spec of M(mimoe.edge.mim_release), and reads the node in parallel with the module's own
    read and decision. No write.
  - Returns the hosts whose node already runs the release (RV(unchanged), with the result the release task would
    have returned) and the others (RV(pending)). Only the pending ones need the release task; the rollout play then
    makes its canary and batches of nodes that change, and a re-run where nothing changed costs one read per node.
  - A plan never says unchanged without a read of the node that found it so. A node that cannot be read, options that
    do not validate, a C(revision) target in O(options) (each node resolves its own) or C(force) make the host
    pending, and its release task decides again, with the run's timeout and retries.
  - Writes the report (the unchanged nodes, every other host not reached yet) to O(report_file), so that it exists
    even when no node needs the release.
author:
  - mimoe.edge contributors (@mimoe-edge)
extends_documentation_fragment:
  - mimoe.edge._attributes
attributes:
  check_mode:
    support: full
    details:
      - Reads only; the report is a record of the run, written in check mode too.
  diff_mode:
    support: none
  idempotent:
    support: full
    details:
      - Never reports a change.
options:
  hosts:
    description: The hosts of the rollout, in play order (C(ansible_play_hosts_all)).
    type: list
    elements: str
    required: true
  options:
    description:
      - The release options that are the same for every node (what the role renders once into the
        C(module_defaults) of M(mimoe.edge.mim_release)).
    type: dict
    default: {}
  node_options:
    description:
      - The name of the variable that holds, for each host, its own options of M(mimoe.edge.mim_release) (for example
        C(mcm_url), C(mcm_token), C(arch), C(env), C(secret_env)). It is templated with each host's variables at this
        task, as Ansible templates a task's arguments on that host; C(omit) leaves an option out.
    type: str
    required: true
  label:
    description: A label of the release, shown in the lines and the report.
    type: str
    default: ''
  report_file:
    description: Path of the JSON report on the controller; not written when unset.
    type: path
  workers:
    description: Nodes read at the same time (threads of each process).
    type: int
    default: 25
  processes:
    description:
      - Processes that template the hosts' options and read their nodes, each a part of the hosts (forked from the
        task's worker, as Ansible forks its workers).
      - Default one per CPU of the controller, at most one per 20 hosts.
    type: int
notes:
  - Sets the custom stat C(mim_rollout_summary) (release, counts, each node's status), as M(ansible.builtin.set_stats)
    would. AWX keeps it as an artifact of the job, which a following node of a workflow gets as an extra variable.
  - Run it with C(run_once=true) and C(delegate_to=localhost), and keep the result as C(mim_rollout_plan) on
    C(localhost) (C(set_fact) with C(delegate_facts=true)), as the role does. M(mimoe.edge.rollout_summary) then
    reports the unchanged nodes with the others.
  - The node's state can change between the plan and its batch; a pending node's release task reads it again, an
    unchanged node is not read again in this run.
seealso:
  - module: mimoe.edge.mim_release
  - module: mimoe.edge.rollout_summary
'''

EXAMPLES = r'''
# Two plays: plan without serial, then roll out to the pending nodes only (what playbooks/rollout.yml does).
- name: Plan the rollout
  hosts: edge_nodes
  gather_facts: false
  vars:
    release_node_options:
      mcm_url: "{{ mcm_url }}"
      mcm_token: "{{ mcm_token }}"
      env:
        MCM.BASE_API_PATH: /hello/v1
  tasks:
    - name: Read every node once
      mimoe.edge.rollout_plan:
        hosts: "{{ ansible_play_hosts_all }}"
        options:
          image: "{{ package.image }}"
        node_options: release_node_options
        label: hello-v1:1.1.0
      register: plan
      run_once: true
      delegate_to: localhost

    - name: Keep the plan on localhost
      ansible.builtin.set_fact:
        mim_rollout_plan: "{{ plan }}"
      run_once: true
      delegate_to: localhost
      delegate_facts: true

- name: Roll out to the nodes that need it
  hosts: "{{ hostvars['localhost']['mim_rollout_plan']['pending'] }}"
  serial: [1, 5]
  gather_facts: false
  tasks:
    - name: Release
      mimoe.edge.mim_release:
        mcm_url: "{{ mcm_url }}"
        mcm_token: "{{ mcm_token }}"
        image: "{{ package.image }}"
        env:
          MCM.BASE_API_PATH: /hello/v1
'''

RETURN = r'''
msg:
  description: The plan's lines (counts, one line per unchanged node; the table when no node needs the release).
  returned: always
  type: list
  elements: str
  sample: ["plan: 97 of 100 nodes already run hello-v1:1.1.0, 3 to release: node004, node050, node077"]
hosts:
  description: The planned hosts, in play order.
  returned: always
  type: list
  elements: str
unchanged:
  description: Hosts whose node already runs the release.
  returned: always
  type: list
  elements: str
pending:
  description: Hosts that need their release task, in play order.
  returned: always
  type: list
  elements: str
reasons:
  description: For each pending host, why (what differs, or why the node was not planned).
  returned: always
  type: dict
  sample: {node004: ["the image differs (compared by digest)"]}
report:
  description: The report so far (C(image), C(counts), C(nodes)), the unchanged nodes only.
  returned: always
  type: dict
report_file:
  description: Where the report was written ('' when not).
  returned: always
  type: str
'''
