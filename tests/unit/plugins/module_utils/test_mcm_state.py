# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The fingerprint file used for legacy idempotency."""

from __future__ import annotations

import json
import os
import stat
import threading

import pytest

from ansible_collections.mimoe.edge.plugins.module_utils._mcm_state import FingerprintStore, StateFileError

MIM = {'id': 'api-hello', 'created': 1763888000000}


def test_record_and_match(tmp_path):
    path = str(tmp_path / 'sub' / 'state.json')
    store = FingerprintStore(path)
    key = store.key('http://n:8083/', 'api', 'hello')
    assert key == 'http://n:8083|api|hello'
    ok, reason = store.matches(key, 'img', {'A': 'b'}, MIM)
    assert not ok and 'no fingerprint is recorded' in reason
    store.record(key, 'img', {'A': 'b', 'SECRET': 'pa55word'}, MIM)

    fresh = FingerprintStore(path)
    assert fresh.matches(key, 'img', {'A': 'b', 'SECRET': 'pa55word'}, MIM) == (True, None)
    assert not fresh.matches(key, 'img', {'A': 'b', 'SECRET': 'other'}, MIM)[0]
    assert not fresh.matches(key, 'img2', {'A': 'b', 'SECRET': 'pa55word'}, MIM)[0]
    ok, reason = fresh.matches(key, 'img', {'A': 'b', 'SECRET': 'pa55word'}, dict(MIM, created=1))
    assert not ok and 'created differs' in reason


def test_file_holds_no_values_and_is_private(tmp_path):
    path = str(tmp_path / 'state.json')
    store = FingerprintStore(path)
    store.record(store.key('http://n', 'api', 'x'), 'img', {'SECRET': 'pa55word'}, MIM)
    text = open(path).read()
    assert 'pa55word' not in text and 'SECRET' not in text
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    data = json.loads(text)
    assert len(data['salt']) == 64
    assert data['mims']['http://n|api|x']['fingerprint'].startswith('hmac-sha256:')


def test_salt_differs_between_files(tmp_path):
    one, two = FingerprintStore(str(tmp_path / '1.json')), FingerprintStore(str(tmp_path / '2.json'))
    for store in (one, two):
        store.record('k', 'img', {'A': 'b'}, MIM)
    assert one.fingerprint('img', {'A': 'b'}) != two.fingerprint('img', {'A': 'b'})


def test_forget_and_members(tmp_path):
    store = FingerprintStore(str(tmp_path / 's.json'))
    store.record('k', 'img', {}, MIM)
    store.forget('k')
    assert not FingerprintStore(store.path).matches('k', 'img', {}, MIM)[0]
    store.set_members('c', ['b', 'a'])
    assert FingerprintStore(store.path).members('c') == ['a', 'b']
    store.set_members('c', [])
    assert FingerprintStore(store.path).members('c') == []


def test_parallel_writers_do_not_lose_records(tmp_path):
    path = str(tmp_path / 'p.json')

    def work(index):
        FingerprintStore(path).record('k%d' % index, 'img', {'I': str(index)}, MIM)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(json.load(open(path))['mims']) == sorted('k%d' % i for i in range(12))


def test_corrupt_file_is_a_clear_error(tmp_path):
    path = tmp_path / 'bad.json'
    path.write_text('{oops')
    with pytest.raises(StateFileError, match='delete it to start afresh'):
        FingerprintStore(str(path)).matches('k', 'i', {}, MIM)


def test_errors_name_the_file_and_the_fix(tmp_path):
    listed = tmp_path / 'list.json'
    listed.write_text('[]')
    with pytest.raises(StateFileError) as caught:
        FingerprintStore(str(listed)).load()
    assert caught.value.message == 'The fingerprint file %s is not a JSON object' % listed
    assert caught.value.hint.startswith('delete it to start afresh') and caught.value.to_dict()['path'] == str(listed)
    blocked = tmp_path / 'file'
    blocked.write_text('')
    with pytest.raises(StateFileError) as caught:
        FingerprintStore(str(blocked / 'state.json')).set_members('k', ['a'])
    assert 'Cannot write the fingerprint file' in caught.value.message
    assert 'set fingerprint_file (or MCM_FINGERPRINT_FILE)' in str(caught.value)
