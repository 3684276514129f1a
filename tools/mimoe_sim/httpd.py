"""HTTP plumbing: the request handler, request/response helpers, multipart parsing (stdlib only, no cgi)."""

import json
import re
import ssl
from email.parser import BytesHeaderParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

from mimoe_sim.util import log

MAX_BODY = 512 * 1024 * 1024


class HttpError(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


class DropConnection(Exception):
    """Close the connection without answering (fault drop_rate)."""


class Request:
    def __init__(self, handler):
        self.handler = handler
        self.method = handler.command
        split = urlsplit(handler.path)
        self.raw_path = split.path or "/"
        self.query_string = split.query
        self.query = {k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        self.headers = handler.headers
        self.client_ip = handler.client_address[0]
        self._body = None
        # Legacy edgeEngine nodes read a JSON body whatever its content type (curl -d sends a form type) [C: the
        # READMEs' commands]; the current API drops bodies not sent as application/json [C].
        self.lenient_json = False
        self.segments = [unquote(s) for s in self.raw_path.split("/")[1:]]
        if self.segments and self.segments[-1] == "" and len(self.segments) > 1:
            self.segments = self.segments[:-1]

    @property
    def expects_continue(self):
        return (self.headers.get("Expect") or "").strip().lower() == "100-continue"

    @property
    def content_type(self):
        return (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()

    @property
    def content_length(self):
        try:
            return int(self.headers.get("Content-Length") or 0)
        except ValueError:
            return 0

    def body(self):
        """Read the whole request body (once). Sends the interim 100 Continue if the client asked for it."""
        if self._body is not None:
            return self._body
        handler = self.handler
        if self.expects_continue:
            handler.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            handler.wfile.flush()
        if (self.headers.get("Transfer-Encoding") or "").lower() == "chunked":
            self._body = self._read_chunked()
        else:
            length = self.content_length
            if length > MAX_BODY:
                handler.close_connection = True
                raise HttpError(413, "request body too large")
            self._body = handler.rfile.read(length) if length > 0 else b""
        return self._body

    def _read_chunked(self):
        parts, total = [], 0
        rfile = self.handler.rfile
        while True:
            line = rfile.readline(65537)
            try:
                size = int(line.split(b";")[0].strip(), 16)
            except ValueError:
                self.handler.close_connection = True
                raise HttpError(400, "malformed chunked body") from None
            if size == 0:
                while rfile.readline(65537).strip():
                    pass
                return b"".join(parts)
            total += size
            if total > MAX_BODY:
                self.handler.close_connection = True
                raise HttpError(413, "request body too large")
            parts.append(rfile.read(size))
            rfile.readline(3)

    def json_body(self):
        """The JSON body, or None when the body is not sent as application/json (the engine drops it). With
        ``lenient_json`` any content type (or none) is parsed; a body that is not JSON is then None too."""
        data = self.body()
        if not data.strip():
            return None
        if self.content_type != "application/json":
            if not self.lenient_json or self.content_type == "multipart/form-data":
                return None
            try:
                return json.loads(data.decode("utf-8"))
            except (ValueError, UnicodeDecodeError):
                return None
        try:
            return json.loads(data.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            raise HttpError(400, "request body is not valid JSON") from None

    def discard_body(self):
        """Skip an unread body, or close the connection when it cannot be skipped safely."""
        if self._body is None:
            if self.expects_continue or (self.headers.get("Transfer-Encoding") or "").lower() == "chunked":
                self.handler.close_connection = True
            elif 0 < self.content_length <= 64 * 1024 * 1024:
                self.handler.rfile.read(self.content_length)
                self._body = b""
            elif self.content_length:
                self.handler.close_connection = True


class Response:
    hijacked = False  # True: the handler already used the connection (a WebSocket), nothing more to write

    def __init__(self, status, body=b"", headers=None):
        self.status = status
        self.body = body if isinstance(body, bytes) else body.encode("utf-8")
        self.headers = headers or {}


def json_response(status, obj):
    return Response(status, json.dumps(obj), {"Content-Type": "application/json"})


def error_response(status, message):
    """Every error the simulator answers has this shape (our choice, the spec is silent)."""
    return json_response(status, {"error": {"code": status, "message": message}})


def parse_multipart(body, content_type_header):
    """Return {field name: (filename, content type, bytes)} of a multipart/form-data body."""
    match = re.search(r'boundary="?([^";]+)"?', content_type_header or "", re.I)
    if not match:
        raise HttpError(400, "multipart body without boundary")
    delimiter = b"--" + match.group(1).encode("latin-1")
    fields = {}
    parts = body.split(delimiter)
    for part in parts[1:]:
        if part.startswith(b"--"):
            break
        if part.startswith(b"\r\n"):
            part = part[2:]
        head, sep, content = part.partition(b"\r\n\r\n")
        if not sep:
            continue
        if content.endswith(b"\r\n"):
            content = content[:-2]
        headers = BytesHeaderParser().parsebytes(head + b"\r\n\r\n")
        disposition = headers.get("Content-Disposition", "")
        name = re.search(r'\bname="([^"]*)"', disposition)
        filename = re.search(r'\bfilename="([^"]*)"', disposition)
        if name:
            fields[name.group(1)] = (
                filename.group(1) if filename else None,
                (headers.get("Content-Type") or "").lower(),
                content,
            )
    return fields


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "mimoe-sim"
    sys_version = ""
    # Headers and body leave in one segment (flushed after each request), without Nagle's delay: keep-alive
    # clients otherwise wait for a delayed ACK on every answer.
    wbufsize = 64 * 1024
    disable_nagle_algorithm = True

    def handle_expect_100(self):
        # "100 Continue" is sent when the body is read (Request.body), so an answer given without reading it
        # (403, 404, the refuse_expect_continue fault) goes out instead and the client never sends the body.
        return True

    def log_message(self, fmt, *args):  # noqa: D401 - access log without query strings or headers
        if getattr(self.server, "access_log", False):
            log.info("%s %s %s", self.client_address[0], self.command, urlsplit(self.path).path)

    def _dispatch(self):
        request = Request(self)
        try:
            response = self.server.node.handle(request)
        except DropConnection:
            self.close_connection = True
            return
        except HttpError as exc:
            response = error_response(exc.status, exc.message)
        except Exception:  # noqa: BLE001 - answer 500 rather than kill the connection
            log.exception("internal error on %s %s", request.method, request.raw_path)
            response = error_response(500, "internal simulator error")
        if response.hijacked:
            self.close_connection = True
            return
        request.discard_body()
        try:
            self.send_response(response.status)
            for key, value in response.headers.items():
                if key.lower() not in ("content-length", "connection", "transfer-encoding"):
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(response.body)))
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(response.body)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _dispatch


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, address, node, access_log=False, ssl_context=None):
        self.node = node
        self.access_log = access_log
        self.ssl_context = ssl_context
        super().__init__(address, Handler)

    def get_request(self):
        sock, address = super().get_request()
        if self.ssl_context is not None:
            # The handshake happens in the connection's own thread (finish_request), not in the accept loop.
            sock = self.ssl_context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, address

    def finish_request(self, request, client_address):
        if self.ssl_context is not None:
            request.settimeout(10)
            try:
                request.do_handshake()
            except (ssl.SSLError, OSError) as exc:  # e.g. a client that does not trust our certificate
                log.info("TLS handshake with %s failed: %s", client_address[0], exc)
                return
            request.settimeout(None)
        super().finish_request(request, client_address)


def server_ssl_context(cert_file, key_file, client_ca=None):
    """TLS context of a node serving HTTPS with this certificate (chain) and key, PEM files.

    With ``client_ca`` (PEM CA bundle) the node requires a client certificate signed by it (mutual TLS, as a node
    behind a TLS-terminating proxy that checks clients): a client without one fails the handshake."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert_file, key_file)
    if client_ca:
        context.load_verify_locations(cafile=client_ca)
        context.verify_mode = ssl.CERT_REQUIRED
    return context
