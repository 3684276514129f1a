# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Catalog inputs: what the fleet runs (mcm_info results), version filters, ioFog catalog items (the Controller's
images/fogTypeId form, no version), annotations. Bad input is an InputError naming the field."""

from __future__ import annotations

import pytest

from ansible_collections.mimoe.edge.plugins.module_utils._catalog import (
    default_version,
    fleet_matches,
    fleet_usage,
    load_iofog_definition,
    user_annotations,
    version_filter,
)
from ansible_collections.mimoe.edge.plugins.module_utils._errors import InputError

D1, D2, D3 = ('sha256:' + c * 64 for c in 'abc')
ITEM = {'digest': 'sha256:' + 'f' * 64,
        'architectures': {'amd64': {'manifest_digest': 'sha256:' + 'e' * 64, 'image_digest': D1}}}


def info(images, mims=None):
    result = {'changed': False, 'images': images}
    if mims is not None:
        result['mims'] = mims
    return result


CURRENT = info([{'id': 'api-hello-v1', 'name': 'hello-v1', 'digest': D1}, {'id': 'x', 'name': 'other', 'digest': D2}],
               [{'name': 'hello-v1', 'image': 'hello-v1'}])
LEGACY = info([{'id': D1, 'name': 'hello-v1'}], [{'id': 'm1', 'image': 'hello-v1'}])  # legacy: the id is the digest


def test_fleet_usage_counts_images_that_mims_run_under_every_form():
    assert fleet_usage({'a': CURRENT, 'b': LEGACY}) == [('a', 'hello-v1', 'hello-v1', D1), ('b', 'm1', 'hello-v1', D1)]
    assert fleet_usage([CURRENT])[0][0] == 'in_use_from[0]'
    loop = {'results': [dict(CURRENT, item='node-1'), dict(LEGACY, item={'inventory_hostname': 'node-2'}),
                        {'skipped': True, 'item': 'node-3'}]}
    assert [u[0] for u in fleet_usage(loop)] == ['node-1', 'node-2']
    assert [u[0] for u in fleet_usage([loop, None])] == ['node-1', 'node-2']
    # an image no mim runs is not in use; without mims (mims: false) every image counts
    assert [u[3] for u in fleet_usage([CURRENT])] == [D1]
    assert sorted(u[3] for u in fleet_usage([info(CURRENT['images'])])) == [D1, D2]
    assert fleet_usage(None) == [] and fleet_usage([]) == []


def test_fleet_matches_name_node_mim_and_digest():
    assert fleet_matches(ITEM, fleet_usage({'a': CURRENT, 'b': LEGACY})) == [
        'a: mim hello-v1, image hello-v1 (%s)' % D1, 'b: mim m1, image hello-v1 (%s)' % D1]
    assert fleet_matches(ITEM, fleet_usage([info([{'name': 'x', 'digest': D3}], [{'name': 'x', 'image': 'x'}])])) == []


@pytest.mark.parametrize('value, message', [
    ('text', 'in_use_from must be a list'),
    ([5], r'in_use_from\[0\] must be a result of mimoe.edge.mcm_info'),
    ([{'msg': 'x'}], r'in_use_from\[0\] \(in_use_from\[0\]\) is not a result of mimoe.edge.mcm_info'),
    ({'n1': {'failed': True, 'msg': 'down'}}, r'in_use_from\[n1\] \(n1\) is a failed mcm_info result'),
])
def test_fleet_usage_refuses_what_it_cannot_read(value, message):
    with pytest.raises(InputError, match=message):
        fleet_usage(value)


def version(description='', archs=('amd64',), annotations=None):
    return {'description': description, 'architectures': dict((a, {}) for a in archs),
            'annotations': dict(annotations or {})}


def test_version_filter_combines_every_filter():
    assert version_filter(None) is None and version_filter({'annotation': None, 'description': ''}) is None
    keep = version_filter({'annotation': ['channel=stable', 'team'], 'architecture': ['arm64', 'arm'],
                           'description': 'HELLO', 'description_regex': r'counts?\b'})
    good = version('Hello mim, counts', ('amd64', 'arm64', 'arm'), {'channel': 'stable', 'team': ''})
    assert keep(good)
    assert not keep(dict(good, annotations={'channel': 'beta', 'team': 'x'}))
    assert not keep(dict(good, annotations={'channel': 'stable'}))
    assert not keep(dict(good, architectures={'arm64': {}}))
    assert not keep(dict(good, description='Hello mim, countless'))
    assert version_filter({'annotation': ['k=v=w']})(version(annotations={'k': 'v=w'}))


@pytest.mark.parametrize('filters, message', [
    ({'description_regex': '(x'}, 'filters.description_regex'),
    ({'annotation': ['=v']}, r'filters.annotation\[0\]'),
])
def test_version_filter_errors(filters, message):
    with pytest.raises(InputError, match=message):
        version_filter(filters)


def test_controller_catalog_item_maps_fog_types():
    item = {'name': 'hello', 'description': 'd', 'category': 'UTILS', 'registryId': 1,
            'images': [{'containerImage': 'a.tar', 'fogTypeId': 1}, {'containerImage': 'b.tar', 'fogTypeId': 2}]}
    assert load_iofog_definition(item) == ('hello', 'd', {'amd64': 'a.tar', 'arm': 'b.tar'})
    spec = {'apiVersion': 'iofog.org/v3', 'kind': 'CatalogItem', 'metadata': {'name': 'hello'},
            'spec': {'images': [{'containerImage': 'reg/hello:1.0', 'fogTypeId': 2}]}}
    assert load_iofog_definition(spec, with_fields=True) == (
        'hello', '', {'arm': 'reg/hello:1.0'}, {'arm': 'definition.spec.images[0].containerImage'})


@pytest.mark.parametrize('images, message', [
    ([{'containerImage': 'a.tar', 'fogTypeId': 3}], r'definition.images\[0\].fogTypeId must be 1 \(x86'),
    ([{'image': 'a.tar', 'fogTypeId': 1}], r'definition.images\[0\] must be a mapping with containerImage'),
    ([{'containerImage': 'a', 'fogTypeId': 1}, {'containerImage': 'b', 'fogTypeId': 1}], 'second image for amd64'),
    ('a.tar', 'definition.images must be a list'),
    ([], 'has no image'),
])
def test_controller_catalog_item_errors(images, message):
    with pytest.raises(InputError, match=message):
        load_iofog_definition({'name': 'hello', 'images': images})


def artifact(repo_tag):
    return {'repo_tag': repo_tag}


def test_default_version_is_the_version_of_the_images():
    fields = {'amd64': 'definition.spec.x86', 'arm': 'definition.spec.arm'}
    assert default_version({'amd64': artifact('hello-v1:1.2.0'), 'arm': artifact('hello-v1:1.2.0')}, fields) == '1.2.0'
    with pytest.raises(InputError, match=r'different versions \(definition.spec.x86: 1.0.0; '
                                         r'definition.spec.arm: 2.0.0\).*set version'):
        default_version({'amd64': artifact('hello-v1:1.0.0'), 'arm': artifact('hello-v1:2.0.0')}, fields)
    for tag in ('hello-v1:latest', 'hello-v1'):
        with pytest.raises(InputError, match='carry no version'):
            default_version({'amd64': artifact(tag)}, fields)


def test_user_annotations():
    assert user_annotations(None) is None
    assert user_annotations({'a': 'x', 'n': 3, 'b': True}) == {'a': 'x', 'n': '3', 'b': 'true'}
    with pytest.raises(InputError, match='annotations.io.mimoe.edge.mim.name is written by the collection'):
        user_annotations({'io.mimoe.edge.mim.name': 'x'})
    with pytest.raises(InputError, match='annotations.a must be a string'):
        user_annotations({'a': {'b': 1}})
