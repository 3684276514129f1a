# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: export_yaml
short_description: The YAML file of a fleet export, from the specs mcm_export returned
version_added: 0.2.0
description:
  - Renders host name -> RV(mimoe.edge.mcm_export#module:spec) as one YAML document, C(export_format) and
    C(nodes), with the same header comment and the same C(!unsafe) tags on strings a node sent that contain a Jinja
    delimiter as the file M(mimoe.edge.mcm_export) writes to its C(dest). C(playbooks/export.yml) writes it with
    M(ansible.builtin.copy).
positional: _input
options:
  _input:
    description: Host name -> the C(spec) that M(mimoe.edge.mcm_export) returned for that host.
    type: dict
    required: true
'''

EXAMPLES = r'''
- name: Write the fleet export
  ansible.builtin.copy:
    content: "{{ dict(ansible_play_hosts | zip(ansible_play_hosts | map('extract', hostvars, ['export', 'spec'])))
                 | mimoe.edge.export_yaml }}"
    dest: fleet-export.yml
    mode: "0600"
  run_once: true
  delegate_to: localhost
'''

RETURN = r'''
_value:
  description: The YAML text.
  type: str
'''

from ansible.errors import AnsibleFilterError

from ansible_collections.mimoe.edge.plugins.module_utils._errors import MimoeError
from ansible_collections.mimoe.edge.plugins.module_utils._mcm_export import FLEET_HEADER, fleet_document, render_yaml
from ansible_collections.mimoe.edge.plugins.plugin_utils._unsafe import make_unsafe


def _plain(value):
    """Plain Python containers and strings (the YAML dumper knows no Ansible wrapper types)."""
    if isinstance(value, dict):
        return dict((_plain(k), _plain(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, str):
        return str(value)
    return value


def export_yaml(exports):
    if not isinstance(exports, dict):
        raise AnsibleFilterError('export_yaml expects a dictionary host -> mcm_export spec, got %s'
                                 % type(exports).__name__)
    try:
        text = render_yaml(fleet_document(_plain(exports)), header=FLEET_HEADER)
    except MimoeError as exc:
        raise AnsibleFilterError(str(exc))
    # The text holds what nodes sent: it must never be templated again.
    return make_unsafe(text)


class FilterModule(object):
    def filters(self):
        return {'export_yaml': export_yaml}
