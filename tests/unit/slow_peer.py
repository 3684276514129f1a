# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A loopback peer that answers too slowly on purpose: a slow-loris (headers, then 2 bytes a second), a header
drip, or a huge answer, for the whole-answer deadline and size-cap tests."""

from __future__ import annotations

import socket
import threading
import time


class SlowPeer:
    """``mode``: ``'body'`` (headers at once, then the body 2 bytes/s), ``'headers'`` (headers 2 bytes/s),
    ``'huge'`` (a ``size``-byte JSON string answer, sent fast)."""

    def __init__(self, mode='body', size=0, rate=2.0):
        self.mode, self.size, self.rate = mode, size, rate
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(('127.0.0.1', 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.url = 'http://127.0.0.1:%d' % self.port
        self.connections = 0
        self._stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        self.sock.settimeout(0.2)
        while not self._stop.is_set():
            try:
                conn, _addr = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _drip(self, conn, data):
        for index in range(0, len(data), 1):
            if self._stop.is_set():
                return
            conn.sendall(data[index:index + 1])
            time.sleep(1.0 / self.rate)

    def _answer(self, conn):
        try:
            conn.recv(65536)
            if self.mode == 'huge':
                # No Content-Length: the client learns the size only by reading; sent a MiB at a time.
                conn.sendall(b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n"')
                block = b'x' * (1 << 20)
                for _start in range(0, self.size, len(block)):
                    conn.sendall(block)
                conn.sendall(b'"')
                return
            body = b'{"data": []}' + b' ' * 4096
            head = (b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n'
                    % len(body))
            if self.mode == 'headers':
                self._drip(conn, head + body)
            else:
                conn.sendall(head)
                self._drip(conn, body)
        except OSError:
            pass
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def close(self):
        self._stop.set()
        self.sock.close()
