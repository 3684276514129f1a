# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Revision history kept on the node in the release marker: what the next release remembers, what a rollback to
"previous" or "revision N" picks, and that the marker round-trips (and distrusts) it."""

from __future__ import annotations

import pytest

from ansible_collections.mimoe.edge.plugins.module_utils._markers import RELEASE_KEY, decode_release, encode_release
from ansible_collections.mimoe.edge.plugins.module_utils._mcm_mim import SpecError
from ansible_collections.mimoe.edge.plugins.module_utils._mcm_release import (
    HISTORY_LIMIT,
    next_history,
    pick_revision,
    revisions,
)

D = ['sha256:' + ('%x' % i) * 64 for i in range(1, 14)]


def marker(revision, version, digest, history=None):
    return decode_release({RELEASE_KEY: encode_release(dict(image='hello-v1', version=version, digest=digest,
                                                            revision=revision, history=history))})


def test_each_release_remembers_the_one_it_replaces():
    first = marker(1, '1.0.0', D[0])
    history = next_history(dict(image={'name': 'hello-v1'}, marker=first, digest=D[0], version='1.0.0', revision=1))
    second = marker(2, '1.1.0', D[1], history)
    assert [(r['revision'], r['version'], r['current']) for r in revisions(second)] == [
        (2, '1.1.0', True), (1, '1.0.0', False)]
    history = next_history(dict(image={}, marker=second, digest=D[1], version='1.1.0', revision=2))
    third = marker(3, '1.0.0', D[0], history)
    assert [r['revision'] for r in revisions(third)] == [3, 2, 1]
    assert pick_revision(third, 'previous', 'hello-v1')['digest'] == D[1]
    assert pick_revision(third, '1', 'hello-v1')['version'] == '1.0.0'


def test_history_is_capped_and_new_nodes_have_none():
    entry = None
    current = None
    for revision in range(1, 13):
        history = next_history(dict(image={}, marker=current, digest=current['digest'], version='v',
                                    revision=current['revision'])) if current else None
        current = marker(revision, '1.0.%d' % revision, D[revision], history)
        entry = current
    assert len(entry['history']) == HISTORY_LIMIT and entry['history'][0]['revision'] == 11
    assert next_history(dict(image=None, marker=None, digest=None, version='', revision=0)) == []


@pytest.mark.parametrize('wanted, message', [
    ('previous', 'no revision before 1'),
    ('7', 'no revision 7 on this node (it remembers: 1 (1.0.0))'),
    ('latest', 'revision must be "previous" or a revision number'),
])
def test_a_revision_the_node_does_not_remember_is_refused_with_what_it_has(wanted, message):
    with pytest.raises(SpecError, match=message.replace('(', r'\(').replace(')', r'\)')):
        pick_revision(marker(1, '1.0.0', D[0]), wanted, 'hello-v1')


def test_no_marker_names_the_fix():
    with pytest.raises(SpecError, match='roll back by image_digest or image_tar'):
        pick_revision(None, 'previous', 'hello-v1')


def test_a_malformed_history_from_a_node_is_dropped_entry_by_entry():
    raw = ('{"digest":"%s","revision":3,"history":[{"digest":"nope","revision":2},"x",'
           '{"digest":"%s","revision":1,"version":"1.0.0"}]}' % (D[2], D[0]))
    decoded = decode_release({RELEASE_KEY: raw})
    assert [h['revision'] for h in decoded['history']] == [1]
