# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Datastore backup and restore of a mim: start the operation, then wait (``poll_until``) until it ends.

``DatastoreManager`` is the behaviour of ``mimoe.edge.mcm_datastore``; ``run_operation`` is the primitive it
shares with ``mimoe.edge.mim_release``.
Private to the collection; the interface can change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.mimoe.edge.plugins.module_utils._errors import InputError, MimoeError, WaitTimeout
from ansible_collections.mimoe.edge.plugins.module_utils._mcm_client import MCMError
from ansible_collections.mimoe.edge.plugins.module_utils._wait import poll_until

FIELDS = ('action', 'status', 'message', 'path', 'percentage')
RUNNING = ('inprogress', 'in_progress', 'pending', 'running', '')


class DatastoreError(MCMError):
    """The node reported a failed or unknown outcome, or the operation did not end in time.

    An :class:`MCMError`, so callers that handle failed calls (the release) handle these too.

    :ivar result: the last progress the node reported (``FIELDS``).
    :ivar mim: ID of the mim, when known.
    """

    def __init__(self, message, result=None, hint=None, mim=None):
        super(DatastoreError, self).__init__(message, server_message=(result or {}).get('message'), hint=hint)
        self.result = result or {}
        self.mim = mim


def datastore_fields(answer):
    answer = answer if isinstance(answer, dict) else {}
    return dict((key, answer.get(key)) for key in FIELDS)


def describe(action, mim_name, path):
    return '%s of mim %s %s %s' % (action, mim_name, 'to' if action == 'backup' else 'from', path)


def _finished(what, mim_id):
    """``done`` for :func:`poll_until`: true once completed; a failed or unknown status ends the wait with an error."""
    def done(result):
        status = str(result.get('status') or '').lower()
        if status == 'completed':
            return True
        if status == 'failed':
            raise DatastoreError('The node reports that the %s failed: %s'
                                 % (what, result.get('message') or 'no message'), result, mim=mim_id)
        if status not in RUNNING:
            raise DatastoreError('The node reports an unknown status %r for the %s' % (result.get('status'), what),
                                 result, mim=mim_id)
        return False
    return done


def run_operation(client, mim, action, path, wait_timeout, poll_interval, wait=True):
    """Back up or restore the datastore of the node's ``mim`` (a node object) and wait until it ends.

    :returns: the final progress (``FIELDS``) with status ``completed``; without ``wait``, the node's first answer.
    :raises DatastoreError: the node reports ``failed``, an unknown status, or no end within ``wait_timeout``.
    :raises MCMError: a call failed.
    """
    mim_id = mim.get('id') or mim.get('name')
    what = describe(action, mim.get('name'), path)
    started = [client.datastore(mim_id, action, path, mim.get('name'))]

    def read():  # the first read is the node's answer to the start; then its progress
        answer = started.pop() if started else client.datastore(mim_id, name=mim.get('name'))
        return datastore_fields(answer)

    if not wait:
        return read()
    try:
        return poll_until(read, _finished(what, mim_id), wait_timeout, poll_interval, what='the %s' % what)
    except WaitTimeout as exc:
        last = exc.last or {}
        raise DatastoreError('The %s did not finish within %s seconds (last progress: %s%%)'
                             % (what, wait_timeout, last.get('percentage')), last,
                             hint='raise wait_timeout; the operation may still be running on the node', mim=mim_id)


class DatastoreManager(object):
    """Backup or restore of one mim's datastore, dispatching on ``action``; writes go through the recorder."""

    ACTIONS = ('backup', 'restore')

    def __init__(self, client, recorder):
        self.client = client
        self.recorder = recorder

    def run(self, action, name, path, wait=True, wait_timeout=300, wait_sleep=1):
        """Run ``action`` and return the module result (``mim`` plus ``FIELDS``).

        In check mode the operation is recorded, not started; the result then says ``status: skipped``.
        """
        if action not in self.ACTIONS:
            raise InputError('action: %r is not one of %s' % (action, ', '.join(self.ACTIONS)))
        if wait_sleep is None or wait_sleep <= 0:
            raise InputError('wait_sleep (alias poll_interval) must be more than 0', hint='for example 1')
        if self.client.legacy:
            raise MimoeError('mimoe.edge.mcm_datastore needs the current MCM API generation; this node runs the '
                             'legacy one, which has no datastore call')
        mim = self.client.find_mim(name)
        if mim is None:
            raise MimoeError('The mim %s is not deployed on the node; deploy it with mimoe.edge.mcm_mim first' % name)
        mim_id = mim.get('id') or mim.get('name')
        progress = self.recorder.change(describe(action, mim.get('name'), path), run_operation, self.client, mim,
                                        action, path, wait_timeout, wait_sleep, wait)
        if progress is None:  # check mode: nothing started
            progress = dict(action=action, status='skipped', message='check mode', path=path, percentage=0)
        return dict(progress, mim=mim_id)
