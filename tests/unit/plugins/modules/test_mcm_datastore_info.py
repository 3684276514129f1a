# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""mcm_datastore polling (the shared waiter, the shared option names) and mcm_info filtering against an in-memory node."""

from __future__ import annotations

import pytest

from ansible_collections.mimoe.edge.plugins.module_utils._errors import InputError
from ansible_collections.mimoe.edge.plugins.module_utils._mcm_datastore import DatastoreError, DatastoreManager
from ansible_collections.mimoe.edge.plugins.module_utils._recorder import Recorder
from ansible_collections.mimoe.edge.plugins.modules import mcm_datastore, mcm_info

from fake_mcm import FakeNode, write_kinds

ARGS = dict(action='backup', mim='hello-v1', path='/backups/h.json', poll_interval=0.01)
# The shared vocabulary (name, wait_sleep); ARGS above uses the old names, kept as aliases.
NEW_ARGS = dict(action='backup', name='hello-v1', path='/backups/h.json', wait_sleep=0.01)


def progress(status, percentage, message='working'):
    return {'action': 'backup', 'status': status, 'message': message, 'path': '/backups/h.json',
            'percentage': percentage}


def deployed(node):
    node.add_image('hello-v1', 'sha256:' + 'a' * 64)
    node.add_mim('hello-v1', 'hello-v1', {})
    return node


def test_polls_until_completed(node, run_module):
    deployed(node).datastore_answers = [progress('inProgress', 0), progress('inProgress', 50),
                                        progress('completed', 100, 'backup completed')]
    result = run_module(mcm_datastore, node, ARGS)
    assert result['changed'] is True
    assert result['status'] == 'completed' and result['percentage'] == 100
    assert result['message'] == 'backup completed' and result['mim'] == 'api-hello-v1'
    assert node.writes == [('datastore', 'backup', '/backups/h.json'), ('datastore_poll',), ('datastore_poll',)]


def test_failed_status_fails_with_the_node_message(node, run_module):
    deployed(node).datastore_answers = [progress('inProgress', 0), progress('failed', 30, 'disk full')]
    result = run_module(mcm_datastore, node, ARGS)
    assert result['failed'] is True
    assert 'disk full' in result['msg'] and result['status'] == 'failed'


def test_timeout_returns_last_progress(node, run_module):
    deployed(node).datastore_answers = [progress('inProgress', 10)] + [progress('inProgress', 20)] * 500
    result = run_module(mcm_datastore, node, dict(ARGS, wait_timeout=0))
    assert result['failed'] is True
    assert 'did not finish within 0 seconds' in result['msg'] and result['percentage'] == 10


def test_check_mode_calls_nothing(node, run_module):
    deployed(node)
    result = run_module(mcm_datastore, node, ARGS, check=True)
    assert result['changed'] is True and result['status'] == 'skipped'
    assert node.writes == []


def test_missing_mim_and_legacy(node, legacy_node, run_module):
    assert 'not deployed' in run_module(mcm_datastore, node, ARGS)['msg']
    assert 'legacy' in run_module(mcm_datastore, legacy_node, ARGS)['msg']
    assert node.writes == [] and legacy_node.writes == []


def test_info_lists_and_filters(node, run_module):
    deployed(node)
    node.add_image('other', 'sha256:' + 'b' * 64)
    node.add_mim('other', 'other', {})
    everything = run_module(mcm_info, node, {})
    assert everything['changed'] is False and everything['api_version'] == 'current'
    assert sorted(i['name'] for i in everything['images']) == ['hello-v1', 'other']
    only = run_module(mcm_info, node, dict(name=['hello-v1']))
    assert [i['name'] for i in only['images']] == ['hello-v1'] and [m['name'] for m in only['mims']] == ['hello-v1']
    assert write_kinds(node) == []


def test_name_and_wait_sleep_are_the_options_mim_and_poll_interval_their_aliases(node, run_module):
    deployed(node).datastore_answers = [progress('inProgress', 0), progress('completed', 100)]
    result = run_module(mcm_datastore, node, NEW_ARGS)
    assert result['status'] == 'completed' and result['mim'] == 'api-hello-v1'
    assert result['actions'] == ['backup of mim hello-v1 to /backups/h.json']


def test_wait_false_returns_the_first_answer_without_polling(node, run_module):
    deployed(node).datastore_answers = [progress('inProgress', 5)]
    result = run_module(mcm_datastore, node, dict(NEW_ARGS, wait=False))
    assert result['changed'] is True and result['status'] == 'inProgress' and result['percentage'] == 5
    assert node.writes == [('datastore', 'backup', '/backups/h.json')]


def test_wait_sleep_must_be_positive_and_names_the_field(node, run_module):
    deployed(node)
    result = run_module(mcm_datastore, node, dict(NEW_ARGS, wait_sleep=0))
    assert result['failed'] is True and 'wait_sleep (alias poll_interval) must be more than 0' in result['msg']
    assert node.writes == []


def test_timeout_names_the_fix_and_keeps_the_last_progress(node, run_module):
    deployed(node).datastore_answers = [progress('inProgress', 10)] + [progress('inProgress', 20)] * 50
    result = run_module(mcm_datastore, node, dict(NEW_ARGS, wait_timeout=0))
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
