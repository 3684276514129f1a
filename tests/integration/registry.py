# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A real OCI registry for tests: Debian's ``docker-registry`` (CNCF distribution 2.8) on a free loopback port.

``Registry(tmp_dir, users={'alice': 'secret'})`` serves with htpasswd Basic auth (bcrypt entries made with the
``bcrypt`` package); without ``users`` it is anonymous. Storage, config and log live in ``tmp_dir``; deletes are
enabled. ``requests_since(mark)`` reads the access log, so tests can count what a task sent.

``tls=(cert, key)`` serves HTTPS; ``client_ca`` then requires a client certificate it signed (``http.tls.clientcas``,
mutual TLS; ``probe_cert=(cert, key)`` is what the start-up probe presents); ``auth_lines`` replaces the htpasswd
``auth`` section (for example ``token_service.TokenService.registry_auth()``, the Bearer token flow).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time
import warnings

import bcrypt
import requests

# Found on PATH only (no fixed fallback), so a PATH without it stands for a machine without it (tests/conftest.py).
BINARY = shutil.which('docker-registry')
ACCESS_RE = re.compile(r'^\S+ - \S+ \[[^\]]+\] "(\w+) (\S+) HTTP/[\d.]+" (\d{3}) ')


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


class Registry:
    def __init__(self, directory, users=None, tls=None, client_ca=None, probe_cert=None, auth_lines=None):
        self.directory = str(directory)
        self.users = dict(users or {})
        self.tls = tls
        self.client_ca = client_ca
        self.probe_cert = probe_cert
        self.auth_lines = list(auth_lines or [])
        self.proc = None
        self.port = None
        self.log_path = os.path.join(self.directory, 'registry.log')

    @property
    def url(self):
        return '%s://127.0.0.1:%d' % ('https' if self.tls else 'http', self.port)

    def _config(self):
        lines = [
            'version: 0.1',
            'log:',
            '  level: warn',
            '  accesslog:',
            '    disabled: false',
            'storage:',
            '  filesystem:',
            '    rootdirectory: %s' % os.path.join(self.directory, 'data'),
            '  delete:',
            '    enabled: true',
            'http:',
            '  addr: 127.0.0.1:%d' % self.port,
            '  secret: mimoe-edge-test-secret',
        ]
        if self.tls:
            lines += ['  tls:', '    certificate: %s' % self.tls[0], '    key: %s' % self.tls[1]]
            if self.client_ca:
                lines += ['    clientcas:', '      - %s' % self.client_ca]
        lines += self.auth_lines
        if self.users:
            htpasswd = os.path.join(self.directory, 'htpasswd')
            with open(htpasswd, 'w', encoding='utf-8') as out:
                for user, password in self.users.items():
                    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()
                    out.write('%s:%s\n' % (user, hashed))
            lines += ['auth:', '  htpasswd:', '    realm: basic-realm', '    path: %s' % htpasswd]
        path = os.path.join(self.directory, 'config.yml')
        with open(path, 'w', encoding='utf-8') as out:
            out.write('\n'.join(lines) + '\n')
        return path

    def start(self):
        if not BINARY:
            raise RuntimeError('docker-registry is not installed (apt-get install -y docker-registry)')
        os.makedirs(self.directory, exist_ok=True)
        for _attempt in range(5):
            self.port = _free_port()
            config = self._config()
            log = open(self.log_path, 'ab')  # pylint: disable=consider-using-with
            self.proc = subprocess.Popen([BINARY, 'serve', config], stdout=log, stderr=log,  # pylint: disable=consider-using-with
                                         stdin=subprocess.DEVNULL, start_new_session=True)
            log.close()
            deadline = time.time() + 10
            while time.time() < deadline and self.proc.poll() is None:
                try:
                    with warnings.catch_warnings():  # the probe does not check the test certificate
                        warnings.simplefilter('ignore')
                        answer = requests.get(self.url + '/v2/', timeout=1, verify=False, cert=self.probe_cert)
                    if answer.status_code in (200, 401):
                        return self
                except requests.RequestException:
                    pass
                time.sleep(0.05)
            self.stop()
        raise RuntimeError('docker-registry did not start; log:\n%s' % self.log()[-3000:])

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self.proc = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def log(self):
        with open(self.log_path, encoding='utf-8', errors='replace') as handle:
            return handle.read()

    def mark(self):
        """A position in the access log (the number of requests so far)."""
        return len(self.requests())

    def requests(self):
        """``[(method, path, status)]`` of every request the registry logged."""
        found = []
        for line in self.log().splitlines():
            match = ACCESS_RE.match(line)
            if match:
                found.append((match.group(1), match.group(2), int(match.group(3))))
        return found

    def requests_since(self, mark):
        return self.requests()[mark:]
