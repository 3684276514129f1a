# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.mimoe.edge.plugins.module_utils import _markers as markers

DIGEST = 'sha256:' + 'a' * 64


def test_secret_keys_round_trip_sorted_and_unique():
    value = markers.encode_secret_keys(['TOKEN', 'API_KEY', 'TOKEN'])
    assert value == 'API_KEY,TOKEN'
    assert markers.decode_secret_keys({markers.SECRET_KEYS_KEY: value}) == {'API_KEY', 'TOKEN'}


@pytest.mark.parametrize('env', [None, [], {}, {markers.SECRET_KEYS_KEY: 5}, {markers.SECRET_KEYS_KEY: ''}])
def test_secret_keys_unmarked_or_malformed_is_empty(env):
    assert markers.decode_secret_keys(env) == set()


def test_release_round_trip_keeps_known_fields_only():
    release = {'image': 'hello-v1', 'version': '1.1.0', 'digest': DIGEST, 'config_digest': DIGEST,
               'revision': 3, 'extra': 'dropped'}
    env = {markers.RELEASE_KEY: markers.encode_release(release)}
    decoded = markers.decode_release(env)
    assert decoded == dict((k, v) for k, v in release.items() if k != 'extra')


@pytest.mark.parametrize('value', [
    'not json', '[]', '5', '{"digest": "sha256:../../../outside"}', '{"revision": true}', '{"revision": -1}', '{}',
])
def test_release_malformed_is_none(value):
    assert markers.decode_release({markers.RELEASE_KEY: value}) is None


def test_release_drops_invalid_digest_but_keeps_the_rest():
    decoded = markers.decode_release({markers.RELEASE_KEY: '{"image": "x", "digest": "sha256:../x"}'})
    assert decoded == {'image': 'x'}


def test_labels_round_trip_sorted_strings():
    value = markers.encode_labels({'tier': 'edge', 'app': 'hello'})
    assert value == '{"app":"hello","tier":"edge"}'
    assert markers.decode_labels({markers.LABELS_KEY: value}) == {'app': 'hello', 'tier': 'edge'}
    assert markers.encode_labels({}) == ''


@pytest.mark.parametrize('raw', [None, '', 'not json', '[1]', '{"a": 1}'])
def test_labels_unmarked_or_malformed_is_empty(raw):
    assert markers.decode_labels({markers.LABELS_KEY: raw}) == {}
