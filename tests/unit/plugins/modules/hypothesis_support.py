# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Shared by the property tests (test_hypothesis_*.py): every module of plugins/modules found and its argument
spec read by running it with ``AnsibleModule`` stopped at construction, a scripted loopback HTTP server, and an
in-process module runner that tells a clean result (exit_json / fail_json) from an unhandled exception."""

from __future__ import annotations

import contextlib
import glob
import importlib
import io
import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from unittest import mock

from ansible.module_utils import basic
from compat import patch_module_args

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
TOKEN = 'hypothesis-token-5e0c9b7a'
SECRET_VALUE = 'hypothesis-secret-value-88d1'


def _runs_on_the_target(path):
    """A module with code of its own; documentation-only files (the work is in the action plugin) have no main()."""
    with open(path) as source:
        return 'def main(' in source.read()


def module_names():
    """Every module of the collection (new ones are picked up without touching the tests)."""
    return sorted(os.path.basename(p)[:-3] for p in glob.glob(os.path.join(ROOT, 'plugins', 'modules', '*.py'))
                  if not os.path.basename(p).startswith('_') and _runs_on_the_target(p))


def import_module(name):
    return importlib.import_module('ansible_collections.mimoe.edge.plugins.modules.%s' % name)


class _Captured(Exception):
    def __init__(self, spec, kwargs):
        super().__init__('captured')
        self.spec = spec
        self.kwargs = kwargs


def read_argument_spec(name):
    """The module's argument spec and AnsibleModule keyword arguments, read by running ``main()`` until it builds
    its AnsibleModule (which is replaced by a stub that raises)."""
    module = import_module(name)

    def stop(self, argument_spec=None, **kwargs):  # pylint: disable=unused-argument
        raise _Captured(argument_spec or {}, kwargs)

    with mock.patch.object(basic.AnsibleModule, '__init__', stop), patch_module_args({}):
        try:
            module.main()
        except _Captured as captured:
            return captured.spec, captured.kwargs
    raise AssertionError('%s.main() did not build an AnsibleModule' % name)


class Outcome:
    def __init__(self, raw, result, exit_code):
        self.raw = raw
        self.result = result
        self.exit_code = exit_code

    @property
    def failed(self):
        return bool(self.result.get('failed'))


def run_module(name, args):
    """Run the module in-process with ``args``. Returns an :class:`Outcome` when it ended through exit_json or
    fail_json; any other exception propagates (that is the bug these tests look for)."""
    module = import_module(name)
    out = io.StringIO()
    code = None
    with patch_module_args(args), contextlib.redirect_stdout(out):
        try:
            module.main()
        except SystemExit as exc:
            code = exc.code
        else:
            raise AssertionError('%s.main() returned without exit_json or fail_json' % name)
    raw = out.getvalue()
    try:
        result = json.loads(raw)
    except ValueError:
        raise AssertionError('%s printed something that is not its JSON result: %r' % (name, raw[:500]))
    return Outcome(raw, result, code)


def assert_clean(name, outcome, secrets=(TOKEN, SECRET_VALUE)):
    """A success, or a failure with a message; never a traceback; never a secret."""
    assert 'Traceback (most recent call last)' not in outcome.raw, outcome.raw[:3000]
    if outcome.failed:
        msg = outcome.result.get('msg')
        assert isinstance(msg, str) and msg.strip(), (name, outcome.result)
        assert outcome.exit_code == 1, (name, outcome.exit_code)
    else:
        assert outcome.exit_code == 0, (name, outcome.exit_code, outcome.result)
    for secret in secrets:
        assert secret not in outcome.raw, (name, 'secret leaked', outcome.raw[:2000])


class ScriptedServer:
    """A loopback HTTP server; ``answer(method, path, body) -> (status, content_type, bytes)`` decides each answer.
    The default answers like an empty MCM node: empty lists, 404 for single resources, 400 for writes."""

    def __init__(self):
        self.answer = self.empty_node
        self.requests = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = 'HTTP/1.1'
            # One segment per answer, no Nagle: otherwise every call waits for a delayed ACK (40 ms).
            wbufsize = 64 * 1024
            disable_nagle_algorithm = True

            def log_message(self, *args):
                pass

            def _handle(self):
                length = int(self.headers.get('Content-Length') or 0)
                body = self.rfile.read(length) if length else b''
                server.requests += 1
                status, ctype, data = server.answer(self.command, self.path, body)
                self.send_response(status)
                self.send_header('Content-Type', ctype)
                self.send_header('Content-Length', str(len(data)))
                self.end_headers()
                if self.command != 'HEAD':
                    self.wfile.write(data)
                self.wfile.flush()

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _handle

        self.httpd = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={'poll_interval': 0.05}, daemon=True)
        self.thread.start()
        self.url = 'http://127.0.0.1:%d' % self.httpd.server_address[1]

    @staticmethod
    def empty_node(method, path, _body):
        path = path.split('?')[0]
        if method == 'GET' and path.rstrip('/') in ('/mcm/v1/images', '/mcm/v1/mims', '/mcm/v1/containers'):
            return 200, 'application/json', b'{"data": []}'
        if method in ('GET', 'DELETE', 'HEAD'):
            return 404, 'application/json', b'{"error": {"code": 404, "message": "not found"}}'
        return 400, 'application/json', b'{"error": {"code": 400, "message": "rejected"}}'

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
