# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""mimoe.edge.mim_package and its packager (plugins/module_utils/_mim_package.py).

The archives are inspected here with tarfile and json directly, not with the code under test.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import itertools
import json
import os
import re
import tarfile
from unittest import mock

import pytest

from ansible.module_utils import basic
from ansible.module_utils.common.text.converters import to_bytes

from ansible_collections.mimoe.edge.plugins.module_utils import _mim_package as packager
from ansible_collections.mimoe.edge.plugins.module_utils._image_archive import inspect_image_tar
from ansible_collections.mimoe.edge.plugins.modules import mim_package

try:
    from ansible.module_utils.testing import patch_module_args
except ImportError:  # ansible-core < 2.19
    @contextlib.contextmanager
    def patch_module_args(args=None):
        payload = to_bytes(json.dumps({'ANSIBLE_MODULE_ARGS': args or {}}))
        with mock.patch.object(basic, '_ANSIBLE_ARGS', payload):
            yield

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
OFFICIAL_TAR = os.path.join(ROOT, 'examples', 'hello-mim', 'deploy', 'hello-v1-1.0.0.tar')
HEX64 = re.compile(r'^[0-9a-f]{64}$')
BUNDLE = b'mimikModule.exports = function (context, request, response) { response.end("hi"); };\n'
LABELS = {'mimik.runtime': 'javascript', 'mimik.version': '1.0.0', 'mimik.entry': 'index.js', 'mimik.type': 'sandbox'}


# ---------------------------------------------------------------------------------------------- helpers

def read_archive(data):
    """Members (name -> TarInfo) in archive order and file contents, of an archive given as bytes."""
    with tarfile.open(fileobj=io.BytesIO(data), mode='r:') as tar:
        infos = tar.getmembers()
        files = dict((m.name, tar.extractfile(m).read()) for m in infos if m.isfile())
    return infos, files


def layer_dir_of(files):
    manifest = json.loads(files['manifest.json'])
    return manifest[0]['Layers'][0].split('/')[0]


def make_project(root, name='hello', version='1.0.0', config=None, bundle=BUNDLE, bundle_path='build/index.js'):
    """A minimal Node.js project: package.json, optional config/default.yml, a built bundle."""
    root.mkdir(parents=True, exist_ok=True)
    package = {'name': name, 'version': version, 'scripts': {'build': 'true'}}
    (root / 'package.json').write_text(json.dumps(package))
    if config is not None:
        (root / 'config').mkdir()
        (root / 'config' / 'default.yml').write_text(config)
    if bundle is not None:
        path = root / bundle_path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(bundle)
    return root


class ModuleExit(Exception):
    def __init__(self, result, failed):
        super().__init__(result)
        self.result = result
        self.failed = failed


def run_module(args, check_mode=False, diff=False):
    """Run the module's main() in-process; returns its result dict (failed=True for fail_json)."""
    args = dict(args, _ansible_check_mode=check_mode, _ansible_diff=diff)

    def exit_json(self, **kwargs):
        raise ModuleExit(kwargs, False)

    def fail_json(self, msg, **kwargs):
        raise ModuleExit(dict(kwargs, msg=msg), True)

    with patch_module_args(args), \
            mock.patch.object(basic.AnsibleModule, 'exit_json', exit_json), \
            mock.patch.object(basic.AnsibleModule, 'fail_json', fail_json):
        with pytest.raises(ModuleExit) as info:
            mim_package.main()
    result = info.value.result
    result['failed'] = info.value.failed
    return result


# ---------------------------------------------------------------------------------------------- the archive

def test_same_input_same_bytes_and_digest_is_sha256_of_bytes():
    # the clock moves 1000 s between calls: nothing of "now" may reach the archive
    with mock.patch('time.time', side_effect=itertools.count(1700000000, 1000)):
        first = packager.build_image(BUNDLE, 'hello-v1', '1.0.0')
        second = packager.build_image(bytes(bytearray(BUNDLE)), 'hello-v1', '1.0.0')
    assert first['data'] == second['data']
    assert first['digest'] == 'sha256:' + hashlib.sha256(first['data']).hexdigest()
    assert first['size'] == len(first['data'])
    assert first['repo_tag'] == 'hello-v1:1.0.0'


@pytest.mark.parametrize('change', [
    dict(bundle=BUNDLE + b'// changed\n'),
    dict(name='hello-v2'),
    dict(version='1.0.1'),
    dict(mtime=1700000000),
])
def test_any_input_change_changes_the_digest(change):
    base = dict(bundle=BUNDLE, name='hello-v1', version='1.0.0', mtime=0)
    reference = packager.build_image(**base)['digest']
    assert packager.build_image(**dict(base, **change))['digest'] != reference


def test_layout_matches_the_docker_save_archive_of_the_mimik_packager():
    image = packager.build_image(BUNDLE, 'hello-v1', '1.0.0')
    infos, files = read_archive(image['data'])
    layer_id = layer_dir_of(files)
    layer_tar = files[layer_id + '/layer.tar']
    config_name = hashlib.sha256(files[json.loads(files['manifest.json'])[0]['Config']]).hexdigest() + '.json'

    # content-derived ids, sorted members
    assert layer_id == hashlib.sha256(layer_tar).hexdigest() == image['layer_id']
    names = [m.name for m in infos]
    assert names == sorted(names)
    assert sorted(names) == sorted(['.', layer_id, config_name, 'manifest.json', 'repositories',
                                    layer_id + '/VERSION', layer_id + '/json', layer_id + '/layer.tar'])
    # fixed metadata: USTAR, root-owned, no user names, fixed modes and mtime
    for info in infos:
        assert (info.uid, info.gid, info.uname, info.gname, info.mtime) == (0, 0, '', '', 0)
        assert info.mode == (0o755 if info.isdir() else 0o644)
        assert info.isdir() == (info.name in ('.', layer_id))
    assert image['data'][257:263] == b'ustar\x00'

    assert json.loads(files['manifest.json']) == [
        {'Config': config_name, 'RepoTags': ['hello-v1:1.0.0'], 'Layers': [layer_id + '/layer.tar']}]
    assert json.loads(files['repositories']) == {'hello-v1': {'1.0.0': layer_id, 'latest': layer_id}}
    assert files[layer_id + '/VERSION'] == b'1.0'

    config = json.loads(files[config_name])
    # sorted keys, no whitespace: the bytes are the canonical serialization
    assert files[config_name] == json.dumps(config, sort_keys=True, separators=(',', ':')).encode()
    assert config['config']['Labels'] == LABELS
    assert config['rootfs'] == {'type': 'layers', 'diff_ids': ['sha256:' + layer_id]}
    assert config['created'] == '1970-01-01T00:00:00Z'
    assert config['architecture'] == 'amd64' and config['os'] == 'linux'
    layer_json = json.loads(files[layer_id + '/json'])
    assert layer_json['id'] == layer_id
    assert layer_json['config']['Labels'] == LABELS

    with tarfile.open(fileobj=io.BytesIO(layer_tar), mode='r:') as layer:
        members = layer.getmembers()
        assert [m.name for m in members] == ['index.js']
        assert (members[0].mode, members[0].uid, members[0].mtime) == (0o644, 0, 0)
        assert layer.extractfile(members[0]).read() == BUNDLE


def test_mtime_sets_member_times_and_created():
    image = packager.build_image(BUNDLE, 'hello-v1', '1.0.0', mtime=1700000000)
    infos, files = read_archive(image['data'])
    assert {m.mtime for m in infos} == {1700000000}
    config = json.loads(files[json.loads(files['manifest.json'])[0]['Config']])
    assert config['created'] == '2023-11-14T22:13:20Z'


@pytest.mark.npm
def test_same_shape_as_the_official_packager_output():
    with open(OFFICIAL_TAR, 'rb') as handle:
        official_infos, official = read_archive(handle.read())
    with tarfile.open(fileobj=io.BytesIO(official[layer_dir_of(official) + '/layer.tar'])) as layer:
        bundle = layer.extractfile('index.js').read()
    infos, ours = read_archive(packager.build_image(bundle, 'hello-v1', '1.0.0')['data'])

    def pattern(name, layer_id):
        return re.sub(r'^[0-9a-f]{64}\.json$', '<sha>.json', name.replace(layer_id, '<id>'))

    assert sorted(pattern(m.name, layer_dir_of(official)) for m in official_infos) == \
        sorted(pattern(m.name, layer_dir_of(ours)) for m in infos)
    for files in (official, ours):
        layer_id = layer_dir_of(files)
        assert HEX64.match(layer_id)
        manifest = json.loads(files['manifest.json'])
        assert sorted(manifest[0]) == ['Config', 'Layers', 'RepoTags']
        assert manifest[0]['RepoTags'] == ['hello-v1:1.0.0']
        assert json.loads(files['repositories'])['hello-v1']['latest'] == layer_id
        assert files[layer_id + '/VERSION'] == b'1.0'
    official_config = json.loads(official[json.loads(official['manifest.json'])[0]['Config']])
    our_config = json.loads(ours[json.loads(ours['manifest.json'])[0]['Config']])
    assert sorted(our_config) == sorted(official_config)
    assert sorted(our_config['config']) == sorted(official_config['config'])
    assert official_config['config']['Labels'] is None and our_config['config']['Labels'] == LABELS
    assert sorted(json.loads(ours[layer_dir_of(ours) + '/json'])) == \
        sorted(json.loads(official[layer_dir_of(official) + '/json']))


def test_the_mcm_modules_accept_the_archive(tmp_path):
    path = tmp_path / 'hello-v1-1.0.0.tar'
    image = packager.build_image(BUNDLE, 'hello-v1', '1.0.0')
    path.write_bytes(image['data'])
    info = inspect_image_tar(str(path))
    assert info['name'] == 'hello-v1'
    assert info['digest'] == image['digest']


@pytest.mark.parametrize('name', ['Hello-v1', 'hello v1', '-hello', 'hello-', 'hello/v1', ''])
def test_invalid_names_are_refused(name):
    with pytest.raises(packager.MimPackageError, match='invalid image name'):
        packager.build_image(BUNDLE, name, '1.0.0')


@pytest.mark.parametrize('version', ['1.0.0+build.5', '.1', '-1', 'v' * 129, ''])
def test_invalid_versions_are_refused(version):
    with pytest.raises(packager.MimPackageError, match='invalid image version'):
        packager.build_image(BUNDLE, 'hello-v1', version)


@pytest.mark.parametrize('mtime', [-1, 8 ** 11, True])
def test_invalid_mtime_is_refused(mtime):
    with pytest.raises(packager.MimPackageError, match='invalid mtime'):
        packager.build_image(BUNDLE, 'hello-v1', '1.0.0', mtime=mtime)


# ---------------------------------------------------------------------------------------------- project resolution

def test_name_from_config_image_name_and_api_version(tmp_path):
    project = make_project(tmp_path / 'p', name='pkg', config='package:\n  imageName: hello\n  apiVersion: 2\n')
    resolved = packager.resolve(project_dir=str(project))
    assert resolved['name'] == 'hello-v2'
    assert resolved['sources'] == {'name': 'config/default.yml', 'version': 'package.json'}


def test_name_from_config_defaults_to_v1_and_package_json_version(tmp_path):
    project = make_project(tmp_path / 'p', name='pkg', version='2.3.4', config='package:\n  imageName: hello\n')
    resolved = packager.resolve(project_dir=str(project))
    assert (resolved['name'], resolved['version']) == ('hello-v1', '2.3.4')
    assert resolved['dest'] == str(project / 'deploy' / 'hello-v1-2.3.4.tar')
    assert resolved['bundle'] == str(project / 'build' / 'index.js')


def test_name_from_package_json_without_scope(tmp_path):
    project = make_project(tmp_path / 'p', name='@acme/counter')
    assert packager.resolve(project_dir=str(project))['name'] == 'counter-v1'


def test_explicit_name_and_version_win(tmp_path):
    project = make_project(tmp_path / 'p', config='package:\n  imageName: hello\n')
    resolved = packager.resolve(project_dir=str(project), name='other-v3', version='9.9.9')
    assert (resolved['name'], resolved['version']) == ('other-v3', '9.9.9')
    assert resolved['sources'] == {'name': 'option', 'version': 'option'}


def test_config_bundle_and_output_folder_are_used(tmp_path):
    config = 'package:\n  imageName: hello\n  imageIndexFilePath: ./dist/main.js\n  outputFolder: ./out\n'
    project = make_project(tmp_path / 'p', config=config, bundle_path='dist/main.js')
    resolved = packager.resolve(project_dir=str(project))
    assert resolved['bundle'] == str(project / 'dist' / 'main.js')
    assert resolved['dest'] == str(project / 'out' / 'hello-v1-1.0.0.tar')


def test_dest_directory_file_and_relative_forms(tmp_path):
    project = make_project(tmp_path / 'p')
    (tmp_path / 'existing').mkdir()
    resolve = packager.resolve
    assert resolve(project_dir=str(project), dest=str(tmp_path / 'existing'))['dest'] == \
        str(tmp_path / 'existing' / 'hello-v1-1.0.0.tar')
    assert resolve(project_dir=str(project), dest=str(tmp_path / 'new') + '/')['dest'] == \
        str(tmp_path / 'new' / 'hello-v1-1.0.0.tar')
    assert resolve(project_dir=str(project), dest=str(tmp_path / 'x.tar'))['dest'] == str(tmp_path / 'x.tar')
    assert resolve(project_dir=str(project), dest='images/')['dest'] == str(project / 'images' / 'hello-v1-1.0.0.tar')


def test_bundle_without_project_needs_name_and_version(tmp_path):
    bundle = tmp_path / 'index.js'
    bundle.write_bytes(BUNDLE)
    with pytest.raises(packager.MimPackageError, match='name is required'):
        packager.resolve(bundle=str(bundle), version='1.0.0')
    with pytest.raises(packager.MimPackageError, match='version is required'):
        packager.resolve(bundle=str(bundle), name='hello-v1')
    resolved = packager.resolve(bundle=str(bundle), name='hello-v1', version='1.0.0')
    assert resolved['dest'] == str(tmp_path / 'hello-v1-1.0.0.tar')


@pytest.mark.parametrize('setup, message', [
    (lambda p: p, 'project directory .* does not exist'),
    (lambda p: (p.mkdir(), p)[1], 'no package.json in'),
    (lambda p: (p.mkdir(), (p / 'package.json').write_text('{nope'), p)[2], 'is not valid JSON'),
    (lambda p: (p.mkdir(), (p / 'package.json').write_text('[]'), p)[2], 'must hold a JSON object'),
    (lambda p: make_project(p, bundle=None), r'build output .*build/index\.js not found: build the project first'),
    (lambda p: make_project(p, config='package: [1]\n'), 'must be a mapping'),
    (lambda p: make_project(p, config='package: {imageName: [\n'), 'cannot read the packager configuration'),
    (lambda p: (make_project(p), (p / 'package.json').write_text('{"name": "x"}'), p)[2], 'has no "version"'),
    (lambda p: (make_project(p), (p / 'package.json').write_text('{"version": "1.0.0"}'), p)[2], 'has no "name"'),
])
def test_project_errors_are_clear(tmp_path, setup, message):
    project = setup(tmp_path / 'p')
    with pytest.raises(packager.MimPackageError, match=message):
        packager.resolve(project_dir=str(project))


def test_non_javascript_bundle_is_refused(tmp_path):
    project = make_project(tmp_path / 'p', bundle_path='build/index.wasm')
    with pytest.raises(packager.MimPackageError, match='not a JavaScript file'):
        packager.resolve(project_dir=str(project), bundle='build/index.wasm')


# ---------------------------------------------------------------------------------------------- the module

def test_module_writes_once_then_reports_unchanged(tmp_path):
    project = make_project(tmp_path / 'p')
    first = run_module({'project_dir': str(project)})
    path = project / 'deploy' / 'hello-v1-1.0.0.tar'
    data = path.read_bytes()
    assert not first['failed'] and first['changed'] is True
    assert first['path'] == str(path)
    assert first['digest'] == 'sha256:' + hashlib.sha256(data).hexdigest()
    assert (first['name'], first['version'], first['repo_tag'], first['size']) == \
        ('hello-v1', '1.0.0', 'hello-v1:1.0.0', len(data))
    assert first['layer_id'] == layer_dir_of(read_archive(data)[1])
    assert first['bundle'] == str(project / 'build' / 'index.js')
    assert not [n for n in os.listdir(str(project / 'deploy')) if n.endswith('.tmp')]

    inode = path.stat().st_ino
    second = run_module({'project_dir': str(project)})
    assert second['changed'] is False
    assert second['digest'] == first['digest']
    assert path.stat().st_ino == inode  # not rewritten


def test_module_rewrites_when_the_bundle_changes(tmp_path):
    project = make_project(tmp_path / 'p')
    first = run_module({'project_dir': str(project)})
    (project / 'build' / 'index.js').write_bytes(BUNDLE + b'// v2\n')
    second = run_module({'project_dir': str(project)}, diff=True)
    assert second['changed'] is True
    assert second['digest'] != first['digest']
    assert second['diff'] == {'before': {'digest': first['digest']}, 'after': {'digest': second['digest']}}
    data = (project / 'deploy' / 'hello-v1-1.0.0.tar').read_bytes()
    assert second['digest'] == 'sha256:' + hashlib.sha256(data).hexdigest()


def test_module_replaces_a_corrupt_file(tmp_path):
    project = make_project(tmp_path / 'p')
    (project / 'deploy').mkdir()
    (project / 'deploy' / 'hello-v1-1.0.0.tar').write_bytes(b'garbage')
    result = run_module({'project_dir': str(project)})
    assert result['changed'] is True
    assert (project / 'deploy' / 'hello-v1-1.0.0.tar').read_bytes() != b'garbage'


def test_check_mode_predicts_without_writing(tmp_path):
    project = make_project(tmp_path / 'p')
    predicted = run_module({'project_dir': str(project)}, check_mode=True)
    assert predicted['changed'] is True
    assert not (project / 'deploy').exists()
    real = run_module({'project_dir': str(project)})
    assert real['digest'] == predicted['digest']
    again = run_module({'project_dir': str(project)}, check_mode=True)
    assert again['changed'] is False


def test_module_bundle_name_version_dest_and_mode(tmp_path):
    bundle = tmp_path / 'index.js'
    bundle.write_bytes(BUNDLE)
    args = {'bundle': str(bundle), 'name': 'solo-v1', 'version': '0.1.0', 'dest': str(tmp_path / 'out') + '/',
            'mode': '0600', 'mtime': 1700000000}
    result = run_module(args)
    path = tmp_path / 'out' / 'solo-v1-0.1.0.tar'
    assert result['changed'] is True and result['path'] == str(path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert run_module(args)['changed'] is False
    assert run_module(dict(args, mode='0640'))['changed'] is True
    assert path.stat().st_mode & 0o777 == 0o640


def test_module_fails_clearly(tmp_path):
    project = make_project(tmp_path / 'p', bundle=None)
    result = run_module({'project_dir': str(project)})
    assert result['failed'] is True
    assert 'build output' in result['msg'] and 'not found' in result['msg']
    result = run_module({'name': 'x-v1'})
    assert result['failed'] is True
    assert 'one of the following is required: project_dir, bundle' in result['msg']
