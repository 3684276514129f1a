# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Content digests of image archives and of node images, private to the collection.

One function per rule, so that the digest ``mimoe.edge.mim_package`` reports, the digest ``mimoe.edge.mcm_image``
compares with the node's, and the digest ``mimoe.edge.mcm_info``, the inventory plugin and the fleet report show are
the same by construction. Matching a node image with an archive is in ``_image_identity``.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import hashlib
import re

# A real node spells the algorithm ``sha265:``; it is normalised to ``sha256:`` (clients compare after the colon).
_FULL = re.compile(r'^sha2(?:56|65):([0-9a-f]{64})$', re.IGNORECASE)


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


def normalize_digest(value):
    """``sha256:<64 lowercase hex>``, or None for anything else (a node's answer is never trusted as a path)."""
    if not isinstance(value, str):
        return None
    match = _FULL.match(value.strip())
    return 'sha256:' + match.group(1).lower() if match else None


def _repo_digests(value):
    """Digests of ``repoDigests``: a list of ``name@sha256:...`` strings, or a list of such lists (seed 002)."""
    found = []
    for item in value if isinstance(value, list) else []:
        for text in item if isinstance(item, list) else [item]:
            if isinstance(text, str) and '@' in text:
                digest = normalize_digest(text.split('@', 1)[1])
                if digest:
                    found.append(digest)
    return found


def node_image_digest(node_image):
    """The normalised content digest a node reports for an image, or None.

    From ``digest``, else a full ``sha256:`` ``id``, else the first ``repoDigests`` entry. Which content it is the
    digest of (archive or config JSON) depends on the node: :func:`._image_identity.identity_matches` accepts either.
    """
    if not isinstance(node_image, dict):
        return None
    digests = node_digests(node_image)
    return digests[0] if digests else None


def node_digests(node_image):
    """Every well-formed digest a node reports for an image (``digest``, full ``sha256:`` ``id``, repoDigests)."""
    if not isinstance(node_image, dict):
        return []
    found = []
    for value in (node_image.get('digest'), node_image.get('id')):
        digest = normalize_digest(value)
        if digest and digest not in found:
            found.append(digest)
    for digest in _repo_digests(node_image.get('repoDigests')):
        if digest not in found:
            found.append(digest)
    return found


def checked_digest(value, what='digest'):
    """``value`` normalised to ``sha256:<64 lowercase hex>``, or :class:`ValueError` naming ``what``.

    The one check of a digest that came from a node, a registry or a file: call it before a digest is used to build
    a path (``<cache>/<hex>.tar``), a file name or a reference (a node could otherwise answer ``sha256:../../x``).
    """
    digest = normalize_digest(value)
    if digest is None:
        shown = repr(value)[:100]
        raise ValueError('%s %s is not a digest (sha256: followed by 64 hexadecimal digits): refused'
                         % (what, ''.join(c if 32 <= ord(c) < 127 else '?' for c in shown)))
    return digest


def is_digest(value):
    """Whether ``value`` passes :func:`checked_digest`."""
    return normalize_digest(value) is not None


def digest_hex(digest):
    """The hex part of a digest: ``sha256:abc`` -> ``abc``; also accepts a real node's ``sha265:`` spelling."""
    if not digest:
        return None
    digest = str(digest).strip().lower()
    if ':' in digest:
        digest = digest.split(':', 1)[1]
    return digest or None


def same_digest(one, other):
    """Compare two digests after the colon (``sha256:x`` equals ``sha265:x``)."""
    one, other = digest_hex(one), digest_hex(other)
    return one is not None and one == other
