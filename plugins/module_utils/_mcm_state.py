# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Local record of what the modules deployed where the node cannot tell (legacy API generation).

The legacy API does not return a mim's env (it may hold secrets), so idempotency there rests on a
*fingerprint*: an HMAC-SHA256 of the image name and the env, keyed with a random salt that is created
with the file. The file never holds env values, and without the salt the fingerprints cannot be
brute-forced offline from the file alone. Records are keyed by node URL, client ID and mim name, and
remember the node's mim ``id`` and ``created`` so a mim redeployed by anyone else is not trusted.

The file is JSON, mode 0600, updated under an exclusive ``flock`` (parallel forks of one controller
share it) and replaced atomically.

Private to the collection; the interface can change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import binascii
import hashlib
import hmac
import json
import os
import tempfile

from ansible_collections.mimoe.edge.plugins.module_utils._errors import MimoeError

try:
    import fcntl
except ImportError:  # pragma: no cover - non-POSIX
    fcntl = None

DEFAULT_STATE_FILE = '~/.ansible/mimoe_edge/mcm_state.json'


AFRESH = 'delete it to start afresh (legacy mims are then redeployed once)'


class StateFileError(MimoeError):
    """The fingerprint file cannot be read or written; the message names the file, the hint the fix."""

    def __init__(self, message, path=None, hint=None):
        super(StateFileError, self).__init__(message, hint=hint)
        self.path = path

    def to_dict(self):
        result = super(StateFileError, self).to_dict()
        result['path'] = self.path
        return result


def canonical_spec(image, env):
    return json.dumps({'image': image, 'env': dict(env or {})}, sort_keys=True, separators=(',', ':'))


class FingerprintStore(object):
    """Fingerprints of deployed mim specs and composition memberships, in one JSON file."""

    def __init__(self, path=None):
        self.path = os.path.abspath(os.path.expanduser(path or DEFAULT_STATE_FILE))
        self._data = None

    # -------------------------------------------------------------- file handling

    def _read(self):
        if not os.path.exists(self.path):
            return {}
        try:
            with open(self.path, 'r') as handle:
                data = json.load(handle)
        except (IOError, OSError, ValueError) as exc:
            raise StateFileError('Cannot read the fingerprint file %s: %s' % (self.path, exc), self.path, hint=AFRESH)
        if not isinstance(data, dict):
            raise StateFileError('The fingerprint file %s is not a JSON object' % self.path, self.path, hint=AFRESH)
        return data

    def load(self):
        if self._data is None:
            self._data = self._read()
        return self._data

    def _salt(self, data):
        salt = data.get('salt')
        if not salt:
            salt = binascii.hexlify(os.urandom(32)).decode('ascii')
            data['salt'] = salt
        return salt

    def update(self, func):
        """Read-modify-write under an exclusive lock: ``func(data)`` changes ``data`` in place."""
        directory = os.path.dirname(self.path)
        try:
            if not os.path.isdir(directory):
                os.makedirs(directory, 0o700)
            lock_path = self.path + '.lock'
            with open(lock_path, 'a') as lock:
                if fcntl is not None:
                    fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
                try:
                    data = self._read()
                    self._salt(data)
                    func(data)
                    fd, tmp = tempfile.mkstemp(dir=directory, prefix='.mcm_state.')
                    try:
                        with os.fdopen(fd, 'w') as handle:
                            json.dump(data, handle, sort_keys=True, indent=1)
                        os.chmod(tmp, 0o600)
                        os.rename(tmp, self.path)
                    except Exception:
                        if os.path.exists(tmp):
                            os.unlink(tmp)
                        raise
                    self._data = data
                finally:
                    if fcntl is not None:
                        fcntl.flock(lock.fileno(), fcntl.LOCK_UN)
        except (IOError, OSError) as exc:
            raise StateFileError(
                'Cannot write the fingerprint file %s: %s' % (self.path, exc), self.path,
                hint='make its directory writable, or set fingerprint_file (or MCM_FINGERPRINT_FILE) to a writable path')

    # -------------------------------------------------------------- keys and fingerprints

    @staticmethod
    def key(node_url, client_id, name):
        return '%s|%s|%s' % (node_url.rstrip('/'), client_id, name)

    def fingerprint(self, image, env, data=None):
        """``hmac-sha256:<hex>`` of the spec, or ``None`` when the file has no salt yet."""
        data = self.load() if data is None else data
        salt = data.get('salt')
        if not salt:
            return None
        digest = hmac.new(salt.encode('ascii'), canonical_spec(image, env).encode('utf-8'), hashlib.sha256)
        return 'hmac-sha256:' + digest.hexdigest()

    def matches(self, key, image, env, node_mim):
        """Whether the recorded fingerprint of ``key`` is this spec, for this very deployment on the node.

        :returns: ``(True, None)`` or ``(False, reason)``.
        """
        record = (self.load().get('mims') or {}).get(key)
        if not record:
            return False, 'no fingerprint is recorded for this mim in %s (the legacy API does not return env)' % self.path
        for field in ('id', 'created'):
            if record.get(field) is not None and node_mim.get(field) is not None \
                    and str(record[field]) != str(node_mim[field]):
                return False, 'the mim on the node is not the deployment that was fingerprinted (%s differs)' % field
        if record.get('fingerprint') != self.fingerprint(image, env):
            return False, 'the image or env differs from the recorded fingerprint'
        return True, None

    def record(self, key, image, env, node_mim):
        def change(data):
            data.setdefault('mims', {})[key] = {
                'fingerprint': self.fingerprint(image, env, data),
                'id': (node_mim or {}).get('id'),
                'created': (node_mim or {}).get('created'),
            }
        self.update(change)

    def forget(self, key):
        def change(data):
            (data.get('mims') or {}).pop(key, None)
        if key in (self.load().get('mims') or {}):
            self.update(change)

    def members(self, key):
        return list((self.load().get('compositions') or {}).get(key) or [])

    def set_members(self, key, names):
        def change(data):
            compositions = data.setdefault('compositions', {})
            if names:
                compositions[key] = sorted(names)
            else:
                compositions.pop(key, None)
        self.update(change)
