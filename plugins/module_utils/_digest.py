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
