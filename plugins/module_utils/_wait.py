# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The one waiter: every wait of the collection (mim state, datastore job, health check) is a ``poll_until``.

Private to the collection; the interface can change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.mimoe.edge.plugins.module_utils._errors import WaitTimeout


def poll_until(read, done, timeout, interval, what='the condition', hint=None, clock=time.monotonic, sleep=time.sleep):
    """Call ``read()`` until ``done(value)`` is true; return that value.

    ``read`` is called at least once, even with ``timeout <= 0``. Errors raised by ``read`` or ``done`` propagate
    (a caller that wants to tolerate some wraps ``read``). When ``timeout`` seconds have passed, raise
    :class:`WaitTimeout` naming ``what`` and carrying the last value read.
    """
    deadline = clock() + max(float(timeout or 0), 0.0)
    interval = max(float(interval or 0), 0.0)
    while True:
        value = read()
        if done(value):
            return value
        remaining = deadline - clock()
        if remaining <= 0:
            raise WaitTimeout('Timed out after %ss waiting for %s' % (_seconds(timeout), what), hint=hint, last=value)
        sleep(min(interval, remaining))


def _seconds(value):
    value = float(value or 0)
    return int(value) if value.is_integer() else value
