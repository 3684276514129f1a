# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Content digests of image archives, private to the collection.

One function, so that the digest ``mimoe.edge.mim_package`` reports and the digest ``mimoe.edge.mcm_image``
compares with the node's are the same by construction.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import hashlib
import re


def sha256_file(path, chunk_size=1024 * 1024):
    """Hex SHA-256 of a file, read in chunks (never the whole file in memory)."""
    digest = hashlib.sha256()
    with open(path, 'rb') as handle:
        while True:
            chunk = handle.read(chunk_size)
            if not chunk:
                break
            digest.update(chunk)
    return digest.hexdigest()


# What a digest must look like before it becomes part of a path or a name on the controller (a node or a registry
# could otherwise answer ``sha256:../../x``). A real node spells the algorithm ``sha265`` in places.
_DIGEST_RE = re.compile(r'^sha2(56|65):[0-9a-fA-F]{64}$')


def checked_digest(value, what='digest'):
    """``value`` normalised to ``sha256:<64 lowercase hex>``, or :class:`ValueError` naming ``what``.

    The one check of a digest that came from a node, a registry or a file: call it before a digest is used to build
    a path (``<cache>/<hex>.tar``), a file name or a reference.
    """
    if not isinstance(value, str) or not _DIGEST_RE.match(value.strip()):
        shown = repr(value)[:100]
        raise ValueError('%s %s is not a digest (sha256: followed by 64 hexadecimal digits): refused'
                         % (what, ''.join(c if 32 <= ord(c) < 127 else '?' for c in shown)))
    return 'sha256:' + value.strip().split(':', 1)[1].lower()


def is_digest(value):
    """Whether ``value`` passes :func:`checked_digest`."""
    try:
        checked_digest(value)
    except ValueError:
        return False
    return True
