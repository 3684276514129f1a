# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The export_yaml filter: one fleet document, the same header and !unsafe rule as mcm_export's dest file."""

from __future__ import annotations

import pytest
import yaml

from ansible.errors import AnsibleFilterError

from ansible_collections.mimoe.edge.plugins.filter.export_yaml import FilterModule, export_yaml

SPEC = {'export_format': 1, 'api_version': 'current', 'images': [],
        'mims': [{'name': 'web', 'image': 'web', 'env': {'X': '{% raw %}'}, 'secret_env': {'K': None}}],
        'compositions': []}


def test_fleet_document_hosts_sorted_unsafe_tagged():
    text = export_yaml({'b': SPEC, 'a': dict(SPEC, mims=[])})
    assert text.startswith('# mimOE fleet state exported by playbooks/export.yml')
    assert "X: !unsafe '{% raw %}'" in text and 'K: null' in text
    data = yaml.safe_load(text.replace('!unsafe', ''))
    assert list(data['nodes']) == ['a', 'b'] and data['export_format'] == 1
    assert 'export_format' not in data['nodes']['a']
    try:  # the text itself is never templated again
        from ansible.template import is_trusted_as_template
        assert not is_trusted_as_template(text)
    except ImportError:
        from ansible.utils.unsafe_proxy import AnsibleUnsafe
        assert isinstance(text, AnsibleUnsafe)


def test_bad_input():
    with pytest.raises(AnsibleFilterError, match='expects a dictionary'):
        export_yaml(['a'])
    assert FilterModule().filters()['export_yaml'] is export_yaml
