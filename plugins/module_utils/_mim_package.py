# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Reproducible mim image archives (private to mimoe.edge; no stability guarantee for other users).

A mim image is the docker-save archive that mimik's packager (``@mimik/edge-ms-packager`` 1.1.5) writes::

    ./                         directory
    <layer id>/                directory
    <config sha256>.json       image config
    manifest.json              [{"Config": "<config sha256>.json", "RepoTags": ["<name>:<version>"],
                                 "Layers": ["<layer id>/layer.tar"]}]
    repositories               {"<name>": {"<version>": "<layer id>", "latest": "<layer id>"}}
    <layer id>/VERSION         1.0
    <layer id>/json            layer metadata
    <layer id>/layer.tar       a tar holding exactly index.js

The official packager draws ``<layer id>`` at random and stamps every member with the current time, so two runs
never give the same bytes. Here every identifier is derived from content and every timestamp is fixed, so the same
bundle, name and version always give the same archive, and its SHA-256 digest identifies the image:

- members in sorted order, USTAR format, owner 0:0 with empty user and group names, mode 0755 (directories) or
  0644 (files), mtime ``mtime`` (default 0, the Unix epoch; pass ``SOURCE_DATE_EPOCH`` to pin another time);
- ``<layer id>`` is the SHA-256 of ``layer.tar``;
- JSON documents are serialized with sorted keys and no whitespace; the config file is named after the SHA-256 of
  its bytes; its ``created`` and ``history[].created`` times are ``mtime``;
- the config carries the ``mimik.*`` labels that newer mimik packagers write in ``config.Labels``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import hashlib
import io
import json
import os
import re
import tarfile
import time

from ansible_collections.mimoe.edge.plugins.module_utils._errors import MimoeError
from ansible_collections.mimoe.edge.plugins.module_utils._digest import sha256_file

try:
    import yaml
    HAS_YAML = True
except ImportError:  # pragma: no cover - PyYAML ships with ansible-core on the controller
    yaml = None
    HAS_YAML = False


ENTRY = 'index.js'
LAYER_VERSION = b'1.0'
DEFAULT_BUNDLE = 'build/index.js'
DEFAULT_OUTPUT_FOLDER = 'deploy'
CONFIG_FILE = os.path.join('config', 'default.yml')

# docker reference grammar: a repository path component, and a tag.
NAME_RE = re.compile(r'^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$')
TAG_RE = re.compile(r'^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$')

# The image configuration of @mimik/edge-ms-packager 1.1.5 (payload/sha256ThisFile.json and payload/folderName/json),
# kept field for field so that a runtime that accepts the official archive finds the same fields in ours. Only
# config.Labels (the mimik.* labels), rootfs.diff_ids and the timestamps differ.
_CONTAINER_CONFIG = {
    'Hostname': '7ef9be9db974', 'Domainname': '', 'User': '', 'AttachStdin': False, 'AttachStdout': False,
    'AttachStderr': False, 'Tty': False, 'OpenStdin': False, 'StdinOnce': False,
    'Env': ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
    'Cmd': ['/bin/sh', '-c', '#(nop) ', 'CMD [""]'], 'ArgsEscaped': True,
    'Image': 'sha256:5440a3386bf6b2a1bab65d0cb1329ca6f97717961e649b59d8727de50d2d2717',
    'Volumes': None, 'WorkingDir': '', 'Entrypoint': None, 'OnBuild': None, 'Labels': {},
}
_RUN_CONFIG = {
    'Hostname': '', 'Domainname': '', 'User': '', 'AttachStdin': False, 'AttachStdout': False,
    'AttachStderr': False, 'Tty': False, 'OpenStdin': False, 'StdinOnce': False,
    'Env': ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
    'Cmd': [''], 'ArgsEscaped': True,
    'Image': 'sha256:5440a3386bf6b2a1bab65d0cb1329ca6f97717961e649b59d8727de50d2d2717',
    'Volumes': None, 'WorkingDir': '', 'Entrypoint': None, 'OnBuild': None, 'Labels': None,
}
_CONTAINER_ID = '7ef9be9db97470637da49e9944134af2003297e02b4dacc5921633965df8703e'
_DOCKER_VERSION = '18.09.7'


class MimPackageError(MimoeError):
    """A clear, user-facing reason why the image cannot be packaged."""


def _dumps(value):
    return json.dumps(value, sort_keys=True, separators=(',', ':'), ensure_ascii=True).encode('ascii')


def _sha256(data):
    return hashlib.sha256(data).hexdigest()


def iso_time(mtime):
    """RFC 3339 UTC time of an epoch second, as docker writes it in image configs."""
    return time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(mtime))


def labels(version):
    """The mimik.* labels of a JavaScript mim image."""
    return {
        'mimik.runtime': 'javascript',
        'mimik.version': version,
        'mimik.entry': ENTRY,
        'mimik.type': 'sandbox',
    }


def validate_name(name):
    if not isinstance(name, str) or not NAME_RE.match(name) or len(name) > 255:
        raise MimPackageError(
            'invalid image name %r: use lowercase letters, digits and separators (".", "_", "__", "-") between '
            'them, as in a docker repository name (for example hello-v1)' % (name,))
    return name


def validate_version(version):
    if not isinstance(version, str) or not TAG_RE.match(version):
        raise MimPackageError(
            'invalid image version %r: it becomes the image tag, which allows letters, digits, "_", "." and "-" '
            '(not starting with "." or "-", at most 128 characters)' % (version,))
    return version


def _add_member(tar, name, data, mtime, is_dir=False):
    info = tarfile.TarInfo(name)
    info.mtime = mtime
    info.uid = info.gid = 0
    info.uname = info.gname = ''
    if is_dir:
        info.type = tarfile.DIRTYPE
        info.mode = 0o755
        tar.addfile(info)
    else:
        info.type = tarfile.REGTYPE
        info.mode = 0o644
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))


def _tar(members, mtime):
    """A USTAR archive of (name, bytes or None for a directory) pairs, in sorted name order."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode='w', format=tarfile.USTAR_FORMAT) as tar:
        for name, data in sorted(members, key=lambda member: member[0]):
            _add_member(tar, name, data, mtime, is_dir=data is None)
    return buf.getvalue()


def build_image(bundle, name, version, mtime=0):
    """Build the image archive of a JavaScript bundle (bytes). Returns a dict with ``data`` (the archive bytes),
    ``digest``, ``size``, ``layer_id``, ``config_digest`` and ``repo_tag``. Same input, same bytes."""
    validate_name(name)
    validate_version(version)
    if not isinstance(bundle, bytes):
        raise TypeError('bundle must be bytes')
    if not isinstance(mtime, int) or isinstance(mtime, bool) or mtime < 0 or mtime > 0o77777777777:
        raise MimPackageError('invalid mtime %r: an integer number of seconds since the epoch, 0 or more' % (mtime,))
    created = iso_time(mtime)
    mim_labels = labels(version)

    layer_tar = _tar([(ENTRY, bundle)], mtime)
    layer_id = _sha256(layer_tar)

    run_config = copy.deepcopy(_RUN_CONFIG)
    run_config['Labels'] = mim_labels
    config = {
        'architecture': 'amd64',
        'config': run_config,
        'container': _CONTAINER_ID,
        'container_config': copy.deepcopy(_CONTAINER_CONFIG),
        'created': created,
        'docker_version': _DOCKER_VERSION,
        'history': [
            {'created': created, 'created_by': '/bin/sh -c #(nop) COPY file:%s in / ' % _sha256(bundle)},
            {'created': created, 'created_by': '/bin/sh -c #(nop)  CMD [""]', 'empty_layer': True},
        ],
        'os': 'linux',
        'rootfs': {'type': 'layers', 'diff_ids': ['sha256:' + layer_id]},
    }
    config_bytes = _dumps(config)
    config_digest = _sha256(config_bytes)
    config_name = config_digest + '.json'

    layer_json = {
        'id': layer_id,
        'created': created,
        'container': _CONTAINER_ID,
        'container_config': copy.deepcopy(_CONTAINER_CONFIG),
        'docker_version': _DOCKER_VERSION,
        'config': copy.deepcopy(run_config),
        'architecture': 'amd64',
        'os': 'linux',
    }
    repo_tag = '%s:%s' % (name, version)
    manifest = [{'Config': config_name, 'RepoTags': [repo_tag], 'Layers': [layer_id + '/layer.tar']}]
    repositories = {name: {version: layer_id, 'latest': layer_id}}

    data = _tar([
        ('.', None),
        (layer_id, None),
        (config_name, config_bytes),
        ('manifest.json', _dumps(manifest)),
        ('repositories', _dumps(repositories)),
        (layer_id + '/VERSION', LAYER_VERSION),
        (layer_id + '/json', _dumps(layer_json)),
        (layer_id + '/layer.tar', layer_tar),
    ], mtime)
    return {
        'data': data,
        'digest': 'sha256:' + _sha256(data),
        'size': len(data),
        'layer_id': layer_id,
        'config_digest': 'sha256:' + config_digest,
        'repo_tag': repo_tag,
    }


def _read_json(path, what):
    try:
        with open(path, 'rb') as handle:
            return json.loads(handle.read().decode('utf-8'))
    except (IOError, OSError) as exc:
        raise MimPackageError('cannot read %s %s: %s' % (what, path, exc))
    except ValueError as exc:
        raise MimPackageError('%s %s is not valid JSON: %s' % (what, path, exc))


def read_project(project_dir):
    """Read what the packager reads from a project: package.json (required) and the ``package`` section of
    config/default.yml (optional). Returns a dict with ``package`` and ``config`` (empty when absent)."""
    if not os.path.isdir(project_dir):
        raise MimPackageError('project directory %s does not exist' % project_dir)
    package_path = os.path.join(project_dir, 'package.json')
    if not os.path.isfile(package_path):
        raise MimPackageError('no package.json in %s: project_dir must be a Node.js project' % project_dir)
    package = _read_json(package_path, 'package file')
    if not isinstance(package, dict):
        raise MimPackageError('package file %s must hold a JSON object' % package_path)

    config = {}
    config_path = os.path.join(project_dir, CONFIG_FILE)
    if os.path.isfile(config_path):
        if not HAS_YAML:
            raise MimPackageError(
                'reading %s needs the Python library PyYAML on the host that runs the task; install it, or set '
                'name and bundle explicitly' % config_path)
        try:
            with open(config_path, 'rb') as handle:
                document = yaml.safe_load(handle.read().decode('utf-8'))
        except (IOError, OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            raise MimPackageError('cannot read the packager configuration %s: %s' % (config_path, exc))
        section = document.get('package') if isinstance(document, dict) else None
        if section is not None and not isinstance(section, dict):
            raise MimPackageError('the "package" section of %s must be a mapping' % config_path)
        config = section or {}
    return {'package': package, 'config': config}


def default_name(project):
    """``<imageName>-v<apiVersion>`` from config/default.yml, as mimik's packager names the image; without it,
    ``<package.json name without @scope/>-v1``."""
    config = project['config']
    image_name = config.get('imageName')
    if image_name is not None:
        api_version = config.get('apiVersion', 1)
        return '%s-v%s' % (image_name, api_version)
    package_name = project['package'].get('name')
    if not isinstance(package_name, str) or not package_name:
        raise MimPackageError('package.json has no "name" and config/default.yml no package.imageName: set name')
    return '%s-v1' % package_name.rsplit('/', 1)[-1]


def default_version(project):
    version = project['package'].get('version')
    if not isinstance(version, str) or not version:
        raise MimPackageError('package.json has no "version": set version')
    return version


def resolve(project_dir=None, bundle=None, name=None, version=None, dest=None):
    """Work out what to package and where, the way the packager does. Relative ``bundle`` and ``dest`` paths are
    taken from ``project_dir`` when it is given. Returns a dict with ``bundle``, ``name``, ``version``, ``dest``
    (the archive's path) and ``sources`` (where name and version came from)."""
    project = None
    if project_dir is not None:
        project_dir = os.path.abspath(project_dir)
        project = read_project(project_dir)
    elif bundle is None:
        raise MimPackageError('one of project_dir or bundle is required')

    def from_project(path):
        if project_dir is not None and not os.path.isabs(path):
            return os.path.normpath(os.path.join(project_dir, path))
        return os.path.abspath(path)

    sources = {}
    if name is None:
        if project is None:
            raise MimPackageError('name is required when project_dir is not given')
        name = default_name(project)
        sources['name'] = 'config/default.yml' if 'imageName' in project['config'] else 'package.json'
    else:
        sources['name'] = 'option'
    if version is None:
        if project is None:
            raise MimPackageError('version is required when project_dir is not given')
        version = default_version(project)
        sources['version'] = 'package.json'
    else:
        sources['version'] = 'option'
    validate_name(name)
    validate_version(version)

    if bundle is None:
        bundle = project['config'].get('imageIndexFilePath') or DEFAULT_BUNDLE
    bundle = from_project(bundle)
    if os.path.splitext(bundle)[1] != '.js':
        raise MimPackageError('bundle %s is not a JavaScript file (.js): only JavaScript mims are packaged' % bundle)
    if not os.path.isfile(bundle):
        raise MimPackageError(
            'build output %s not found: build the project first (npm run build), or point bundle at the file'
            % bundle)

    file_name = '%s-%s.tar' % (name, version)
    if dest is None:
        if project_dir is None:
            dest = os.path.join(os.path.dirname(bundle), file_name)
        else:
            dest = os.path.join(from_project(project['config'].get('outputFolder') or DEFAULT_OUTPUT_FOLDER),
                                file_name)
    else:
        is_dir = dest.endswith(('/', os.sep)) or os.path.isdir(from_project(dest))
        dest = from_project(dest)
        if is_dir:
            dest = os.path.join(dest, file_name)
    return {'bundle': bundle, 'name': name, 'version': version, 'dest': dest, 'sources': sources}


def package(project_dir=None, bundle=None, name=None, version=None, dest=None, mtime=0):
    """Resolve the inputs, read the bundle and build the archive. Returns resolve()'s dict plus build_image()'s,
    and ``current_digest`` (the digest of the file already at dest, or None)."""
    result = resolve(project_dir=project_dir, bundle=bundle, name=name, version=version, dest=dest)
    try:
        with open(result['bundle'], 'rb') as handle:
            data = handle.read()
    except (IOError, OSError) as exc:
        raise MimPackageError('cannot read the bundle %s: %s' % (result['bundle'], exc))
    if not data:
        raise MimPackageError('the bundle %s is empty' % result['bundle'])
    result.update(build_image(data, result['name'], result['version'], mtime=mtime))
    if os.path.isdir(result['dest']):
        raise MimPackageError('dest %s is a directory' % result['dest'])
    result['current_digest'] = ('sha256:' + sha256_file(result['dest'])) if os.path.isfile(result['dest']) else None
    return result
