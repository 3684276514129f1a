# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Image identity: archives by file and config digest, node images in every id style (issue 13 item 3)."""

from __future__ import annotations

import hashlib
import json
import tarfile

import pytest

from ansible_collections.mimoe.edge.plugins.module_utils._image_identity import (
    DIFFERENT, SAME, UNKNOWN, UNVERIFIED, archive_identity, identity_matches, image_identity, image_release,
    normalize_digest, normalized_image, proven_version,
)
from ansible_collections.mimoe.edge.plugins.module_utils._markers import RELEASE_KEY, encode_release
from ansible_collections.mimoe.edge.plugins.module_utils._mcm_client import image_digest
from ansible_collections.mimoe.edge.plugins.module_utils._mcm_mim import spec_env

from mim_tar import build_tar

HEX = 'ab' * 32


@pytest.fixture
def archive(tmp_path):
    path = build_tar(str(tmp_path / 'hello-v1.tar'), name='hello-v1', version='1.2.0')
    return archive_identity(path), path


def test_archive_identity_has_both_digests(archive):
    ident, path = archive
    with open(path, 'rb') as fh:
        assert ident['digest'] == 'sha256:' + hashlib.sha256(fh.read()).hexdigest()
    with tarfile.open(path) as tar:
        config_name = json.loads(tar.extractfile('manifest.json').read())[0]['Config']
        config = tar.extractfile(config_name).read()
    assert ident['config_digest'] == 'sha256:' + hashlib.sha256(config).hexdigest() != ident['digest']
    assert (ident['name'], ident['version'], ident['repo_tag']) == ('hello-v1', '1.2.0', 'hello-v1:1.2.0')


@pytest.mark.parametrize('value, expected', [
    ('sha256:' + HEX, 'sha256:' + HEX),
    ('SHA265:' + HEX.upper(), 'sha256:' + HEX),
    ('sha265:' + HEX.upper(), 'sha256:' + HEX),
    ('sha256:../../x', None),
    ('sha256:' + HEX + '/../x', None),
    ('sha256:' + HEX[:12], None),
    ('sha512:' + HEX, None),
    (HEX, None),
    (None, None),
    (42, None),
])
def test_normalize_digest_rejects_anything_but_sha256_hex(value, expected):
    assert normalize_digest(value) == expected


def test_one_digest_rule_for_every_node_style():
    """The digest mcm_image compares, mcm_info returns and the inventory shows is the same function."""
    assert image_digest({'digest': 'sha265:' + HEX, 'id': 'api-x'}) == 'sha256:' + HEX
    assert image_digest({'id': 'sha256:' + HEX}) == 'sha256:' + HEX
    assert image_digest({'id': 'x', 'repoDigests': [['x@sha256:' + HEX]]}) == 'sha256:' + HEX  # seed 002
    assert image_digest({'id': 'x', 'repoDigests': ['x@sha256:' + HEX]}) == 'sha256:' + HEX
    assert image_digest({'id': 'sha256:4dcab49015d4', 'repoDigests': [[]]}) is None
    assert image_digest({'digest': 'sha256:../../etc/passwd'}) is None
    assert image_digest({'id': 'example-v1'}) is None


@pytest.mark.parametrize('style', ['archive', 'config', 'short'])
def test_matches_by_full_or_short_id(archive, style):
    ident, _path = archive
    node_id = {'archive': ident['digest'], 'config': ident['config_digest'],
               'short': ident['config_digest'][:19]}[style]
    assert identity_matches({'id': node_id, 'name': 'hello-v1'}, ident)[0] == SAME
    other = dict(ident, digest='sha256:' + 'c' * 64, config_digest='sha256:' + 'd' * 64)
    assert identity_matches({'id': node_id, 'name': 'hello-v1'}, other)[0] == DIFFERENT


def test_opaque_id_uses_release_marker_then_repo_tag(archive):
    ident, _path = archive
    image = {'id': 'example-v1', 'name': 'hello-v1', 'repoTags': ['hello-v1:1.2.0']}
    marker = {'image': 'hello-v1', 'version': '1.2.0', 'config_digest': ident['config_digest']}
    assert identity_matches(image, ident, marker) == (SAME, 'release marker')
    stale = dict(marker, config_digest='sha256:' + 'e' * 64)
    assert identity_matches(image, ident, stale)[0] == DIFFERENT
    assert identity_matches(image, ident)[0] == UNVERIFIED
    assert identity_matches(dict(image, repoTags=['hello-v1:1.1.0']), ident)[0] == DIFFERENT
    assert identity_matches({'id': 'example-v1', 'name': 'hello-v1'}, ident)[0] == UNKNOWN


def test_release_marker_read_from_the_users_env(archive):
    ident, _path = archive
    image = {'id': 'api-hello-v1', 'name': 'hello-v1'}
    env = {RELEASE_KEY: encode_release({'image': 'hello-v1', 'version': '1.2.0', 'digest': ident['digest']})}
    mims = [{'name': 'hello-v1', 'image': 'hello-v1', 'env': env},
            {'name': 'other', 'image': 'other-v1', 'env': {RELEASE_KEY: '{"version": "9"}'}}]
    assert image_release(image, mims)['version'] == '1.2.0'
    conflicting = mims + [{'name': 'hello-b', 'image': 'hello-v1',
                           'env': {RELEASE_KEY: encode_release({'image': 'hello-v1', 'version': '1.3.0'})}}]
    assert image_release(image, conflicting) is None
    assert proven_version(image, image_release(image, mims)) == ('1.2.0', 'release_marker')
    # A node digest that contradicts the marker wins: the version is then unknown.
    assert proven_version(dict(image, id='sha256:' + 'f' * 64), image_release(image, mims)) == (None, None)
    assert proven_version({'repoTags': ['hello-v1:1.0.0']}) == ('1.0.0', 'repo_tag')


def test_normalized_image_and_identity():
    image = normalized_image({'id': 'sha256:4DCAB49015D4', 'name': 'beam-v1', 'repoDigests': [[]]})
    assert (image['digest'], image['version'], image['repo_tag'], image['version_source']) == (None, None, None, None)
    assert image_identity(image)['short_id'] == '4dcab49015d4' and image_identity(image)['id_style'] == 'short'
    tagged = normalized_image({'id': 'api-x', 'digest': 'sha265:' + HEX, 'repoTags': ['runtime:wasm', 'x:2.0']})
    assert (tagged['digest'], tagged['version'], tagged['repo_tag']) == ('sha256:' + HEX, '2.0', 'x:2.0')


def test_spec_env_is_the_form_of_a_spec():
    node_env = {'MCM.BASE_API_PATH': '/api/hello/v1', 'MCM.WEBSOCKET_SUPPORT': 'false', 'MCM.API_ALIAS': 'true',
                'MCM.MAX_EXECUTION_TIME_SEC': '30', 'GREETING': 'hi', RELEASE_KEY: '{}', 'MIMOE_SECRET_KEYS': 'A'}
    assert spec_env(node_env, 'api') == {'MCM.BASE_API_PATH': '/hello/v1', 'MCM.API_ALIAS': 'true',
                                         'MCM.MAX_EXECUTION_TIME_SEC': '30', 'GREETING': 'hi'}
    assert spec_env(['MCM.BASE_API_PATH=/api/x', 'A=1'], 'api') == {'MCM.BASE_API_PATH': '/x', 'A': '1'}
    assert spec_env(None, 'api') is None
