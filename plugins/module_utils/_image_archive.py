# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Reading image archives (docker-save ``.tar`` files of mims), private to the collection.

The reader next to the writer (``_mim_package``): :func:`inspect_image_tar` validates an archive and describes it
(name, tags, entry file, digests) before anything is sent to a node or a registry; :func:`image_name_from_tag` is
the one rule that turns a RepoTag into the image name a node uses. Nothing here talks to the network, so the catalog
and ``mim_package_info`` read archives without the HTTP clients.

An archive may be hostile. A docker-save archive holds regular files only where the readers expect them
(``manifest.json``, the image config, the layers). A link, a directory or a device named like one of them is refused
(``tarfile`` would follow a link to another member, or fail with a ``KeyError``); so is a sparse member (a few KB on
disk that expand to gigabytes). Sizes are capped, declared and real, so that reading an archive never takes more
memory than a JSON file of :data:`MAX_JSON_BYTES`, whatever the archive claims.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os
import tarfile
import zlib

from ansible_collections.mimoe.edge.plugins.module_utils._digest import sha256_file
from ansible_collections.mimoe.edge.plugins.module_utils._errors import MimoeError

_CHUNK = 1024 * 1024

# The largest archive (the sum of the sizes its members declare) the readers accept. A mim image is a few MB to a
# few hundred; override with the environment variable MIMOE_EDGE_MAX_ARCHIVE_BYTES on the host that runs the task.
DEFAULT_MAX_ARCHIVE_BYTES = 1024 * 1024 * 1024
MAX_JSON_BYTES = 16 * 1024 * 1024
ENV_MAX_ARCHIVE_BYTES = 'MIMOE_EDGE_MAX_ARCHIVE_BYTES'


class ImageArchiveError(MimoeError):
    """A local image archive is missing, unreadable, or not a docker-save archive."""


class ArchiveMemberError(MimoeError):
    """A member that is not what the reader expects; the message says which member and why."""


def max_archive_bytes():
    """The archive size limit: :data:`DEFAULT_MAX_ARCHIVE_BYTES`, or the environment variable when it is a number."""
    value = os.environ.get(ENV_MAX_ARCHIVE_BYTES, '').strip()
    if value.isdigit() and int(value) > 0:
        return int(value)
    return DEFAULT_MAX_ARCHIVE_BYTES


def kind_of(member):
    if member.issym():
        return 'a symbolic link'
    if member.islnk():
        return 'a hard link'
    if member.isdir():
        return 'a directory'
    if member.ischr() or member.isblk():
        return 'a device'
    if member.isfifo():
        return 'a FIFO'
    if member.issparse():
        return 'a sparse file'
    if not member.isfile():
        return 'not a regular file'
    return 'a file'


def check_members(members, limit=None):
    """Refuse an archive whose members declare more than ``limit`` bytes in all (default :func:`max_archive_bytes`).

    :raises ArchiveMemberError:
    """
    limit = limit or max_archive_bytes()
    total = sum(max(0, member.size) for member in members)
    if total > limit:
        raise ArchiveMemberError('its members declare %d bytes, more than the limit of %d bytes (set %s to raise it)'
                                 % (total, limit, ENV_MAX_ARCHIVE_BYTES))


def regular_member(tar, member, what):
    """A file object for ``member``, which must be a regular file (not a link, directory, device or sparse file).

    :raises ArchiveMemberError:
    """
    kind = kind_of(member)
    if kind != 'a file':
        raise ArchiveMemberError('%s %s is %s, not a file' % (what, member.name, kind))
    handle = tar.extractfile(member)
    if handle is None:  # pragma: no cover - a regular member always has a file object
        raise ArchiveMemberError('%s %s cannot be read' % (what, member.name))
    return handle


def read_small(tar, member, what, limit=MAX_JSON_BYTES):
    """The bytes of a small regular member (``manifest.json``, an image config), at most ``limit`` of them.

    :raises ArchiveMemberError: for a member that is not a file, larger than ``limit`` or truncated.
    """
    if member.size > limit:
        raise ArchiveMemberError('%s %s is %d bytes, more than the limit of %d bytes'
                                 % (what, member.name, member.size, limit))
    data = regular_member(tar, member, what).read(limit + 1)
    if len(data) != member.size:
        raise ArchiveMemberError('%s %s is truncated' % (what, member.name))
    return data


def file_digest(path):
    """``sha256:<hex>`` of a file, read in chunks (never the whole file in memory)."""
    try:
        return 'sha256:' + sha256_file(path, _CHUNK)
    except (IOError, OSError) as exc:
        raise ImageArchiveError('Cannot read image archive %s: %s' % (path, exc),
                                hint='check that src points to a readable file on the host that runs the task')


def image_name_from_tag(tag):
    """Repository part of a RepoTag: ``hello-v1:1.0.0`` -> ``hello-v1``; ``reg:5000/x`` -> ``reg:5000/x``."""
    if ':' in tag:
        repo, version = tag.rsplit(':', 1)
        if '/' not in version:
            return repo
    return tag


def image_matches(image, name):
    """Whether a node image is the one called ``name`` (by name, id, or a RepoTag repository)."""
    if not isinstance(image, dict):
        return False
    if image.get('name') == name or image.get('id') == name:
        return True
    for tag in image.get('repoTags') or []:
        if isinstance(tag, str) and image_name_from_tag(tag) == name:
            return True
    return False


def inspect_image_tar(path):
    """Validate a docker-save image archive and describe it.

    Checks, before anything is sent to a node: the file is a complete tar archive; it holds
    ``manifest.json`` with at least one entry with ``RepoTags`` and ``Layers``; every layer
    listed is in the archive and is itself a readable tar; one layer holds the entry file
    (``mimik.entry`` label of the image config, ``index.js`` by default).

    :returns: dict with ``name`` (from the first RepoTag that is not ``runtime:*``), ``repo_tag`` (that RepoTag),
              ``version`` (its tag part, or None), ``repo_tags``, ``entry``, ``digest`` (``sha256:`` of the archive
              bytes), ``config_digest`` (``sha256:`` of the image config JSON named by manifest.json's ``Config``:
              the Docker image id, which is what legacy nodes report as the image ``id``; None without a config)
              and ``size``.
    :raises ImageArchiveError: with a message that names the archive and the problem.
    """
    def fail(reason):
        raise ImageArchiveError('%s is not a valid mim image archive (docker-save layout): %s' % (path, reason),
                                hint='build it with the mimik packager (npm run package) or docker save')

    if not os.path.exists(path):
        raise ImageArchiveError('Image archive %s does not exist' % path,
                                hint='src is read on the host that runs the task; with delegate_to: localhost '
                                     'that is the controller')
    if not os.path.isfile(path):
        fail('not a regular file')

    try:
        with tarfile.open(path, 'r:') as tar:
            members = {}
            for member in tar.getmembers():  # reads every header: a truncated archive fails here
                members[member.name[2:] if member.name.startswith('./') else member.name] = member
            check_members(tar.getmembers())
            if 'manifest.json' not in members:
                fail('manifest.json is missing')
            try:
                manifest = json.loads(read_small(tar, members['manifest.json'], 'manifest').decode('utf-8'))
            except ValueError as exc:
                fail('manifest.json is not valid JSON (%s)' % exc)
            if not isinstance(manifest, list) or not manifest or not isinstance(manifest[0], dict):
                fail('manifest.json must be a non-empty list of objects')
            entry = manifest[0]
            repo_tags = entry.get('RepoTags')
            layers = entry.get('Layers')
            if not isinstance(repo_tags, list) or not repo_tags or not all(isinstance(t, str) for t in repo_tags):
                fail('manifest.json has no RepoTags (the node names the image after its first RepoTag)')
            if not isinstance(layers, list) or not layers:
                fail('manifest.json has no Layers')

            entry_file = 'index.js'
            config_digest = None
            config_name = entry.get('Config')
            if isinstance(config_name, str) and config_name in members:
                try:
                    raw_config = read_small(tar, members[config_name], 'image config')
                    # The Docker image id is the digest of these exact bytes, whatever the file is called.
                    config_digest = 'sha256:' + hashlib.sha256(raw_config).hexdigest()
                    config = json.loads(raw_config.decode('utf-8'))
                    labels = (config.get('config') or {}).get('Labels') or {}
                    if isinstance(labels.get('mimik.entry'), str) and labels['mimik.entry']:
                        entry_file = labels['mimik.entry']
                except (ValueError, AttributeError):
                    fail('image config %s is not valid JSON' % config_name)

            found_entry = False
            for layer in layers:
                if not isinstance(layer, str) or layer not in members:
                    fail('layer %s listed in manifest.json is not in the archive' % layer)
                # Streamed, never read whole: a layer may declare far more bytes than memory holds.
                data = regular_member(tar, members[layer], 'layer')
                try:
                    with tarfile.open(fileobj=data, mode='r:') as layer_tar:
                        names = [n[2:] if n.startswith('./') else n for n in layer_tar.getnames()]
                except (tarfile.TarError, EOFError) as exc:
                    fail('layer %s is not a readable tar (%s)' % (layer, exc))
                if entry_file in names:
                    found_entry = True
            if not found_entry:
                fail('no layer holds the entry file %s' % entry_file)
    except ArchiveMemberError as exc:
        fail(str(exc))
    except (tarfile.TarError, EOFError, zlib.error) as exc:
        fail('unreadable or truncated tar (%s)' % exc)
    except (IOError, OSError) as exc:
        raise ImageArchiveError('Cannot read image archive %s: %s' % (path, exc))

    names = [t for t in repo_tags if not t.startswith('runtime:')] or repo_tags
    name = image_name_from_tag(names[0])
    return dict(
        name=name,
        repo_tag=names[0],
        version=names[0][len(name) + 1:] if name != names[0] else None,
        repo_tags=repo_tags,
        entry=entry_file,
        digest=file_digest(path),
        config_digest=config_digest,
        size=os.path.getsize(path),
    )
