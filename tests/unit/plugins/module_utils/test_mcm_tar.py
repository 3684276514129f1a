# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Local image archive validation and digests."""

from __future__ import annotations

import hashlib
import os

import pytest

from ansible_collections.mimoe.edge.plugins.module_utils._digest import digest_hex, same_digest
from ansible_collections.mimoe.edge.plugins.module_utils._image_archive import (
    ImageArchiveError,
    file_digest,
    image_matches,
    image_name_from_tag,
    inspect_image_tar,
)
from ansible_collections.mimoe.edge.plugins.module_utils._mcm_client import image_digest

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
    with pytest.raises(ImageArchiveError) as info:
        inspect_image_tar(str(path))
    assert str(path) in str(info.value)
    assert 'not a valid mim image archive' in str(info.value)


def test_not_a_tar(tmp_path):
    path = tmp_path / 'junk.tar'
    path.write_bytes(b'\x00garbage' * 20)
    with pytest.raises(ImageArchiveError, match='not a valid mim image archive'):
        inspect_image_tar(str(path))


def test_missing_file(tmp_path):
    with pytest.raises(ImageArchiveError, match='does not exist') as info:
        inspect_image_tar(str(tmp_path / 'nope.tar'))
    assert 'delegate_to: localhost' in info.value.hint


def test_directory_is_refused(tmp_path):
    with pytest.raises(ImageArchiveError, match='not a regular file'):
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
    with pytest.raises(ImageArchiveError) as info:
        inspect_image_tar(path)
    assert message in str(info.value)


def test_layer_without_entry_file(tmp_path):
    path = build_tar(str(tmp_path / 'n.tar'), layer_files={'other.js': b'x'})
    with pytest.raises(ImageArchiveError, match='no layer holds the entry file index.js'):
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


# ---------------------------------------------------------------- issue 15: hostile archives

import io  # noqa: E402  pylint: disable=wrong-import-position
import json  # noqa: E402  pylint: disable=wrong-import-position
import subprocess  # noqa: E402  pylint: disable=wrong-import-position
import sys  # noqa: E402  pylint: disable=wrong-import-position
import tarfile  # noqa: E402  pylint: disable=wrong-import-position

from ansible_collections.mimoe.edge.plugins.module_utils._image_archive import (  # noqa: E402
    ArchiveMemberError, read_small,
)
from ansible_collections.mimoe.edge.plugins.module_utils._digest import checked_digest, is_digest  # noqa: E402


def _members_of(data):
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return [(m, tar.extractfile(m).read() if m.isfile() else None) for m in tar.getmembers()]


def _replace_member(path, target, kind):
    """A copy of a good archive where the member ``target`` (manifest, config or layer) is a link, a directory or a
    device instead of a file, pointing (links) at another member."""
    good = build_tar(None)
    members = _members_of(good)
    names = [m.name for m, _data in members]
    if target == 'manifest':
        victim = 'manifest.json'
    elif target == 'config':
        victim = [n for n in names if n.endswith('.json') and n != 'manifest.json' and '/' not in n][0]
    else:
        victim = [n for n in names if n.endswith('/layer.tar')][0]
    with tarfile.open(path, 'w') as tar:
        for member, data in members:
            if member.name != victim:
                tar.addfile(member, io.BytesIO(data))
                continue
            info = tarfile.TarInfo(victim)
            info.type = {'symlink': tarfile.SYMTYPE, 'hardlink': tarfile.LNKTYPE, 'directory': tarfile.DIRTYPE,
                         'device': tarfile.CHRTYPE, 'fifo': tarfile.FIFOTYPE}[kind]
            if kind in ('symlink', 'hardlink'):
                info.linkname = 'repositories' if kind == 'hardlink' else '../../../etc/passwd'
            tar.addfile(info)
    return str(path)


@pytest.mark.parametrize('target', ['manifest', 'config', 'layer'])
@pytest.mark.parametrize('kind', ['symlink', 'hardlink', 'directory', 'device', 'fifo'])
def test_link_directory_and_device_members_are_refused_without_traceback(tmp_path, target, kind):
    path = _replace_member(tmp_path / 'evil.tar', target, kind)
    with pytest.raises(ImageArchiveError) as info:
        inspect_image_tar(path)
    words = {'symlink': 'a symbolic link', 'hardlink': 'a hard link', 'directory': 'a directory',
             'device': 'a device', 'fifo': 'a FIFO'}[kind]
    assert '%s, not a file' % words in str(info.value), str(info.value)


def _sparse_archive(tmp_path, size=1024 ** 3):
    """An archive of a few KB whose layer is a GNU sparse file declaring ``size`` bytes (GNU tar --sparse)."""
    good = build_tar(None)
    root = tmp_path / 'sparse-root'
    root.mkdir()
    layer_name = None
    for member, data in _members_of(good):
        target = root / member.name
        target.parent.mkdir(parents=True, exist_ok=True)
        if member.name.endswith('/layer.tar'):
            layer_name = member.name
            with open(target, 'wb') as handle:
                handle.truncate(size)
        else:
            target.write_bytes(data)
    archive = tmp_path / 'sparse.tar'
    subprocess.run(['tar', '--sparse', '--format=gnu', '-cf', str(archive), '-C', str(root), '.'], check=True)
    assert archive.stat().st_size < 1024 * 1024
    return str(archive), layer_name


def test_sparse_gigabyte_layer_is_refused(tmp_path):
    path, _layer = _sparse_archive(tmp_path)
    with pytest.raises(ImageArchiveError, match='more than the limit of 1073741824 bytes'):
        inspect_image_tar(path)


def test_sparse_member_is_refused_even_under_a_raised_limit(tmp_path, monkeypatch):
    path, _layer = _sparse_archive(tmp_path, size=64 * 1024 * 1024)
    monkeypatch.setenv('MIMOE_EDGE_MAX_ARCHIVE_BYTES', str(4 * 1024 ** 3))
    with pytest.raises(ImageArchiveError, match='a sparse file, not a file'):
        inspect_image_tar(path)


def test_archive_limit_is_configurable(tmp_path, monkeypatch):
    path = build_tar(str(tmp_path / 'a.tar'))
    monkeypatch.setenv('MIMOE_EDGE_MAX_ARCHIVE_BYTES', '1000')
    with pytest.raises(ImageArchiveError, match='more than the limit of 1000 bytes .set MIMOE_EDGE_MAX_ARCHIVE_BYTES'):
        inspect_image_tar(path)


def test_small_members_are_read_with_a_cap(tmp_path):
    path = build_tar(str(tmp_path / 'a.tar'))
    with tarfile.open(path) as tar:
        member = tar.getmember('manifest.json')
        assert json.loads(read_small(tar, member, 'manifest'))
        with pytest.raises(ArchiveMemberError, match='more than the limit of 10 bytes'):
            read_small(tar, member, 'manifest', limit=10)


_MEASURE = r'''
import resource, sys
from ansible_collections.mimoe.edge.plugins.module_utils._image_archive import ImageArchiveError, inspect_image_tar
try:
    inspect_image_tar(sys.argv[1])
except ImageArchiveError as exc:
    print(exc)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
'''


def test_peak_memory_with_a_sparse_gigabyte_archive(tmp_path):
    """Measured in a child process (ru_maxrss), with the 1 GiB limit raised: the reader never expands the layer."""
    path, _layer = _sparse_archive(tmp_path)
    env = dict(os.environ, MIMOE_EDGE_MAX_ARCHIVE_BYTES=str(8 * 1024 ** 3), PYTHONPATH=os.pathsep.join(sys.path))
    out = subprocess.run([sys.executable, '-c', _MEASURE, path], env=env, check=True, capture_output=True,
                         text=True).stdout.split('\n')
    assert 'sparse file' in out[0], out
    assert int(out[-2]) < 300, out  # MB


@pytest.mark.parametrize('value', ['sha256:../../../outside-private', 'sha256:' + 'a' * 63, 'md5:' + 'a' * 64,
                                   'sha256:' + 'g' * 64, None, 5, ['sha256:' + 'a' * 64], 'sha256:%s\n' % ('a' * 63)])
def test_checked_digest_refuses_what_is_not_a_digest(value):
    assert not is_digest(value)
    with pytest.raises(ValueError, match='is not a digest'):
        checked_digest(value, 'image digest')


def test_checked_digest_normalises_a_real_digest():
    assert checked_digest('sha265:' + 'AB' * 32) == 'sha256:' + 'ab' * 32
    assert checked_digest('sha256:' + 'a' * 64) == 'sha256:' + 'a' * 64


def test_node_digest_that_is_a_path_is_not_reported():
    assert image_digest({'digest': 'sha256:../../../outside-private'}) is None
    assert image_digest({'id': 'sha256:../x', 'repoDigests': ['a@sha256:../../y']}) is None
