# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The one error root of the collection.

Every failure a module can report derives from :class:`MimoeError`, so a module fails from any of them the same
way (``MCMModule.fail_from``): ``msg`` is the message plus its hint, ``error`` the structured details.

Private to the collection; the interface can change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class MimoeError(Exception):
    """A failure with a user-facing message.

    :ivar message: what went wrong (names the field, node or registry involved).
    :ivar hint: what the user can do about it, or ``None``.
    :ivar status: the HTTP status when a remote answered, else ``None``.
    :ivar method: the HTTP method of the failed call, if any.
    :ivar url: the URL of the failed call, if any (never carries credentials).
    """

    def __init__(self, message, hint=None, status=None, method=None, url=None):
        self.message = message
        self.hint = hint
        self.status = status
        self.method = method
        self.url = url
        super(MimoeError, self).__init__(self.__str__())

    def __str__(self):
        text = self.message if isinstance(self.message, str) else str(self.message)
        if self.hint:
            text = '%s. Hint: %s' % (text.rstrip('.'), self.hint)
        return text

    def to_dict(self):
        """What modules return as ``error`` next to ``msg``; subclasses add their own fields."""
        return dict(status=self.status, hint=self.hint, method=self.method, url=self.url)


class InputError(MimoeError, ValueError):
    """Bad user input; the message names the field and the fix. Nothing was sent anywhere."""

    def __init__(self, message, hint=None):
        super(InputError, self).__init__(message, hint=hint)


class WaitTimeout(MimoeError):
    """A wait ran out of time; ``last`` is the last value read (``None`` if no read succeeded)."""

    def __init__(self, message, hint=None, last=None):
        super(WaitTimeout, self).__init__(message, hint=hint)
        self.last = last
