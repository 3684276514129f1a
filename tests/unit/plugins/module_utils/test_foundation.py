# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The shared foundation: one error root, the recorder that decides check mode, the one waiter."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.mimoe.edge.plugins.module_utils._errors import InputError, MimoeError, WaitTimeout
from ansible_collections.mimoe.edge.plugins.module_utils._mcm_client import MCMError
from ansible_collections.mimoe.edge.plugins.module_utils._oci_client import OCIError
from ansible_collections.mimoe.edge.plugins.module_utils._mcm_mim import SpecError
from ansible_collections.mimoe.edge.plugins.module_utils._mim_package import MimPackageError
from ansible_collections.mimoe.edge.plugins.module_utils._mcm_state import StateFileError
from ansible_collections.mimoe.edge.plugins.module_utils._image_archive import ArchiveMemberError, ImageArchiveError
from ansible_collections.mimoe.edge.plugins.plugin_utils._mcm_inventory import NodeSpecError
from ansible_collections.mimoe.edge.plugins.module_utils._recorder import Recorder
from ansible_collections.mimoe.edge.plugins.module_utils._wait import poll_until


@pytest.mark.parametrize('cls', [MCMError, OCIError, SpecError, MimPackageError, StateFileError,
                                 ArchiveMemberError, ImageArchiveError, NodeSpecError])
def test_every_error_has_the_one_root(cls):
    assert issubclass(cls, MimoeError)


def test_error_text_and_details():
    exc = MCMError('Cannot reach node', status=503, hint='check the URL', method='GET', url='http://n/x',
                   server_message='busy')
    assert str(exc) == 'Cannot reach node. Hint: check the URL'
    assert exc.to_dict() == dict(status=503, hint='check the URL', method='GET', url='http://n/x',
                                 server_message='busy')
    assert OCIError('gone', status=404, code='MANIFEST_UNKNOWN').to_dict()['code'] == 'MANIFEST_UNKNOWN'
    assert isinstance(InputError('env.PORT: must be a string'), ValueError)


def test_recorder_applies_outside_check_mode():
    calls = []
    rec = Recorder()
    assert rec.change('removed mim a', calls.append, 'a') is None
    assert calls == ['a'] and rec.changed and rec.actions == ['removed mim a']


def test_recorder_records_without_applying_in_check_mode():
    calls = []
    rec = Recorder(check_mode=True)
    rec.change('removed mim a', calls.append, 'a')
    rec.note('image b already present')
    rec.warn('w')
    rec.warn('w')
    assert calls == [] and rec.changed
    assert rec.actions == ['removed mim a', 'image b already present'] and rec.warnings == ['w']


class _Clock(object):
    def __init__(self):
        self.now = 0.0
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def test_poll_until_returns_the_first_done_value():
    clock = _Clock()
    values = iter(['starting', 'starting', 'started'])
    assert poll_until(lambda: next(values), lambda v: v == 'started', 10, 1, clock=clock, sleep=clock.sleep) == 'started'
    assert clock.sleeps == [1, 1]


def test_poll_until_times_out_with_the_last_value():
    clock = _Clock()
    with pytest.raises(WaitTimeout) as info:
        poll_until(lambda: 'stopped', lambda v: False, 2.5, 1, what='mim a to start', hint='raise wait_timeout',
                   clock=clock, sleep=clock.sleep)
    assert info.value.last == 'stopped'
    assert str(info.value) == 'Timed out after 2.5s waiting for mim a to start. Hint: raise wait_timeout'
    assert clock.sleeps == [1, 1, 0.5]


def test_poll_until_reads_once_with_no_time():
    reads = []
    with pytest.raises(WaitTimeout):
        poll_until(lambda: reads.append(1), lambda v: False, 0, 1)
    assert reads == [1]
