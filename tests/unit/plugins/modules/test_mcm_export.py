# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""mcm_export (issue 18 item 5): a node's state as module arguments; secrets by name only; the YAML file written
idempotently, in check mode never, node strings that look like Jinja tagged !unsafe."""

from __future__ import annotations

import os

import yaml

from ansible_collections.mimoe.edge.plugins.module_utils._markers import (
    COMPOSITION_KEY, LABELS_KEY, RELEASE_KEY, SECRET_KEYS_KEY, encode_labels, encode_release,
)
from ansible_collections.mimoe.edge.plugins.modules import mcm_composition, mcm_export, mcm_mim

from fake_mcm import write_kinds

SECRET = 'export-secret-value-7731'
DIGEST = 'sha256:' + 'a' * 64
JINJA = "{{ lookup('pipe', 'id') }}"


def seeded(node):
    node.add_image('hello-v1', DIGEST)
    node.add_image('shop-v1', 'sha256:' + 'b' * 64)
    node.add_image('spare-v1', 'sha256:' + 'c' * 64)
    node.add_mim('hello-v1', 'hello-v1', {'MCM.BASE_API_PATH': '/hello/v1', 'GREETING': 'hi', 'API_KEY': SECRET,
                                          SECRET_KEYS_KEY: 'API_KEY', 'NOTE': JINJA,
                                          LABELS_KEY: encode_labels({'tier': 'web'}),
                                          RELEASE_KEY: encode_release(dict(image='hello-v1', version='1.0.0'))})
    node.add_mim('pay', 'shop-v1', {'MCM.BASE_API_PATH': '/pay/v1', COMPOSITION_KEY: 'shop'})
    node.add_mim('cart', 'shop-v1', {'MCM.BASE_API_PATH': '/cart/v1', COMPOSITION_KEY: 'shop', 'TOKEN': SECRET,
                                     SECRET_KEYS_KEY: 'TOKEN'})
    return node


def test_spec_is_module_arguments_without_secret_values(node, run_module):
    result = run_module(mcm_export, seeded(node), {})
    spec = result['spec']
    assert spec['export_format'] == 1 and spec['api_version'] == 'current'
    assert spec['mims'] == [{'name': 'hello-v1', 'image': 'hello-v1',
                             'env': {'GREETING': 'hi', 'MCM.BASE_API_PATH': '/hello/v1',
                                     'MCM.MAX_EXECUTION_TIME_SEC': '30', 'NOTE': JINJA},
                             'labels': {'tier': 'web'}, 'secret_env': {'API_KEY': None}}]
    assert spec['compositions'] == [{'name': 'shop', 'mims': [
        {'name': 'cart', 'image': 'shop-v1', 'env': {'MCM.BASE_API_PATH': '/cart/v1',
                                                     'MCM.MAX_EXECUTION_TIME_SEC': '30'},
         'secret_env': {'TOKEN': None}},
        {'name': 'pay', 'image': 'shop-v1', 'env': {'MCM.BASE_API_PATH': '/pay/v1',
                                                    'MCM.MAX_EXECUTION_TIME_SEC': '30'}}]}]
    assert [(i['name'], i['used_by'], i['digest']) for i in spec['images']] == [
        ('hello-v1', ['hello-v1'], DIGEST), ('shop-v1', ['cart', 'pay'], 'sha256:' + 'b' * 64),
        ('spare-v1', [], 'sha256:' + 'c' * 64)]
    assert result['secret_env_keys'] == {'hello-v1': ['API_KEY'], 'cart': ['TOKEN']}
    assert SECRET not in result['_raw'] and 'MIMOE_' not in str(spec)
    assert result['changed'] is False and write_kinds(node) == []


def test_the_exported_arguments_are_accepted_back_and_change_nothing(node, run_module):
    """Applying the export (secrets supplied) to the node it came from changes nothing."""
    seeded(node)
    node.mims[:] = [m for m in node.mims if m['name'] != 'hello-v1']  # mcm_mim labels: the mim engineer's option
    node.add_mim('hello-v1', 'hello-v1', {'MCM.BASE_API_PATH': '/hello/v1', 'GREETING': 'hi', 'API_KEY': SECRET,
                                          SECRET_KEYS_KEY: 'API_KEY'})
    spec = run_module(mcm_export, node, {})['spec']
    for mim in spec['mims']:
        args = dict(mim, secret_env={'API_KEY': SECRET})
        assert run_module(mcm_mim, node, args)['changed'] is False
    for composition in spec['compositions']:
        members = [dict(m, secret_env={'TOKEN': SECRET}) if 'secret_env' in m else m for m in composition['mims']]
        result = run_module(mcm_composition, node, dict(name=composition['name'], mims=members))
        assert result['changed'] is False, result
    assert write_kinds(node) == []


def test_a_secret_left_null_is_refused_never_deployed(node, run_module):
    node.add_image('hello-v1', DIGEST)
    refused = run_module(mcm_mim, node, dict(name='hello-v1', image='hello-v1', secret_env={'API_KEY': None}))
    assert refused.get('failed') and 'secret_env' in refused['msg']
    refused = run_module(mcm_composition, node, dict(name='shop', mims=[
        dict(name='hello-v1', image='hello-v1', secret_env={'API_KEY': None})]))
    assert refused.get('failed') and 'secret_env' in refused['msg']
    assert write_kinds(node) == []


def test_dest_written_once_check_mode_and_diff(node, run_module, tmp_path):
    seeded(node)
    dest = tmp_path / 'node.yml'
    check = run_module(mcm_export, node, dict(dest=str(dest)), check=True, diff=True)
    assert check['changed'] is True and not dest.exists()
    assert check['diff']['before'] == '' and 'hello-v1' in check['diff']['after']
    first = run_module(mcm_export, node, dict(dest=str(dest)), diff=True)
    assert first['changed'] is True and first['dest'] == str(dest)
    assert first['actions'] == ['wrote %s' % dest]
    assert oct(os.stat(dest).st_mode & 0o777) == '0o600'
    text = dest.read_text()
    assert text.startswith('# mimOE node state exported by mimoe.edge.mcm_export')
    assert SECRET not in text
    second = run_module(mcm_export, node, dict(dest=str(dest)), diff=True)
    assert second['changed'] is False and 'diff' not in second
    os.chmod(dest, 0o640)
    node.add_mim('new', 'spare-v1', {})
    third = run_module(mcm_export, node, dict(dest=str(dest)), diff=True)
    assert third['changed'] is True and 'name: new' in third['diff']['after']
    assert oct(os.stat(dest).st_mode & 0o777) == '0o640'  # an existing file keeps its mode


def test_node_strings_that_look_like_jinja_are_unsafe_in_the_file(node, run_module, tmp_path):
    from ansible.parsing.yaml.loader import AnsibleLoader
    seeded(node)
    dest = tmp_path / 'node.yml'
    run_module(mcm_export, node, dict(dest=str(dest)))
    text = dest.read_text()
    assert "NOTE: !unsafe '{{ lookup(''pipe'', ''id'') }}'" in text
    plain = yaml.safe_load(text.replace('!unsafe', ''))
    assert plain == run_module(mcm_export, node, {})['spec']  # the file is the returned spec
    loaded = AnsibleLoader(text).get_single_data()
    note = loaded['mims'][0]['env']['NOTE']
    assert note == JINJA
    try:  # ansible-core 2.19+: data tags; before: the AnsibleUnsafe type
        from ansible.template import is_trusted_as_template
        assert not is_trusted_as_template(note)
    except ImportError:
        from ansible.utils.unsafe_proxy import AnsibleUnsafe
        assert isinstance(note, AnsibleUnsafe)


def test_bad_dest_names_the_field(node, run_module, tmp_path):
    seeded(node)
    missing = run_module(mcm_export, node, dict(dest=str(tmp_path / 'nope' / 'node.yml')))
    assert missing['failed'] and 'dest: the directory' in missing['msg'] and 'Hint' in missing['msg']
    directory = run_module(mcm_export, node, dict(dest=str(tmp_path)))
    assert directory['failed'] and 'is a directory' in directory['msg']


def test_legacy_node_with_mims_cannot_be_exported(legacy_node, run_module):
    seeded(legacy_node)
    result = run_module(mcm_export, legacy_node, {})
    assert result['failed'] and 'legacy API' in result['msg'] and 'Traceback' not in result['_raw']


def test_empty_legacy_node_exports_its_images(legacy_node, run_module):
    legacy_node.add_image('hello-v1', DIGEST)
    spec = run_module(mcm_export, legacy_node, {})['spec']
    assert spec['mims'] == [] and [i['name'] for i in spec['images']] == ['hello-v1']
