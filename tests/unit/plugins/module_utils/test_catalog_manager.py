# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""CatalogManager against an in-memory registry: check mode writes nothing and reports what the real run does,
delete by digest of an artifact (refused, forced with a warning), docker references mapped into the registry.
(The real-registry tests are tests/integration/test_catalog*.py.)"""

from __future__ import annotations

import json
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from mim_tar import build_tar  # noqa: E402  pylint: disable=wrong-import-position

from ansible_collections.mimoe.edge.plugins.module_utils._catalog import CatalogManager  # noqa: E402  pylint: disable=wrong-import-position
from ansible_collections.mimoe.edge.plugins.module_utils._errors import InputError, MimoeError  # noqa: E402  pylint: disable=wrong-import-position
from ansible_collections.mimoe.edge.plugins.module_utils._oci_client import sha256_digest  # noqa: E402  pylint: disable=wrong-import-position
from ansible_collections.mimoe.edge.plugins.module_utils._recorder import Recorder  # noqa: E402  pylint: disable=wrong-import-position


class MemoryRegistry:
    """The OCIClient calls CatalogManager makes, on dicts; ``writes`` counts what changed the registry."""

    url = 'http://reg.test:5000'
    host = 'reg.test:5000'

    def __init__(self):
        self.blobs, self.manifests, self.tag_map, self.writes = {}, {}, {}, []

    def blob_exists(self, repository, digest):
        return digest in self.blobs.get(repository, set())

    def push_blob_file(self, repository, path, digest, size, media_type='application/octet-stream'):
        self.writes.append(('blob', repository, digest))
        self.blobs.setdefault(repository, set()).add(digest)
        return True

    def push_blob_bytes(self, repository, data, media_type='application/octet-stream'):
        return self.push_blob_file(repository, None, sha256_digest(data), len(data))

    def mount_blob(self, repository, digest, source_repository):
        self.writes.append(('mount', repository, digest))
        self.blobs.setdefault(repository, set()).add(digest)
        return 'mounted'

    def get_manifest(self, repository, ref):
        digest = self.tag_map.get(repository, {}).get(ref, ref)
        raw = self.manifests.get(repository, {}).get(digest)
        return None if raw is None else (json.loads(raw), digest, raw)

    def head_manifest(self, repository, ref):
        found = self.get_manifest(repository, ref)
        return found[1] if found else None

    def put_manifest(self, repository, ref, raw, media_type):
        digest = sha256_digest(raw)
        self.writes.append(('manifest', repository, ref))
        self.manifests.setdefault(repository, {})[digest] = raw
        if not ref.startswith('sha256:'):
            self.tag_map.setdefault(repository, {})[ref] = digest
        return digest

    def delete_manifest(self, repository, digest):
        if digest not in self.manifests.get(repository, {}):
            return False
        self.writes.append(('delete', repository, digest))
        del self.manifests[repository][digest]
        self.tag_map[repository] = dict((t, d) for t, d in self.tag_map.get(repository, {}).items() if d != digest)
        return True

    def tags(self, repository):
        return sorted(self.tag_map.get(repository, {}))


def manager(registry, check_mode=False):
    return CatalogManager(registry, 'mims', Recorder(check_mode))


def publish(registry, tmp_path, version, check_mode=False, **extra):
    tar = build_tar(str(tmp_path / ('hello-%s.tar' % version)), name='hello-v1', version=version)
    params = dict(state='present', name='hello', version=version, image=tar, force=False)
    params.update(extra)
    mgr = manager(registry, check_mode)
    return mgr, mgr.run(params)


def test_check_mode_writes_nothing_and_reports_what_the_real_run_does(tmp_path):
    registry = MemoryRegistry()
    dry, dry_result = publish(registry, tmp_path, '1.0.0', check_mode=True)
    assert registry.writes == [] and dry.recorder.changed
    real, real_result = publish(registry, tmp_path, '1.0.0')
    assert [a.split(' (')[0] for a in dry.recorder.actions] == [a.split(' (')[0] for a in real.recorder.actions]
    assert len(real.recorder.actions) == 4 == len(registry.writes)  # layer, config, artifact, index
    for key in ('blobs_pushed', 'blobs_skipped', 'manifests_pushed'):
        assert dry_result[key] == real_result[key]
    again, _result = publish(registry, tmp_path, '1.0.0')
    assert not again.recorder.changed and again.recorder.actions == []


def test_delete_an_artifact_by_digest_refused_while_listed_then_forced_with_a_warning(tmp_path):
    registry = MemoryRegistry()
    _mgr, published = publish(registry, tmp_path, '1.0.0')
    artifact = published['item']['architectures']['arm']['manifest_digest']
    params = dict(state='absent', name='hello', digest=artifact, force=False)
    with pytest.raises(MimoeError, match='the versions hello@1.0.0 list it.*force=true'):
        manager(registry).run(params)
    dry = manager(registry, check_mode=True)
    dry.run(dict(params, force=True))
    assert dry.recorder.actions == ['deleted manifest %s' % artifact] and registry.get_manifest('mims/hello', artifact)
    forced = manager(registry)
    result = forced.run(dict(params, force=True))
    assert result['manifests_deleted'] == 1 and registry.get_manifest('mims/hello', artifact) is None
    assert forced.recorder.warnings == ['the versions 1.0.0 of hello list the deleted manifest %s: their image is '
                                        'missing now' % artifact]
    again = manager(registry)
    again.run(dict(params, force=True))
    assert not again.recorder.changed


def test_docker_references_map_to_what_the_registry_holds(tmp_path):
    registry = MemoryRegistry()
    _mgr, published = publish(registry, tmp_path, '1.0.0', images=None)
    # a tagged artifact manifest (not a catalog version) is taken as it is
    artifact = published['item']['architectures']['amd64']['manifest_digest']
    registry.tag_map['mims/hello']['plain'] = artifact
    definition = {'name': 'hello-fog', 'images': [{'containerImage': 'reg.test:5000/mims/hello:plain', 'fogTypeId': 1},
                                                  {'containerImage': 'hello:1.0.0', 'fogTypeId': 2}]}
    mgr = manager(registry)
    result = mgr.run(dict(state='present', definition=definition, force=False))
    assert result['item']['version'] == '1.0.0' and sorted(result['item']['architectures']) == ['amd64', 'arm']
    assert result['blobs_mounted'] == 2 and result['blobs_skipped'] == 0  # layer and config, mounted once
    registry.tag_map['mims/hello']['amd64-only'] = registry.put_manifest(
        'mims/hello', 'amd64-only', json.dumps({
            'schemaVersion': 2, 'mediaType': 'application/vnd.oci.image.index.v1+json',
            'artifactType': 'application/vnd.mimoe.edge.catalog.item.v1',
            'manifests': [{'digest': artifact, 'platform': {'architecture': 'amd64'}}]}).encode(), 'x')
    with pytest.raises(InputError, match=r'definition.spec.arm hello:amd64-only is the catalog version '
                                         r'mims/hello:amd64-only, which has no image for arm'):
        manager(registry).run(dict(state='present', definition={
            'apiVersion': 'iofog.org/v3', 'kind': 'CatalogItem', 'metadata': {'name': 'hello-fog2'},
            'spec': {'arm': 'hello:amd64-only'}}, force=False))
    with pytest.raises(InputError, match=r'definition.images\[0\].containerImage nothere:1.0: the registry '
                                         r'http://reg.test:5000 has no mim archive or catalog version nothere:1.0 '
                                         r'or mims/nothere:1.0\..*set definition.images\[0\].containerImage to the '
                                         r'path of the .tar'):
        manager(registry).run(dict(state='present', version='1.0', definition={
            'name': 'hello-fog3', 'images': [{'containerImage': 'nothere:1.0', 'fogTypeId': 1}]}, force=False))


def test_digest_is_for_state_absent(tmp_path):
    with pytest.raises(InputError, match='digest selects a manifest to delete: it goes with state=absent'):
        manager(MemoryRegistry()).run(dict(state='present', name='hello', digest='sha256:' + 'a' * 64, image='x.tar'))
