# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Make ``ansible_collections.mimoe.edge`` importable for plain ``pytest tests/unit``.

Under ``ansible-test units`` (or any run from a ``.../ansible_collections/mimoe/edge`` tree) it already is.
Otherwise a private ``ansible_collections/mimoe/edge`` symlink to this checkout is put on ``sys.path``, so the
tests always exercise the current source (no copy to go stale) and parallel xdist workers share nothing.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _ensure_collection_importable():
    parts = ROOT.split(os.sep)
    if len(parts) >= 3 and parts[-3] == 'ansible_collections':
        base = os.sep.join(parts[:-3])
    else:
        base = tempfile.mkdtemp(prefix='mimoe-edge-unit-')
        os.makedirs(os.path.join(base, 'ansible_collections', 'mimoe'))
        link = os.path.join(base, 'ansible_collections', 'mimoe', 'edge')
        os.symlink(ROOT, link)
        atexit.register(_cleanup, base, link)
    if base not in sys.path:
        sys.path.insert(0, base)
    # Test helpers shared by the unit tests (mim_tar, fake_mcm).
    helpers = os.path.join(ROOT, 'tests', 'unit')
    if helpers not in sys.path:
        sys.path.insert(0, helpers)


def _cleanup(base, link):
    os.unlink(link)  # the symlink first, so nothing below the checkout can ever be removed
    shutil.rmtree(base, ignore_errors=True)


_ensure_collection_importable()
