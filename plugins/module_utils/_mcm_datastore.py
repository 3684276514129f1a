# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Datastore backup and restore of a mim: start the operation, then poll the node until it ends.

The one polling loop of the collection (``mimoe.edge.mcm_datastore`` and ``mimoe.edge.mim_release`` use it).
Private to the collection; the interface can change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.mimoe.edge.plugins.module_utils._mcm_client import MCMError

FIELDS = ('action', 'status', 'message', 'path', 'percentage')
RUNNING = ('inprogress', 'in_progress', 'pending', 'running', '')


class DatastoreError(MCMError):
    """The node reported a failed or unknown outcome, or the operation did not end in time.

    :ivar result: the last progress the node reported (``FIELDS``).
    """

    def __init__(self, message, result=None):
        super(DatastoreError, self).__init__(message, server_message=(result or {}).get('message'))
        self.result = result or {}


def datastore_fields(answer):
    answer = answer if isinstance(answer, dict) else {}
    return dict((key, answer.get(key)) for key in FIELDS)


def describe(action, mim_name, path):
    return '%s of mim %s %s %s' % (action, mim_name, 'to' if action == 'backup' else 'from', path)


def run_operation(client, mim, action, path, wait_timeout, poll_interval):
    """Back up or restore the datastore of the node's ``mim`` (a node object) and wait until it ends.

    :returns: the final progress (``FIELDS``) with status ``completed``.
    :raises DatastoreError: the node reports ``failed``, an unknown status, or no end within ``wait_timeout``.
    :raises MCMError: a call failed.
    """
    mim_id = mim.get('id') or mim.get('name')
    what = describe(action, mim.get('name'), path)
    answer = client.datastore(mim_id, action, path, mim.get('name'))
    deadline = time.time() + wait_timeout
    while True:
        result = datastore_fields(answer)
        status = str(result.get('status') or '').lower()
        if status == 'completed':
            return result
        if status == 'failed':
            raise DatastoreError('The node reports that the %s failed: %s'
                                 % (what, result.get('message') or 'no message'), result)
        if status not in RUNNING:
            raise DatastoreError('The node reports an unknown status %r for the %s' % (result.get('status'), what),
                                 result)
        if time.time() >= deadline:
            raise DatastoreError('The %s did not finish within %s seconds (last progress: %s%%)'
                                 % (what, wait_timeout, result.get('percentage')), result)
        time.sleep(poll_interval)
        answer = client.datastore(mim_id, name=mim.get('name'))
