"""Test helpers for any suite that needs simulated mimOE nodes (standard library only).

    from mimoe_sim.testing import SimNode, SimFleet

    with SimNode() as node:                 # `python -m mimoe_sim serve` on a free loopback port
        node.url, node.api_key, node.data_dir
        node.set_faults(error_rate=1.0); node.clear_faults(); node.stats(); node.reset_stats()
        node.kill(); node.start()           # SIGKILL, then start again on the same port and data dir
        node.token(scope="edge:mcm", expired=False)

    with SimFleet(5) as fleet:              # `python -m mimoe_sim fleet`, then `fleet stop`
        fleet.inventory_path, fleet.nodes   # nodes: list of FleetNode(name, url, api_key, arch, api, ...)

Every process started here is ended by stop()/close(), by the context managers, and at interpreter exit
(atexit), including the mims' Node.js processes (each node runs in its own process group).
"""

import atexit
import base64
import json
import os
import random
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import namedtuple
from urllib.parse import urlsplit

from mimoe_sim import jwt
from mimoe_sim.util import API_KEY_FILE, ensure_jwt_secret, ensure_node_id, read_env_file

TOOLS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_LIVE_GROUPS = set()  # process group ids (node processes, fleet daemons) to sweep at exit


def _sweep_all():
    for pgid in list(_LIVE_GROUPS):
        _kill_group(pgid)


atexit.register(_sweep_all)


def _kill_group(pgid):
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    _LIVE_GROUPS.discard(pgid)


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = TOOLS_DIR + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def free_port_range(count, low=20000, high=32000, attempts=200):
    """A base port such that base..base+count-1 are free now (below the ephemeral range, so bind(0) and
    outgoing connections of parallel tests do not take them)."""
    for _ in range(attempts):
        base = random.randint(low, high - count)
        socks = []
        try:
            for port in range(base, base + count):
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                socks.append(sock)
                sock.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for sock in socks:
                sock.close()
    raise RuntimeError("no free range of %d ports" % count)


def loopback_tls_context(cert=None):
    """TLS client context of the helpers below for a simulator's own HTTPS (loopback test nodes only: no
    verification, as they talk to the node they just started). Clients under test verify as they normally do.
    ``cert``: a (certificate, key) pair of PEM files, for a node that requires a client certificate."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    if cert:
        context.load_cert_chain(*cert)
    return context


def http_json(method, url, body=None, headers=None, timeout=30, cert=None):
    """Small stdlib HTTP helper: returns (status, parsed JSON or text). https URLs are not verified
    (see loopback_tls_context); ``cert`` is the client certificate pair for a node that requires one."""
    data = None
    headers = dict(headers or {})
    if body is not None:
        data = json.dumps(body).encode()
        headers.setdefault("Content-Type", "application/json")
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        context = loopback_tls_context(cert) if url.startswith("https://") else None
        with urllib.request.urlopen(request, timeout=timeout, context=context) as answer:
            status, raw = answer.status, answer.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    try:
        return status, json.loads(raw.decode() or "null")
    except ValueError:
        return status, raw.decode(errors="replace")


class SimNode:
    """One simulator node as a real subprocess (`python -m mimoe_sim serve`)."""

    def __init__(self, data_dir=None, port=None, api_key=None, arch="amd64", api="current", datastore_delay=0.05,
                 extra_args=(), startup_timeout=20, tls_cert=None, tls_key=None, legacy_image_id=None,
                 tls_client_ca=None, helper_cert=None):
        self._own_dir = data_dir is None
        self.data_dir = os.path.abspath(data_dir or tempfile.mkdtemp(prefix="mimoe-sim-"))
        self._fixed_port = port is not None
        self.port = port
        self._requested_key = api_key
        self.arch = arch
        self.api = api
        self.datastore_delay = datastore_delay
        self.extra_args = list(extra_args)
        if tls_cert:  # serve HTTPS with this PEM certificate and key
            self.extra_args += ["--tls-cert", os.path.abspath(tls_cert), "--tls-key", os.path.abspath(tls_key)]
        if tls_client_ca:  # mutual TLS: the node requires a client certificate signed by this CA
            self.extra_args += ["--tls-client-ca", os.path.abspath(tls_client_ca)]
        self.helper_cert = helper_cert  # (cert, key) the helpers below present to such a node
        if legacy_image_id:  # archive | config | short | opaque: how the legacy API shows image ids
            self.extra_args += ["--legacy-image-id", legacy_image_id]
        self.legacy_image_id = legacy_image_id or "archive"
        self.scheme = "https" if tls_cert else "http"
        self.startup_timeout = startup_timeout
        self.proc = None
        self.api_key = api_key
        self._log = None

    def _http(self, *args, **kwargs):
        kwargs.setdefault("cert", self.helper_cert)
        return http_json(*args, **kwargs)

    # -------------------------------------------------------------- lifecycle
    @property
    def url(self):
        return "%s://127.0.0.1:%d" % (self.scheme, self.port)

    @property
    def mcm_url(self):
        return self.url + "/mcm/v1"

    @property
    def running(self):
        return self.proc is not None and self.proc.poll() is None

    @property
    def log_path(self):
        return os.path.join(self.data_dir, "node.log")

    def start(self):
        if self.running:
            return self
        last_error = None
        for _attempt in range(5):
            if self.port is None or (last_error and not self._fixed_port):
                self.port = free_port()
            cmd = [sys.executable, "-m", "mimoe_sim", "serve", "--port", str(self.port), "--data-dir", self.data_dir,
                   "--arch", self.arch, "--api", self.api, "--datastore-delay", str(self.datastore_delay)]
            if self._requested_key is not None:
                cmd += ["--api-key", self._requested_key]
            os.makedirs(self.data_dir, exist_ok=True)
            self._log = open(self.log_path, "ab")
            self.proc = subprocess.Popen(cmd + self.extra_args, stdin=subprocess.DEVNULL, stdout=self._log,
                                         stderr=self._log, env=_env(), start_new_session=True)
            _LIVE_GROUPS.add(self.proc.pid)
            last_error = self._wait_ready()
            if last_error is None:
                self.api_key = read_env_file(os.path.join(self.data_dir, API_KEY_FILE))["MCM_API_KEY"]
                return self
            self._reap()
            if self._fixed_port and "cannot listen" not in last_error:
                break
        raise RuntimeError("simulator node did not start: %s" % last_error)

    def _wait_ready(self):
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return "exited with %s: %s" % (self.proc.returncode, self._log_tail())
            try:
                status, info = self._http("GET", self.url + "/_sim/info", timeout=2)
                if status == 200 and isinstance(info, dict) and info.get("pid") == self.proc.pid:
                    return None
            except (OSError, urllib.error.URLError):
                pass
            time.sleep(0.05)
        return "not ready after %ss: %s" % (self.startup_timeout, self._log_tail())

    def _log_tail(self):
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as fh:
                return "".join(fh.readlines()[-10:]).strip()
        except OSError:
            return ""

    def _reap(self, timeout=15):
        if self.proc is None:
            return
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        _kill_group(self.proc.pid)  # any mim process left in the node's group
        if self._log:
            self._log.close()
            self._log = None

    def stop(self, timeout=15):
        """SIGTERM (the node stops its mims and exits), SIGKILL if it does not end in time."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
        self._reap(timeout)
        self.proc = None

    def kill(self, sweep=True):
        """SIGKILL the node process, like `kill -9`. With sweep=False its mim processes are left to notice
        on their own (they end when their stdin closes)."""
        if self.proc is None:
            return
        self.proc.kill()
        self.proc.wait()
        if sweep:
            _kill_group(self.proc.pid)
        if self._log:
            self._log.close()
            self._log = None
        self.proc = None

    def restart(self):
        self.stop()
        return self.start()

    def close(self):
        self.stop()
        if self._own_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()

    # -------------------------------------------------------------- API helpers
    def headers(self, token=None):
        return {"Authorization": "Bearer %s" % (token or self.api_key)}

    def mcm(self, method, path, body=None, headers=None, timeout=30):
        """Call /mcm/v1<path> with the API key: returns (status, JSON)."""
        all_headers = self.headers()
        all_headers.update(headers or {})
        return self._http(method, self.mcm_url + path, body, all_headers, timeout)

    def info(self):
        return self._http("GET", self.url + "/_sim/info")[1]

    def stats(self):
        return self._http("GET", self.url + "/_sim/stats")[1]

    def reset_stats(self):
        return self._http("POST", self.url + "/_sim/stats/reset")[1]

    def set_faults(self, **faults):
        status, answer = self._http("PUT", self.url + "/_sim/faults", faults)
        if status != 200:
            raise ValueError("faults refused: %s" % answer)
        return answer

    def clear_faults(self):
        return self._http("DELETE", self.url + "/_sim/faults")[1]

    def outcomes(self):
        """{endpoint: {"201": n, "503": n, "dropped": n, "201 answer dropped": n}}: how counted requests ended."""
        return self._http("GET", self.url + "/_sim/outcomes")[1]

    def mim_processes(self):
        """[{id, clientId, state, status, pid}] of the node's mims (pid None when not running)."""
        return self._http("GET", self.url + "/_sim/mims")[1]["data"]

    def token(self, scope=jwt.REQUIRED_SCOPE, expired=False, ttl=3600, client_id=None):
        """An edge access token (HS256 JWT) this node accepts (when scope holds edge:mcm and not expired)."""
        return jwt.make_token(ensure_jwt_secret(self.data_dir), ensure_node_id(self.data_dir), scope=scope,
                              expired=expired, ttl=ttl, client_id=client_id)


FleetNode = namedtuple("FleetNode", "name url port api_key arch api data_dir")


class SimFleet:
    """N nodes started with `python -m mimoe_sim fleet` (one detached daemon), stopped with `fleet stop`."""

    def __init__(self, nodes=5, data_dir=None, base_port=None, api_key=None, arch_cycle=("amd64", "arm64", "arm"),
                 legacy_every=0, inventory_path=None, timeout=120, tls_cert=None, tls_key=None, extra_args=(),
                 legacy_image_id=None):
        self.count = nodes
        self.legacy_image_id = legacy_image_id
        self._own_dir = data_dir is None
        self.data_dir = os.path.abspath(data_dir or tempfile.mkdtemp(prefix="mimoe-fleet-"))
        self._fixed_port = base_port is not None
        self.base_port = base_port
        self.api_key = api_key
        self.arch_cycle = tuple(arch_cycle)
        self.legacy_every = legacy_every
        self.inventory_path = os.path.abspath(inventory_path or os.path.join(self.data_dir, "inventory.yml"))
        self.timeout = timeout
        self.tls = (os.path.abspath(tls_cert), os.path.abspath(tls_key)) if tls_cert else None
        self.extra_args = list(extra_args)  # e.g. ["--legacy-unprefixed"], ["--account-id", "acme"]
        self.nodes = []
        self.pid = None
        self.start_seconds = None
        self.output = ""

    def start(self):
        last = ""
        for _attempt in range(4):
            if not self._fixed_port:
                self.base_port = free_port_range(self.count)
            cmd = [sys.executable, "-m", "mimoe_sim", "fleet", "--nodes", str(self.count), "--base-port",
                   str(self.base_port), "--data-dir", self.data_dir, "--inventory", self.inventory_path,
                   "--arch-cycle", ",".join(self.arch_cycle), "--legacy-every", str(self.legacy_every),
                   "--timeout", str(self.timeout)]
            if self.api_key:
                cmd += ["--api-key", self.api_key]
            if self.tls:
                cmd += ["--tls-cert", self.tls[0], "--tls-key", self.tls[1]]
            cmd += self.extra_args
            if self.legacy_image_id:
                cmd += ["--legacy-image-id", self.legacy_image_id]
            done = subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=self.timeout + 30,
                                  check=False)
            self.output = done.stdout + done.stderr
            ready_path = os.path.join(self.data_dir, "fleet-ready.json")
            if done.returncode == 0:
                with open(ready_path, encoding="utf-8") as fh:
                    ready = json.load(fh)
                self.pid = ready["pid"]
                _LIVE_GROUPS.add(self.pid)
                self.start_seconds = ready.get("seconds")
                scheme = ready.get("scheme", "http")
                self.nodes = [FleetNode(n["name"], "%s://127.0.0.1:%d" % (scheme, n["port"]), n["port"],
                                        n["api_key"], n["arch"], n["api"], n["data_dir"]) for n in ready["nodes"]]
                return self
            last = self.output
            if self._fixed_port or "cannot listen" not in last:
                break
        raise RuntimeError("fleet did not start: %s" % last)

    def stop(self):
        if self.pid is None:
            return ""
        done = subprocess.run([sys.executable, "-m", "mimoe_sim", "fleet", "stop", "--data-dir", self.data_dir],
                              env=_env(), capture_output=True, text=True, timeout=60, check=False)
        _kill_group(self.pid)
        self.pid = None
        return done.stdout + done.stderr

    def close(self):
        self.stop()
        if self._own_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()


class WsClient:
    """A minimal WebSocket client (RFC 6455) for mims that dispatch events: connect, read text frames, close.

        client = WsClient(node.url + "/api/beam/v1")   # status: the handshake's HTTP status (101 when accepted)
        client.recv_text(); client.close()
    """

    def __init__(self, url, timeout=10):
        parts = urlsplit(url)
        sock = socket.create_connection((parts.hostname, parts.port), timeout=timeout)
        if parts.scheme == "https":
            sock = loopback_tls_context().wrap_socket(sock, server_hostname=parts.hostname)
        self.sock = sock
        key = base64.b64encode(os.urandom(16)).decode()
        sock.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n" % (
                          parts.path or "/", parts.netloc, key)).encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = sock.recv(1)
            if not chunk:
                break
            head += chunk
        self.head = head.decode("latin-1")
        self.status = int(self.head.split()[1]) if self.head else 0

    def _exact(self, count):
        data = b""
        while len(data) < count:
            chunk = self.sock.recv(count - len(data))
            if not chunk:
                raise ConnectionError("WebSocket closed by the node")
            data += chunk
        return data

    def recv_text(self):
        """The next text frame (str); raises on another frame type or a closed connection."""
        first, second = self._exact(2)
        size = second & 0x7F
        if size == 126:
            size = struct.unpack("!H", self._exact(2))[0]
        elif size == 127:
            size = struct.unpack("!Q", self._exact(8))[0]
        payload = self._exact(size)
        if first & 0x0F != 0x1:
            raise ValueError("expected a text frame, got opcode %d" % (first & 0x0F))
        return payload.decode("utf-8")

    def close(self):
        mask = os.urandom(4)
        payload = struct.pack("!H", 1000)
        try:
            self.sock.sendall(bytes([0x88, 0x80 | len(payload)]) + mask
                              + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))
        except OSError:
            pass
        self.sock.close()
