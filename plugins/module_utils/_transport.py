# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Transport shared by the MCM and OCI clients: whole-answer deadlines, bounded answers, safe node text.

Private to the collection (note the ``_`` prefix): the interface can change without notice.

``requests`` applies its timeout to each socket operation, so a peer that sends its headers and then two bytes a
second is never timed out. Here every attempt of a call gets a :class:`Watchdog`: a timer armed when the connection
is opened (or reused) that shuts the socket down when ``timeout`` seconds have passed, which ends any read in
progress at once, headers or body. An upload re-arms it once its body is sent (the socket's own timeout bounds a
``sendall``), and a streamed download re-arms it for each MiB received, so only a stalled or trickling peer is cut.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import socket
import threading

try:
    from requests.adapters import HTTPAdapter
    from urllib3 import connection as _u3conn
    from urllib3 import connectionpool as _u3pool
except ImportError:  # the clients report the missing library
    HTTPAdapter = object
    _u3conn = _u3pool = None

# Largest answer a node or a registry may send to a call that is read into memory (not a streamed download).
MAX_ANSWER_BYTES = 16 * 1024 * 1024
# A request body larger than this is an upload: its answer gets a fresh ``timeout`` once the body is sent.
_UPLOAD_BYTES = 64 * 1024
_CHUNK = 64 * 1024

_CURRENT = threading.local()


class AnswerError(Exception):
    """An answer that took longer than the deadline (``timed_out``) or was larger than the cap."""

    def __init__(self, message, timed_out=False, broken=False):
        self.timed_out = timed_out
        self.broken = broken  # the connection broke in the middle of the answer
        super(AnswerError, self).__init__(message)


class Watchdog(object):
    """Shuts the sockets of the current attempt down ``seconds`` after :meth:`arm`."""

    def __init__(self, seconds):
        self.seconds = seconds
        self.fired = False
        self._socks = []
        self._timer = None
        self._lock = threading.Lock()

    def arm(self):
        """Start (or restart) the clock of an attempt."""
        with self._lock:
            self._cancel_timer()
            self.fired = False
            self._timer = threading.Timer(self.seconds, self._fire)
            self._timer.daemon = True
            self._timer.start()

    def add(self, sock):
        with self._lock:
            if sock is None or any(s is sock for s in self._socks):
                return
            self._socks.append(sock)
            if self.fired:
                _shutdown(sock)

    def cancel(self):
        with self._lock:
            self._cancel_timer()
            self._socks = []

    def _cancel_timer(self):
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _fire(self):
        with self._lock:
            self.fired = True
            for sock in self._socks:
                _shutdown(sock)


def _shutdown(sock):
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except (OSError, socket.error, ValueError):
        pass


class deadline(object):
    """``with deadline(timeout) as dog:`` every connection used in the block is watched by ``dog``."""

    def __init__(self, seconds):
        self.dog = Watchdog(seconds)

    def __enter__(self):
        self._previous = getattr(_CURRENT, 'dog', None)
        _CURRENT.dog = self.dog
        return self.dog

    def __exit__(self, *exc):
        self.dog.cancel()
        _CURRENT.dog = self._previous
        return False

    def detach(self):
        """Leave the block but keep the watchdog running: a streamed answer is read later, and whoever reads it
        re-arms the watchdog as bytes arrive and cancels it when done."""
        _CURRENT.dog = self._previous
        return self.dog


def current_watchdog():
    return getattr(_CURRENT, 'dog', None)


def _watched(base):
    """A urllib3 connection class whose attempts are timed by the current thread's watchdog."""

    class Watched(base):
        def connect(self):
            dog = current_watchdog()
            if dog is not None:
                dog.arm()
                self._mimoe_armed = True
            base.connect(self)
            if dog is not None:
                dog.add(self.sock)

        def request(self, method, url, body=None, headers=None, **kwargs):
            dog = current_watchdog()
            if dog is not None and self.sock is not None:
                if not getattr(self, '_mimoe_armed', False):  # a kept-alive connection: a new attempt
                    dog.arm()
                dog.add(self.sock)
            self._mimoe_armed = False  # a connection opened during this request arms in connect()
            base.request(self, method, url, body=body, headers=headers, **kwargs)
            self._mimoe_armed = False
            if dog is not None:
                dog.add(self.sock)
                if _body_size(body) > _UPLOAD_BYTES:
                    dog.arm()  # the node processes the upload, then answers: a full timeout for the answer

    Watched.__name__ = 'Watched' + base.__name__
    return Watched


def _body_size(body):
    if isinstance(body, (bytes, bytearray)):
        return len(body)
    return 0 if body is None else _UPLOAD_BYTES + 1  # a file or an iterator: treated as an upload


if _u3pool is not None:
    class _WatchedHTTPPool(_u3pool.HTTPConnectionPool):
        ConnectionCls = _watched(_u3conn.HTTPConnection)

    class _WatchedHTTPSPool(_u3pool.HTTPSConnectionPool):
        ConnectionCls = _watched(_u3conn.HTTPSConnection)

    _POOL_CLASSES = {'http': _WatchedHTTPPool, 'https': _WatchedHTTPSPool}
else:  # pragma: no cover
    _POOL_CLASSES = {}


class DeadlineAdapter(HTTPAdapter):
    """A requests adapter whose connections obey the watchdog of :class:`deadline`."""

    def init_poolmanager(self, *args, **kwargs):
        super(DeadlineAdapter, self).init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = dict(_POOL_CLASSES)

    def proxy_manager_for(self, proxy, **kwargs):
        manager = super(DeadlineAdapter, self).proxy_manager_for(proxy, **kwargs)
        manager.pool_classes_by_scheme = dict(_POOL_CLASSES)
        return manager


def read_answer(response, dog, limit=MAX_ANSWER_BYTES):
    """Read a streamed ``requests`` answer whole, within the watchdog's deadline and ``limit`` bytes.

    The bytes are also stored on the response, so ``response.json()`` and ``response.text`` work as usual.

    :raises AnswerError: when the deadline passed or the answer is larger than ``limit``.
    """
    declared = response.headers.get('Content-Length')
    if declared and declared.strip().isdigit() and int(declared) > limit:
        response.close()
        raise AnswerError('the answer is %s bytes, more than the limit of %d bytes' % (declared.strip(), limit))
    chunks, size = [], 0
    try:
        while True:
            chunk = response.raw.read(_CHUNK, decode_content=True)
            if not chunk:
                break
            size += len(chunk)
            if size > limit:
                raise AnswerError('the answer is more than the limit of %d bytes' % limit)
            chunks.append(chunk)
    except AnswerError:
        response.close()
        raise
    except Exception as exc:  # pylint: disable=broad-except
        # urllib3 errors (ProtocolError, ReadTimeoutError...) are not wrapped by requests when reading raw.
        response.close()
        if (dog is not None and dog.fired) or 'timeout' in type(exc).__name__.lower() \
                or 'timed out' in str(exc).lower():
            raise AnswerError('the answer did not arrive whole within the timeout of %s seconds'
                              % (dog.seconds if dog is not None else '?'), timed_out=True)
        raise AnswerError('the connection broke while reading the answer (%s)' % type(exc).__name__, broken=True)
    if dog is not None and dog.fired:
        raise AnswerError('the answer did not arrive whole within the timeout of %s seconds' % dog.seconds,
                          timed_out=True)
    content = b''.join(chunks)
    response._content = content  # pylint: disable=protected-access
    response._content_consumed = True  # pylint: disable=protected-access
    return content


def url_userinfo(url):
    """``user:password`` of ``scheme://user:password@host/...``, or ``None``."""
    match = re.match(r'^[A-Za-z][A-Za-z0-9+.-]*://([^/?#@]*)@', url) if isinstance(url, str) else None
    return match.group(1) if match and match.group(1) else None


def refuse_url_credentials(option, url, error):
    """Raise ``error`` when ``url`` embeds credentials (``scheme://user:password@host``); the password is masked.

    Credentials go in their own options (no_log), never in a URL that is logged, shown and sent along redirects.
    """
    match = re.match(r'^([A-Za-z][A-Za-z0-9+.-]*://)([^/?#@]*)@', url or '') if isinstance(url, str) else None
    if match:
        # The user part alone may be a token (https://TOKEN@host): the whole user information is masked.
        shown = '%s********@%s' % (match.group(1), escape_control(url[match.end():]))
        raise error('%s must not hold credentials (%s): give them in their own options, which are never shown'
                    % (option, shown))


# C0 and C1 control characters, DEL, and the bidirectional overrides that reorder what a terminal shows.
_CONTROL = re.compile(u'[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]')


def escape_control(text):
    """Node text made safe for a terminal: every control character shown as ``\\xNN`` / ``\\uNNNN``."""
    if text is None:
        return None
    if not isinstance(text, str):
        text = str(text)

    def show(match):
        code = ord(match.group(0))
        return '\\x%02x' % code if code < 0x100 else '\\u%04x' % code

    return _CONTROL.sub(show, text)
