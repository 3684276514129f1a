# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Catalog layout: deterministic artifacts, the index, the in-use guard, iofogctl CatalogItem input."""

from __future__ import annotations

import json
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from mim_tar import build_tar  # noqa: E402  pylint: disable=wrong-import-position

from ansible_collections.mimoe.edge.plugins.module_utils._catalog import (  # noqa: E402  pylint: disable=wrong-import-position
    ARTIFACT_TYPE,
    INDEX_ARTIFACT_TYPE,
    LAYER_MEDIA_TYPE,
    artifact_for_tar,
    build_index,
    check_item_name,
    describe_index,
    in_use_matches,
    layer_of,
    load_iofog_definition,
    parse_reference,
    sources_from_params,
)
from ansible_collections.mimoe.edge.plugins.module_utils._errors import InputError  # noqa: E402  pylint: disable=wrong-import-position
from ansible_collections.mimoe.edge.plugins.module_utils._oci_client import (  # noqa: E402  pylint: disable=wrong-import-position
    EMPTY_DIGEST,
    sha256_digest,
)


def test_empty_config_digest_is_the_spec_value():
    assert sha256_digest(b'{}') == EMPTY_DIGEST


def test_artifact_is_deterministic_and_layered_as_documented(tmp_path):
    path = build_tar(str(tmp_path / 'a.tar'), name='hello-v1', version='1.2.3')
    first, again = artifact_for_tar(path), artifact_for_tar(path)
    assert first['raw'] == again['raw'] and first['digest'] == sha256_digest(first['raw'])
    manifest = json.loads(first['raw'])
    assert manifest['artifactType'] == ARTIFACT_TYPE
    assert manifest['config']['digest'] == EMPTY_DIGEST
    layer = layer_of(manifest, 'test')
    assert layer['mediaType'] == LAYER_MEDIA_TYPE and layer['digest'] == first['image_digest']
    assert layer['annotations']['org.opencontainers.image.title'] == 'hello-v1-1.2.3.tar'
    assert first['image_name'] == 'hello-v1' and first['repo_tag'] == 'hello-v1:1.2.3'


def test_index_lists_platforms_and_describe_reads_it_back(tmp_path):
    amd = artifact_for_tar(build_tar(str(tmp_path / 'a.tar'), name='hello-v1'))
    arm = artifact_for_tar(build_tar(str(tmp_path / 'b.tar'), name='hello-v1', index_js=b'mimikModule.exports=1;'))
    index = build_index('hello', '1.0.0', 'Hello', {'arm': arm, 'amd64': amd, 'arm64': amd}, '2026-11-23T00:00:00Z')
    assert index['artifactType'] == INDEX_ARTIFACT_TYPE
    assert [m['platform']['architecture'] for m in index['manifests']] == ['amd64', 'arm64', 'arm']
    item = describe_index('mims/hello', '1.0.0', index, 'sha256:' + 'f' * 64, 'https://reg')
    assert item['description'] == 'Hello' and item['mim'] == 'hello'
    assert item['architectures']['arm']['image_digest'] == arm['image_digest']
    assert item['architectures']['amd64']['size'] == amd['image_size']
    assert item['architectures']['arm64']['url'] == 'https://reg/v2/mims/hello/blobs/' + amd['image_digest']


def test_in_use_guard_matches_versions_and_every_digest_spelling():
    item = {'digest': 'sha256:' + 'a' * 64,
            'architectures': {'amd64': {'manifest_digest': 'sha256:' + 'b' * 64, 'image_digest': 'sha256:' + 'c' * 64}}}
    assert in_use_matches('hello', '1.0.0', item, ['1.0.0']) == ['1.0.0']
    assert in_use_matches('hello', '1.0.0', item, ['hello@1.0.0', 'hello@2.0.0']) == ['hello@1.0.0']
    assert in_use_matches('hello', '1.0.0', item, ['sha265:' + 'c' * 64]) == ['sha265:' + 'c' * 64]
    assert in_use_matches('hello', '1.0.0', item, ['C' * 64]) == ['C' * 64]
    assert in_use_matches('hello', '1.0.0', item, ['hello-v1@sha256:' + 'b' * 64]) == ['hello-v1@sha256:' + 'b' * 64]
    assert in_use_matches('hello', '1.0.0', item, ['2.0.0', 'sha256:' + 'd' * 64, '', None]) == []


def test_iofog_definition_maps_x86_and_arm():
    name, description, images = load_iofog_definition({
        'apiVersion': 'iofog.org/v3', 'kind': 'CatalogItem', 'metadata': {'name': 'my-mim'},
        'spec': {'description': 'd', 'x86': 'a.tar', 'arm': 'b.tar', 'registry': 'remote'}})
    assert (name, description, images) == ('my-mim', 'd', {'amd64': 'a.tar', 'arm': 'b.tar'})


@pytest.mark.parametrize('definition, message', [
    ({'apiVersion': 'v1', 'kind': 'CatalogItem'}, 'apiVersion'),
    ({'apiVersion': 'iofog.org/v3', 'kind': 'Microservice'}, 'kind'),
    ({'apiVersion': 'iofog.org/v3', 'kind': 'CatalogItem', 'spec': {'description': 'x'}}, 'no image'),
    ({'apiVersion': 'iofog.org/v3', 'kind': 'CatalogItem', 'spec': {'x86': 5}}, 'spec.x86 must be a string'),
    ('not a mapping', 'mapping'),
])
def test_iofog_definition_errors(definition, message):
    with pytest.raises(InputError, match=message):
        load_iofog_definition(definition)


def test_src_yaml_and_name_conflict(tmp_path):
    path = tmp_path / 'item.yaml'
    path.write_text('apiVersion: iofog.org/v3\nkind: CatalogItem\nmetadata:\n  name: hello\nspec:\n  x86: a.tar\n')
    assert sources_from_params({'src': str(path)}) == ('hello', '', {'amd64': 'a.tar'})
    with pytest.raises(InputError, match='named hello'):
        sources_from_params({'src': str(path), 'name': 'other'})
    assert sources_from_params({'name': 'x', 'image': 'i.tar'})[2] == {'amd64': 'i.tar', 'arm64': 'i.tar', 'arm': 'i.tar'}


@pytest.mark.parametrize('name', ['ab', 'Hello', '-x-', 'a_b', 'x' * 129])
def test_item_names_follow_iofogctl(name):
    with pytest.raises(InputError, match='catalog item name'):
        check_item_name(name)


@pytest.mark.parametrize('reference', ['hello', 'hello@', '@1.0', 'a@b@c', 'hello@-bad'])
def test_bad_references(reference):
    with pytest.raises(InputError):
        parse_reference(reference)
