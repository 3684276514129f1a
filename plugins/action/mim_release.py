# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Runs the module of the same name in-process on the controller (see plugins/plugin_utils/_in_process.py).
from __future__ import absolute_import, division, print_function
__metaclass__ = type
from ansible_collections.mimoe.edge.plugins.plugin_utils._in_process import InProcessModuleAction as ActionModule  # noqa: F401 pylint: disable=unused-import
# Imported here, in the controller's main process, before the workers fork: the collection loader compiles a
# module's source on every import (no bytecode cache), which each worker would otherwise pay per node.
from ansible_collections.mimoe.edge.plugins.modules import mim_release as _module  # noqa: F401 pylint: disable=unused-import
