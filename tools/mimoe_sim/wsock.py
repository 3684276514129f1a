"""Minimal server side of RFC 6455 WebSocket (stdlib only): the handshake and text frames, for mims that dispatch
events (context.dispatchWebSocketEvent)."""

import base64
import hashlib
import socket
import struct
import threading

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def is_upgrade(headers):
    return "websocket" in (headers.get("Upgrade") or "").lower() and bool(headers.get("Sec-WebSocket-Key"))


def accept_key(key):
    return base64.b64encode(hashlib.sha1((key.strip() + GUID).encode("ascii")).digest()).decode("ascii")


def frame(opcode, payload):
    """One unmasked, final server frame."""
    head = bytes([0x80 | opcode])
    size = len(payload)
    if size < 126:
        head += bytes([size])
    elif size < 65536:
        head += bytes([126]) + struct.pack("!H", size)
    else:
        head += bytes([127]) + struct.pack("!Q", size)
    return head + payload


class Connection:
    """An accepted WebSocket connection on a request handler's socket."""

    def __init__(self, handler):
        self.handler = handler
        self._lock = threading.Lock()
        self.open = True

    def handshake(self):
        handler = self.handler
        handler.wfile.write(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                             "Sec-WebSocket-Accept: %s\r\n\r\n" % accept_key(handler.headers["Sec-WebSocket-Key"]))
                            .encode("ascii"))
        handler.wfile.flush()

    def _write(self, data):
        with self._lock:
            if not self.open:
                return False
            try:
                self.handler.wfile.write(data)
                self.handler.wfile.flush()
                return True
            except OSError:
                self.open = False
                return False

    def send_text(self, text):
        return self._write(frame(0x1, text.encode("utf-8")))

    def serve(self):
        """Read the client's frames until it closes: answer pings and the close handshake; client text is
        ignored (mims only push events). Returns when the connection ends."""
        rfile = self.handler.rfile
        try:
            while self.open:
                head = rfile.read(2)
                if len(head) < 2:
                    break
                opcode, size = head[0] & 0x0F, head[1] & 0x7F
                if size == 126:
                    size = struct.unpack("!H", rfile.read(2))[0]
                elif size == 127:
                    size = struct.unpack("!Q", rfile.read(8))[0]
                mask = rfile.read(4) if head[1] & 0x80 else b""
                if size > 1 << 20:
                    break
                payload = bytearray(rfile.read(size))
                if mask:
                    for index in range(len(payload)):
                        payload[index] ^= mask[index % 4]
                if opcode == 0x8:
                    self._write(frame(0x8, bytes(payload[:2])))
                    break
                if opcode == 0x9:
                    self._write(frame(0xA, bytes(payload)))
        except OSError:
            pass
        finally:
            with self._lock:
                self.open = False

    def close(self):
        """Going away (the mim stopped or the node shuts down): close frame, then end the socket so the thread
        in serve() returns even when the client never answers."""
        self._write(frame(0x8, struct.pack("!H", 1001)))
        with self._lock:
            self.open = False
        try:
            self.handler.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
