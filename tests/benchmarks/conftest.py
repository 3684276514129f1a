# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The benchmarks are run with `python tests/benchmarks/run.py` (`make bench`), never collected by pytest."""

collect_ignore_glob = ['*']
