# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Local image archive validation and digests."""

from __future__ import annotations

import hashlib
import os

import pytest

from ansible_collections.mimoe.edge.plugins.module_utils._mcm_client import (
    MCMTarError,
    digest_hex,
    file_digest,
    image_digest,
    image_matches,
    image_name_from_tag,
    inspect_image_tar,
    same_digest,
)

from mim_tar import build_tar


def test_valid_archive(tmp_path):
    path = build_tar(str(tmp_path / 'a.tar'), name='hello-v1', version='1.0.0')
    info = inspect_image_tar(path)
    data = open(path, 'rb').read()
    assert info['name'] == 'hello-v1'
    assert info['repo_tags'] == ['hello-v1:1.0.0']
    assert info['digest'] == 'sha256:' + hashlib.sha256(data).hexdigest()
    assert info['size'] == len(data)
    assert info['entry'] == 'index.js'


def test_wasm_runtime_tag_is_not_the_name(tmp_path):
    path = build_tar(str(tmp_path / 'w.tar'), name='calc-v1', extra_tags=['runtime:wasm'])
    assert inspect_image_tar(path)['name'] == 'calc-v1'


def test_custom_entry_label(tmp_path):
    path = build_tar(str(tmp_path / 'e.tar'), entry='main.js')
    assert inspect_image_tar(path)['entry'] == 'main.js'


def test_digest_is_streamed_over_chunks(tmp_path):
    big = tmp_path / 'big.bin'
    payload = os.urandom(3 * 1024 * 1024 + 17)
    big.write_bytes(payload)
    assert file_digest(str(big)) == 'sha256:' + hashlib.sha256(payload).hexdigest()


def test_truncated_archive(tmp_path):
    data = build_tar(None)
    path = tmp_path / 'cut.tar'
    path.write_bytes(data[:len(data) // 2 + 100])
    with pytest.raises(MCMTarError) as info:
        inspect_image_tar(str(path))
    assert str(path) in str(info.value)
    assert 'not a valid mim image archive' in str(info.value)


def test_not_a_tar(tmp_path):
    path = tmp_path / 'junk.tar'
    path.write_bytes(b'\x00garbage' * 20)
    with pytest.raises(MCMTarError, match='not a valid mim image archive'):
        inspect_image_tar(str(path))


def test_missing_file(tmp_path):
    with pytest.raises(MCMTarError, match='does not exist') as info:
        inspect_image_tar(str(tmp_path / 'nope.tar'))
    assert 'delegate_to: localhost' in info.value.hint


def test_directory_is_refused(tmp_path):
    with pytest.raises(MCMTarError, match='not a regular file'):
        inspect_image_tar(str(tmp_path))


@pytest.mark.parametrize('manifest,message', [
    (b'{not json', 'manifest.json is not valid JSON'),
    ([], 'non-empty list'),
    ([{'Layers': ['x/layer.tar']}], 'no RepoTags'),
    ([{'RepoTags': ['a:1']}], 'no Layers'),
    ([{'RepoTags': ['a:1'], 'Layers': ['missing/layer.tar']}], 'layer missing/layer.tar listed in manifest.json is not in the archive'),
])
def test_bad_manifests(tmp_path, manifest, message):
    path = build_tar(str(tmp_path / 'm.tar'), manifest=manifest)
    with pytest.raises(MCMTarError) as info:
        inspect_image_tar(path)
    assert message in str(info.value)


def test_layer_without_entry_file(tmp_path):
    path = build_tar(str(tmp_path / 'n.tar'), layer_files={'other.js': b'x'})
    with pytest.raises(MCMTarError, match='no layer holds the entry file index.js'):
        inspect_image_tar(path)


@pytest.mark.parametrize('tag,name', [
    ('hello-v1:1.0.0', 'hello-v1'),
    ('hello-v1', 'hello-v1'),
    ('registry:5000/team/hello', 'registry:5000/team/hello'),
    ('registry:5000/team/hello:2', 'registry:5000/team/hello'),
])
def test_image_name_from_tag(tag, name):
    assert image_name_from_tag(tag) == name


def test_digests_compare_after_the_colon():
    hexa = 'ab' * 32
    assert same_digest('sha256:' + hexa, 'sha265:' + hexa)
    assert same_digest('SHA256:' + hexa.upper(), 'sha256:' + hexa)
    assert not same_digest('sha256:' + hexa, 'sha256:' + 'cd' * 32)
    assert not same_digest(None, None)
    assert digest_hex('sha256:abc') == 'abc'


def test_image_digest_current_and_legacy_shapes():
    hexa = 'ef' * 32
    assert image_digest({'digest': 'sha256:' + hexa, 'id': 'api-x'}) == 'sha256:' + hexa
    assert image_digest({'id': 'sha256:' + hexa, 'name': 'x'}) == 'sha256:' + hexa
    assert image_digest({'id': 'api-x', 'repoDigests': ['x@sha256:' + hexa]}) == 'sha256:' + hexa
    assert image_digest({'id': 'api-x'}) is None


def test_image_matches_by_name_id_or_tag():
    image = {'id': 'api-hello-v1', 'name': 'hello-v1', 'repoTags': ['hello-v1:1.0.0']}
    assert image_matches(image, 'hello-v1')
    assert image_matches(image, 'api-hello-v1')
    assert image_matches({'id': 'sha256:aa', 'repoTags': ['hello-v1:1.0.0']}, 'hello-v1')
    assert not image_matches(image, 'hello')
