# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Mim spec logic: validation messages, env normalisation and comparison, masking, timestamps."""

from __future__ import annotations

import pytest

from ansible_collections.mimoe.edge.plugins.module_utils._mcm_composition import parse_members, secret_values
from ansible_collections.mimoe.edge.plugins.module_utils._mcm_mim import (
    MASK,
    MIM_SPEC_SCHEMA,
    Desired,
    SpecError,
    env_as_dict,
    env_changes,
    image_replaced,
    mask_mim,
    merge_env,
    node_spec_env,
    node_view_env,
    spec_from_start_json,
    timestamp,
    validate,
)

# What the simulator (and a real node) stores for {"MCM.BASE_API_PATH": "/hello/v1", "GREETING": "hi"}.
STORED = {
    'MCM.BASE_API_PATH': '/api/hello/v1', 'GREETING': 'hi',
    'MCM.WEBSOCKET_SUPPORT': 'false', 'MCM.API_ALIAS': 'false', 'MCM.OTEL_SUPPORT': 'false',
    'MCM.DB_ENCRYPTION_SUPPORT': 'false', 'MCM.DB_EMBEDDING_SUPPORT': 'false',
    'MCM.LINKLOCAL_REPLAY_NONCE_SUPPORT': 'false', 'MCM.CHILD_RUNTIME': 'false', 'MCM.RUNTIME': 'false',
    'MCM.MAX_EXECUTION_TIME_SEC': '30',
}


# ---------------------------------------------------------------- env normalisation and comparison

def test_node_view_prefixes_base_path():
    assert node_view_env({'MCM.BASE_API_PATH': '/hello/v1'}, 'api') == {'MCM.BASE_API_PATH': '/api/hello/v1'}
    assert node_view_env({'MCM.BASE_API_PATH': 'hello/v1/'}, 'api') == {'MCM.BASE_API_PATH': '/api/hello/v1'}
    assert node_view_env({'MCM.BASE_API_PATH': '/api/hello'}, 'api') == {'MCM.BASE_API_PATH': '/api/hello'}
    assert node_view_env({'X': '1'}, 'api') == {'X': '1'}


def test_node_spec_env_strips_the_prefix():
    assert node_spec_env({'MCM.BASE_API_PATH': '/c1/hello/v1', 'A': 'b'}, 'c1') == {
        'MCM.BASE_API_PATH': '/hello/v1', 'A': 'b'}


def test_equal_modulo_node_rewrites_and_defaults():
    desired = {'MCM.BASE_API_PATH': '/hello/v1', 'GREETING': 'hi'}
    assert env_changes(desired, STORED, 'api', 'hello-v1') == {}


def test_explicit_false_flag_equals_absent_flag():
    desired = {'MCM.BASE_API_PATH': '/hello/v1', 'GREETING': 'hi', 'MCM.OTEL_SUPPORT': 'false'}
    stored = dict(STORED)
    del stored['MCM.OTEL_SUPPORT']
    assert env_changes(desired, stored, 'api', 'hello-v1') == {}


def test_default_base_path_is_client_and_name():
    stored = dict(STORED, **{'MCM.BASE_API_PATH': '/api/hello-v1'})
    assert env_changes({'GREETING': 'hi'}, stored, 'api', 'hello-v1') == {}
    assert 'MCM.BASE_API_PATH' in env_changes({'GREETING': 'hi'}, stored, 'api', 'other')


@pytest.mark.parametrize('desired,key,change', [
    ({'MCM.BASE_API_PATH': '/hello/v1', 'GREETING': 'hello'}, 'GREETING', ('hi', 'hello')),
    ({'MCM.BASE_API_PATH': '/hello/v2', 'GREETING': 'hi'}, 'MCM.BASE_API_PATH', ('/api/hello/v1', '/hello/v2')),
    ({'MCM.BASE_API_PATH': '/hello/v1'}, 'GREETING', ('hi', None)),
    ({'MCM.BASE_API_PATH': '/hello/v1', 'GREETING': 'hi', 'NEW': 'x'}, 'NEW', (None, 'x')),
    ({'MCM.BASE_API_PATH': '/hello/v1', 'GREETING': 'hi', 'MCM.API_ALIAS': 'true'}, 'MCM.API_ALIAS', ('false', 'true')),
])
def test_changes_are_reported(desired, key, change):
    changes = env_changes(desired, STORED, 'api', 'hello-v1')
    assert list(changes) == [key]
    assert changes[key] == change


def test_flag_set_on_node_but_dropped_from_spec_is_a_change():
    stored = dict(STORED, **{'MCM.API_ALIAS': 'true'})
    assert list(env_changes({'MCM.BASE_API_PATH': '/hello/v1', 'GREETING': 'hi'}, stored, 'api', 'hello-v1')) == [
        'MCM.API_ALIAS']


def test_client_id_prefix_is_the_nodes():
    stored = dict(STORED, **{'MCM.BASE_API_PATH': '/team/hello/v1'})
    assert env_changes({'MCM.BASE_API_PATH': '/hello/v1', 'GREETING': 'hi'}, stored, 'team', 'hello-v1') == {}
    assert env_changes({'MCM.BASE_API_PATH': '/hello/v1', 'GREETING': 'hi'}, stored, 'api', 'hello-v1')


def test_env_as_dict_accepts_legacy_list():
    assert env_as_dict(['A=1', 'B=x=y', 'REMOVED']) == {'A': '1', 'B': 'x=y'}
    assert env_as_dict({'A': 1}) == {'A': '1'}
    assert env_as_dict(None) is None


# ---------------------------------------------------------------- masking

def test_mask_mim_hides_secret_values_only():
    mim = {'name': 'x', 'env': {'API_KEY': 'hunter2', 'GREETING': 'hi'}}
    masked = mask_mim(mim, {'API_KEY'})
    assert masked['env'] == {'API_KEY': MASK, 'GREETING': 'hi'}
    assert mim['env']['API_KEY'] == 'hunter2'  # not modified in place


def test_desired_masked():
    desired = Desired('x', 'img', {'A': 'a', 'S': 'secret-value'}, {'S'})
    assert desired.masked() == {'name': 'x', 'image': 'img', 'env': {'A': 'a', 'S': MASK}}
    assert desired.spec()['env']['S'] == 'secret-value'


def test_merge_env_refuses_a_key_in_both():
    with pytest.raises(SpecError, match='env and secret_env both set K'):
        merge_env({'K': 'a'}, {'K': 'b'})
    env, secret = merge_env({'A': 'a'}, {'S': 's'})
    assert env == {'A': 'a', 'S': 's'} and secret == {'S'}


# ---------------------------------------------------------------- validation messages

def test_mim_spec_validation_names_the_field():
    errors = validate({'name': 'x', 'image': 'y', 'env': {'PORT': 8080}}, MIM_SPEC_SCHEMA)
    assert errors == ["env.PORT: 8080 is not of type 'string'; quote it, env values are strings"]


def test_secret_values_never_appear_in_validation_messages():
    errors = validate({'name': 'x', 'image': 'y', 'secret_env': {'PIN': 987654}}, MIM_SPEC_SCHEMA)
    assert errors == ["secret_env.PIN: the value is not of type 'string' (value hidden); quote it"]
    assert '987654' not in errors[0]


def test_unknown_key_lists_allowed_keys():
    errors = validate({'name': 'x', 'image': 'y', 'envs': {}}, MIM_SPEC_SCHEMA)
    assert len(errors) == 1 and "'envs' was unexpected" in errors[0] and 'allowed keys: env, image, name' in errors[0]


def test_composition_messages_name_index_and_field():
    mims = [
        {'name': 'a', 'image': 'img'},
        {'name': 'b', 'image': 'img', 'env': {}},
        {'name': 'c', 'image': 'img', 'env': {'PORT': 8080}},
        {'name': 'd'},
    ]
    with pytest.raises(SpecError) as info:
        parse_members('shop', mims)
    message = str(info.value)
    assert "mims[2].env.PORT: 8080 is not of type 'string'" in message
    assert "mims[3]: 'image' is a required property" in message
    assert message.index('mims[2]') < message.index('mims[3]')


def test_composition_duplicates_and_reserved_key():
    with pytest.raises(SpecError) as info:
        parse_members('shop', [
            {'name': 'a', 'image': 'i'},
            {'name': 'a', 'image': 'i'},
            {'name': 'b', 'image': 'i', 'env': {'MIMOE_COMPOSITION': 'other'}},
        ])
    assert 'mims[1].name: a is listed twice (also mims[0])' in str(info.value)
    assert 'mims[2].env.MIMOE_COMPOSITION: this key is reserved' in str(info.value)


def test_composition_members_carry_the_membership_key():
    members = parse_members('shop', [{'name': 'a', 'image': 'i', 'env': {'X': '1'}, 'secret_env': {'S': 'pw'}}])
    assert members[0].env == {'X': '1', 'S': 'pw', 'MIMOE_COMPOSITION': 'shop'}
    assert members[0].secret_keys == {'S'}
    assert secret_values([{'secret_env': {'S': 'pw', 'N': 5}}, {'name': 'x'}]) == {'pw', '5'}


def test_start_json_is_taken_as_is_and_validated():
    spec = spec_from_start_json('{"name": "hello-v1", "image": "hello-v1", "env": {"A": "b"}}', 'payload')
    assert spec == {'name': 'hello-v1', 'image': 'hello-v1', 'env': {'A': 'b'}}
    with pytest.raises(SpecError, match='payload is not valid JSON'):
        spec_from_start_json('{', 'payload')
    with pytest.raises(SpecError, match="start_file: 'image' is a required property"):
        spec_from_start_json({'name': 'x'}, 'start_file')
    with pytest.raises(SpecError, match="'clientId' was unexpected"):
        spec_from_start_json({'name': 'x', 'image': 'y', 'clientId': 'c'}, 'payload')


# ---------------------------------------------------------------- image replacement detection

@pytest.mark.parametrize('value,expected', [
    (1763888000, 1763888000.0),
    (1763888000123, 1763888000.123),
    ('1763888000', 1763888000.0),
    ('2025-11-23T09:00:00Z', 1763888400.0),
    ('2025-11-23T09:00:00+00:00', 1763888400.0),
    ('yesterday', None),
    (None, None),
])
def test_timestamp(value, expected):
    assert timestamp(value) == expected


def test_image_replaced_current_generation_by_time():
    mim = {'name': 'm', 'imageId': 'api-hello', 'created': 1000}
    assert image_replaced(mim, {'id': 'api-hello', 'name': 'hello', 'created': 999}) is None
    assert image_replaced(mim, {'id': 'api-hello', 'name': 'hello', 'created': 1000}) is None
    assert 'replaced' in image_replaced(mim, {'id': 'api-hello', 'name': 'hello', 'created': 1001})


def test_image_replaced_legacy_generation_by_content_id():
    mim = {'name': 'm', 'imageId': 'sha256:' + 'a' * 64, 'created': 2000000000000}
    assert image_replaced(mim, {'id': 'sha256:' + 'a' * 64, 'created': 1}) is None
    assert 'imageId differs' in image_replaced(mim, {'id': 'sha256:' + 'b' * 64, 'name': 'x', 'created': 1})
