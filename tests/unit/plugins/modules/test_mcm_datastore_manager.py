# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""mcm_datastore on the shared vocabulary (name, wait, wait_sleep) and the shared waiter."""

from __future__ import annotations

import pytest

from ansible_collections.mimoe.edge.plugins.module_utils._errors import InputError
from ansible_collections.mimoe.edge.plugins.module_utils._mcm_datastore import DatastoreError, DatastoreManager
from ansible_collections.mimoe.edge.plugins.module_utils._recorder import Recorder
from ansible_collections.mimoe.edge.plugins.modules import mcm_datastore

from fake_mcm import FakeNode

ARGS = dict(action='backup', name='hello-v1', path='/backups/h.json', wait_sleep=0.01)


def progress(status, percentage, message='working'):
    return {'action': 'backup', 'status': status, 'message': message, 'path': '/backups/h.json',
            'percentage': percentage}


def deployed(node):
    node.add_image('hello-v1', 'sha256:' + 'a' * 64)
    node.add_mim('hello-v1', 'hello-v1', {})
    return node


def test_name_and_wait_sleep_are_the_options_mim_and_poll_interval_their_aliases(node, run_module):
    deployed(node).datastore_answers = [progress('inProgress', 0), progress('completed', 100)]
    result = run_module(mcm_datastore, node, ARGS)
    assert result['status'] == 'completed' and result['mim'] == 'api-hello-v1'
    assert result['actions'] == ['backup of mim hello-v1 to /backups/h.json']


def test_wait_false_returns_the_first_answer_without_polling(node, run_module):
    deployed(node).datastore_answers = [progress('inProgress', 5)]
    result = run_module(mcm_datastore, node, dict(ARGS, wait=False))
    assert result['changed'] is True and result['status'] == 'inProgress' and result['percentage'] == 5
    assert node.writes == [('datastore', 'backup', '/backups/h.json')]


def test_wait_sleep_must_be_positive_and_names_the_field(node, run_module):
    deployed(node)
    result = run_module(mcm_datastore, node, dict(ARGS, wait_sleep=0))
    assert result['failed'] is True and 'wait_sleep (alias poll_interval) must be more than 0' in result['msg']
    assert node.writes == []


def test_timeout_names_the_fix_and_keeps_the_last_progress(node, run_module):
    deployed(node).datastore_answers = [progress('inProgress', 10)] + [progress('inProgress', 20)] * 50
    result = run_module(mcm_datastore, node, dict(ARGS, wait_timeout=0))
    assert result['failed'] is True and result['changed'] is True
    assert 'raise wait_timeout' in result['msg'] and result['error']['hint'].startswith('raise wait_timeout')
    assert result['mim'] == 'api-hello-v1' and result['percentage'] == 10


def test_unknown_status_is_a_datastore_error_with_the_mim():
    node = deployed(FakeNode())
    node.datastore_answers = [progress('weird', 1)]
    manager = DatastoreManager(node, Recorder())
    with pytest.raises(DatastoreError) as caught:
        manager.run('backup', 'hello-v1', '/backups/h.json', wait_sleep=0.01)
    assert "unknown status 'weird'" in caught.value.message and caught.value.mim == 'api-hello-v1'


def test_check_mode_is_decided_by_the_recorder():
    node = deployed(FakeNode())
    recorder = Recorder(check_mode=True)
    result = DatastoreManager(node, recorder).run('restore', 'hello-v1', '/backups/h.json')
    assert result['status'] == 'skipped' and recorder.changed is True
    assert recorder.actions == ['restore of mim hello-v1 from /backups/h.json'] and node.writes == []
    with pytest.raises(InputError):
        DatastoreManager(node, recorder).run('erase', 'hello-v1', '/x')
