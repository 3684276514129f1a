# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Reserved env keys: what the collection keeps on the node itself, because the MCM API does not remember it.

A fresh controller (an AWX job starts with an empty HOME) must be able to tell from the node alone which env keys
were deployed as secrets and which release a mim runs, so these facts live in the mim's env, next to the values
they describe. Users may not set these keys themselves.

* ``MIMOE_COMPOSITION``: the composition a mim belongs to.
* ``MIMOE_SECRET_KEYS``: the names (never the values) of the env keys deployed through ``secret_env``,
  sorted and comma-separated.
* ``MIMOE_RELEASE``: the release a mim runs, as compact JSON: ``image`` (name), ``version``, ``digest`` (sha256 of
  the archive file), ``config_digest`` (sha256 of the image's config JSON, the Docker image id) and ``revision``
  (an integer counting the releases of this mim on this node), and ``history``: the releases before it, newest
  first (each ``revision``, ``version``, ``digest``, ``config_digest``; see ``_mcm_release.py``).
* ``MIMOE_LABELS``: the mim's labels (``mcm_mim labels``), as compact JSON of a string-to-string map with sorted
  keys. Modules show them as ``labels``, never as ordinary env.

Private to the collection; the interface can change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

COMPOSITION_KEY = 'MIMOE_COMPOSITION'
SECRET_KEYS_KEY = 'MIMOE_SECRET_KEYS'
RELEASE_KEY = 'MIMOE_RELEASE'
LABELS_KEY = 'MIMOE_LABELS'
RESERVED_KEYS = (COMPOSITION_KEY, SECRET_KEYS_KEY, RELEASE_KEY, LABELS_KEY)

_DIGEST = re.compile(r'^sha256:[0-9a-f]{64}$')
_RELEASE_FIELDS = ('image', 'version', 'digest', 'config_digest', 'revision', 'history')


def encode_secret_keys(names):
    """The marker value for a set of secret env key names ('' when there are none)."""
    return ','.join(sorted(set(str(name) for name in names or ())))


def decode_secret_keys(env):
    """The set of env key names a mim's env marks as secret (empty when unmarked or malformed)."""
    if not isinstance(env, dict):
        return set()
    value = env.get(SECRET_KEYS_KEY)
    if not isinstance(value, str):
        return set()
    return set(name for name in value.split(',') if name)


def encode_release(release):
    """The marker value for a release dict (only the known fields, in a stable order)."""
    data = dict((key, release[key]) for key in _RELEASE_FIELDS if release.get(key) is not None)
    return json.dumps(data, sort_keys=True, separators=(',', ':'))


def decode_release(env):
    """The release a mim's env records, or None when unmarked or malformed (a node's answer is never trusted)."""
    if not isinstance(env, dict) or not isinstance(env.get(RELEASE_KEY), str):
        return None
    try:
        data = json.loads(env[RELEASE_KEY])
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    release = {}
    for key in ('image', 'version'):
        if isinstance(data.get(key), str):
            release[key] = data[key]
    for key in ('digest', 'config_digest'):
        if isinstance(data.get(key), str) and _DIGEST.match(data[key]):
            release[key] = data[key]
    if isinstance(data.get('revision'), int) and not isinstance(data.get('revision'), bool) and data['revision'] >= 0:
        release['revision'] = data['revision']
    if isinstance(data.get('history'), list):
        history = [decode_release({RELEASE_KEY: json.dumps(entry)}) for entry in data['history']
                   if isinstance(entry, dict) and 'history' not in entry]
        release['history'] = [entry for entry in history
                              if entry and entry.get('digest') and isinstance(entry.get('revision'), int)]
    return release or None


def encode_labels(labels):
    """The marker value for a labels map ('' when there are none); keys and values are strings."""
    if not labels:
        return ''
    return json.dumps(dict((str(k), str(v)) for k, v in labels.items()), sort_keys=True, separators=(',', ':'))


def decode_labels(env):
    """The labels a mim's env records ({} when unmarked or malformed; only string keys and values are kept)."""
    if not isinstance(env, dict) or not isinstance(env.get(LABELS_KEY), str) or not env[LABELS_KEY]:
        return {}
    try:
        data = json.loads(env[LABELS_KEY])
    except ValueError:
        return {}
    if not isinstance(data, dict):
        return {}
    return dict((k, v) for k, v in data.items() if isinstance(k, str) and isinstance(v, str))
