# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Reading members of an image archive that may be hostile, private to the collection.

A docker-save archive holds regular files only where the readers expect them (``manifest.json``, the image config,
the layers). A link, a directory or a device named like one of them is refused (``tarfile`` would follow a link to
another member, or fail with a ``KeyError``); so is a sparse member (a few KB on disk that expand to gigabytes).
Sizes are capped, declared and real, so that reading an archive never takes more memory than a JSON file of
:data:`MAX_JSON_BYTES`, whatever the archive claims.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.mimoe.edge.plugins.module_utils._errors import MimoeError

# The largest archive (the sum of the sizes its members declare) the readers accept. A mim image is a few MB to a
# few hundred; override with the environment variable MIMOE_EDGE_MAX_ARCHIVE_BYTES on the host that runs the task.
DEFAULT_MAX_ARCHIVE_BYTES = 1024 * 1024 * 1024
MAX_JSON_BYTES = 16 * 1024 * 1024
ENV_MAX_ARCHIVE_BYTES = 'MIMOE_EDGE_MAX_ARCHIVE_BYTES'


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
