# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What a run did (or, in check mode, would do): the one place where check mode is decided.

Managers receive a :class:`Recorder` instead of the module wrapper. Each write goes through :meth:`Recorder.change`,
so a real run and a dry run take the same path and report the same ``actions``; the primitive itself decides
whether to touch the node.

Private to the collection; the interface can change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class Recorder(object):
    """Actions, the ``changed`` flag and warnings of one module run.

    :ivar check_mode: when true, :meth:`change` records the action without applying it.
    :ivar actions: human-readable descriptions of what was (or would be) done, in order.
    :ivar warnings: texts for the module to pass to ``module.warn``.
    """

    def __init__(self, check_mode=False):
        self.check_mode = bool(check_mode)
        self.actions = []
        self.warnings = []
        self.changed = False

    def change(self, description, apply=None, *args, **kwargs):
        """Record ``description`` as a change and, unless in check mode, return ``apply(*args, **kwargs)``.

        In check mode (or without ``apply``) nothing runs and ``None`` is returned: callers that need a value
        after a write must not depend on it in check mode.
        """
        self.actions.append(description)
        self.changed = True
        if self.check_mode or apply is None:
            return None
        return apply(*args, **kwargs)

    def note(self, description):
        """Record an action that changes nothing on the node (for example a verified no-op); ``changed`` stays."""
        self.actions.append(description)

    def warn(self, text):
        if text not in self.warnings:
            self.warnings.append(text)
