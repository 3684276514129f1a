"""One simulated mimOE node: MCM API (current or legacy generation), mim routing, faults, stats, persistence."""

import base64
import copy
import signal
import hashlib
import hmac
import json
import os
import random
import re
import shutil
import tempfile
import threading
import time
import urllib.error
import urllib.request

from mimoe_sim import __version__, jwt, wsock
from mimoe_sim.httpd import (DropConnection, HttpError, Response, Server, error_response, json_response,
                             parse_multipart, server_ssl_context)
from mimoe_sim.imagetar import ImageError, parse_image_tar
from mimoe_sim.mimproc import MimProcess, MimUnavailable
from mimoe_sim.util import (atomic_write_bytes, atomic_write_json, ensure_api_keys, ensure_jwt_secret,
                            ensure_node_id, fsync_dir, log, read_json)

MCM = "/mcm/v1"
DEFAULT_CLIENT_ID = "api"

# MCM.* env keys the node knows. Absent flags are filled with "false" [C]; BASE_API_PATH and
# MAX_EXECUTION_TIME_SEC get the defaults below instead [I].
MCM_FLAGS = (
    "MCM.WEBSOCKET_SUPPORT", "MCM.API_ALIAS", "MCM.OTEL_SUPPORT", "MCM.DB_ENCRYPTION_SUPPORT",
    "MCM.DB_EMBEDDING_SUPPORT", "MCM.LINKLOCAL_REPLAY_NONCE_SUPPORT", "MCM.CHILD_RUNTIME", "MCM.RUNTIME",
)
DEFAULT_MAX_EXECUTION_TIME_SEC = "30"
# The account every simulated node belongs to unless told otherwise (--account-id) [I]: the nodes of one fleet
# therefore see each other in account discovery.
DEFAULT_ACCOUNT_ID = "mimoe-sim-account"
DISCOVERY_CLUSTERS = ("linkLocal", "proximity", "account")

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")

FAULT_DEFAULTS = {
    "latency_ms": 0, "error_rate": 0.0, "error_status": 503, "drop_rate": 0.0, "drop_answer_rate": 0.0,
    "drop_answer_once": [], "fail_deploy_images": [], "crash_mims": [], "kill_mid_upload": False, "seed": None,
    "refuse_expect_continue": False,
}

CURRENT_ROUTES = [
    ("GET", "/mcm/v1/images", "list_images"),
    ("POST", "/mcm/v1/images", "create_image"),
    ("DELETE", "/mcm/v1/images/{id}", "delete_image"),
    ("GET", "/mcm/v1/mims", "list_mims"),
    ("POST", "/mcm/v1/mims", "create_mim"),
    ("GET", "/mcm/v1/mims/{id}", "get_mim"),
    ("DELETE", "/mcm/v1/mims/{id}", "delete_mim"),
    ("POST", "/mcm/v1/compositions", "create_composition"),
    ("POST", "/mcm/v1/mims/{id}/dataStore", "start_datastore"),
    ("GET", "/mcm/v1/mims/{id}/dataStore", "get_datastore"),
]
LEGACY_ROUTES = [
    ("GET", "/mcm/v1/images", "list_images"),
    ("POST", "/mcm/v1/images", "create_image"),
    ("DELETE", "/mcm/v1/images/{id}", "delete_image"),
    ("GET", "/mcm/v1/containers", "list_containers"),
    ("POST", "/mcm/v1/containers", "create_container"),
    ("PUT", "/mcm/v1/containers/{id}", "update_container"),
    ("DELETE", "/mcm/v1/containers/{id}", "delete_container"),
]
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
DATASTORE_STEPS = 10


def account_key(account_id):
    """Key of the edge HMAC codes of an account (jsonrpc getEdgeHmacCode, context.edge.requestBep) [I]: derived
    from the account id, so every node of the account checks the codes of the others (a simulator, not a secret)."""
    return hashlib.sha256(b"mimoe-sim account key\0" + account_id.encode("utf-8")).hexdigest()


def cipher_nodes(kind, payload):
    """The simulator's stand-in for mimik's ciphered node lists: base64 of a JSON envelope that
    context.edge.decryptEncryptedNodesJson opens (harness.js) [I]."""
    envelope = {"format": "mimoe-sim-nodes/1", "type": kind, "payload": payload}
    return base64.b64encode(json.dumps(envelope, sort_keys=True).encode("utf-8")).decode("ascii")


def normalize_base_path(path):
    return "/" + "/".join(p for p in str(path).split("/") if p)


def normalize_env(env, client_id, name):
    """The env as the node stores it: BASE_API_PATH prefixed with /<clientId>, known flags filled."""
    env = dict(env)
    requested = normalize_base_path(env.get("MCM.BASE_API_PATH") or "/" + name)
    env["MCM.BASE_API_PATH"] = "/" + client_id + requested
    for flag in MCM_FLAGS:
        env.setdefault(flag, "false")
    env.setdefault("MCM.MAX_EXECUTION_TIME_SEC", DEFAULT_MAX_EXECUTION_TIME_SEC)
    return env, requested


def match_route(routes, method, segments):
    """Return (template key, handler name, params) or raise HttpError 404/405."""
    path_known = False
    for route_method, template, handler in routes:
        parts = template.split("/")[1:]
        if len(parts) != len(segments):
            continue
        params = {}
        for want, got in zip(parts, segments):
            if want.startswith("{"):
                if not got:
                    break
                params[want[1:-1]] = got
            elif want != got:
                break
        else:
            path_known = True
            if route_method == method:
                return "%s %s" % (method, template), handler, params
    if path_known:
        raise HttpError(405, "method %s not allowed here" % method)
    raise HttpError(404, "no such MCM endpoint")


def route_key(routes, method, segments):
    try:
        return match_route(routes, method, segments)[0]
    except HttpError:
        return "%s %s/(unknown)" % (method, MCM)


class Stats:
    def __init__(self):
        self._lock = threading.Lock()
        self.reset()

    def reset(self):
        with self._lock:
            self.requests_total = 0
            self.write_requests = 0
            self.bytes_uploaded = 0
            self.by_endpoint = {}
            self.outcomes = {}

    def outcome(self, key, outcome):
        """How a counted /mcm request ended: its status ("201"), "dropped" (closed before it was handled) or
        "<status> answer dropped" (handled, then closed without answering)."""
        with self._lock:
            entry = self.outcomes.setdefault(key, {})
            entry[outcome] = entry.get(outcome, 0) + 1

    def outcomes_snapshot(self):
        with self._lock:
            return copy.deepcopy(self.outcomes)

    def count(self, key, nbytes, is_write):
        with self._lock:
            self.requests_total += 1
            self.bytes_uploaded += nbytes
            if is_write:
                self.write_requests += 1
            entry = self.by_endpoint.setdefault(key, {"requests": 0, "bytes": 0})
            entry["requests"] += 1
            entry["bytes"] += nbytes

    def snapshot(self):
        with self._lock:
            return {
                "requests_total": self.requests_total,
                "write_requests": self.write_requests,
                "bytes_uploaded": self.bytes_uploaded,
                "by_endpoint": copy.deepcopy(self.by_endpoint),
            }


def validate_faults(body):
    if not isinstance(body, dict):
        raise HttpError(400, "faults must be a JSON object")
    unknown = set(body) - set(FAULT_DEFAULTS)
    if unknown:
        raise HttpError(400, "unknown fault keys: %s" % ", ".join(sorted(unknown)))
    faults = copy.deepcopy(FAULT_DEFAULTS)
    for key, value in body.items():
        if key == "latency_ms":
            ok = isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 600000
        elif key in ("error_rate", "drop_rate", "drop_answer_rate"):
            ok = isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 1
        elif key == "error_status":
            ok = isinstance(value, int) and not isinstance(value, bool) and 400 <= value <= 599
        elif key in ("fail_deploy_images", "crash_mims", "drop_answer_once"):
            ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
        elif key in ("kill_mid_upload", "refuse_expect_continue"):
            ok = isinstance(value, bool)
        else:  # seed
            ok = value is None or (isinstance(value, int) and not isinstance(value, bool))
        if not ok:
            raise HttpError(400, "invalid value for fault %s" % key)
        faults[key] = value
    return faults


# How a legacy node shows image ids (seed 002 and mimik's sample apps disagree; a client must accept each):
# archive: sha256 of the archive file (the simulator's historical answer) [I]; config: the Docker image id, sha256
# of the config JSON [C: seed 002]; short: its 12-hex short form, sha256:4dcab49015d4 [C: seed 002]; opaque:
# <clientId>-<name>, no digest at all [C: edgeSDK sample apps].
LEGACY_IMAGE_ID_STYLES = ("archive", "config", "short", "opaque")


class Node:
    def __init__(self, data_dir, port, host="127.0.0.1", api_key=None, arch="amd64", api="current",
                 datastore_step_delay=0.05, access_log=False, poll_interval=0.1, tls_cert=None, tls_key=None,
                 name="mimoe-sim", account_id=None, legacy_unprefixed=False, legacy_image_id="archive",
                 tls_client_ca=None):
        if api not in ("current", "legacy"):
            raise ValueError("api must be current or legacy")
        if legacy_unprefixed and api != "legacy":
            raise ValueError("unprefixed mim URLs are an option of the legacy API generation only")
        if legacy_image_id not in LEGACY_IMAGE_ID_STYLES:
            raise ValueError("legacy_image_id must be one of %s" % ", ".join(LEGACY_IMAGE_ID_STYLES))
        self.legacy_image_id = legacy_image_id
        self.data_dir = os.path.abspath(data_dir)
        self.host = host
        self.port = port
        self.arch = arch
        self.api = api
        self.datastore_step_delay = datastore_step_delay
        self.access_log = access_log
        self.poll_interval = poll_interval
        if bool(tls_cert) != bool(tls_key):
            raise ValueError("HTTPS needs both a certificate and a key file")
        if tls_client_ca and not tls_cert:
            raise ValueError("a client CA (mutual TLS) needs HTTPS: a certificate and a key file")
        self.ssl_context = server_ssl_context(tls_cert, tls_key, tls_client_ca) if tls_cert else None
        os.makedirs(self.data_dir, exist_ok=True)
        self.api_key = ensure_api_keys(self.data_dir, api_key)
        self.jwt_secret = ensure_jwt_secret(self.data_dir)
        self.node_id = ensure_node_id(self.data_dir)
        self.name = name
        self.account_id = account_id or DEFAULT_ACCOUNT_ID
        # edgeSDK 1.x served a mim at its requested base path too, without the client prefix [C: 1.x docs].
        self.legacy_unprefixed = legacy_unprefixed
        # Discovery: the nodes this one sees (a fleet sets both to its own nodes and network) [I].
        self.link_local_id = "lln-" + self.node_id[:12]
        self.peers = lambda: [self]
        self.ws_clients = {}  # (clientId, mim id) -> set of wsock.Connection
        self.ws_lock = threading.Lock()
        self.routes = CURRENT_ROUTES if api == "current" else LEGACY_ROUTES
        self.lock = threading.RLock()
        self.state = {"images": [], "mims": []}
        self.procs = {}  # (clientId, mim id) -> MimProcess
        self.datastore = {}  # (clientId, mim id) -> DataStoreResult dict
        self.stats = Stats()
        self.faults = copy.deepcopy(FAULT_DEFAULTS)
        self.rng = random.Random()
        self.fault_lock = threading.Lock()
        self.server = None
        self._serve_thread = None

    # ------------------------------------------------------------------ lifecycle
    @property
    def scheme(self):
        return "https" if self.ssl_context is not None else "http"

    @property
    def state_path(self):
        return os.path.join(self.data_dir, "state.json")

    def bind(self):
        """Bind the listening socket (raises OSError when the port is taken)."""
        self.server = Server((self.host, self.port), self, access_log=self.access_log, ssl_context=self.ssl_context)
        self.port = self.server.server_address[1]

    def start(self, block=False):
        self.load_state()
        if self.server is None:
            self.bind()
        self.start_saved_mims()
        if block:
            self.server.serve_forever(poll_interval=self.poll_interval)
        else:
            self._serve_thread = threading.Thread(target=self.server.serve_forever,
                                                  kwargs={"poll_interval": self.poll_interval},
                                                  name="node-%s" % self.port, daemon=True)
            self._serve_thread.start()

    def shutdown(self):
        """Stop serving and end every mim process (their persisted state stays, so a restart starts them)."""
        if self.server is not None:
            if self._serve_thread is not None:
                self.server.shutdown()
                self._serve_thread.join(5)
            self.server.server_close()
        with self.lock:
            procs, self.procs = list(self.procs.values()), {}
        for proc in procs:
            proc.stop()
        with self.ws_lock:
            connections = [c for group in self.ws_clients.values() for c in group]
            self.ws_clients = {}
        for connection in connections:
            connection.close()

    def load_state(self):
        state = read_json(self.state_path)
        if isinstance(state, dict):
            self.state = {"images": state.get("images") or [], "mims": state.get("mims") or []}
        # Drop image directories that no record references (an upload interrupted before its record was saved).
        images_dir = os.path.join(self.data_dir, "images")
        if os.path.isdir(images_dir):
            wanted = {img["digest"].split(":", 1)[1] for img in self.state["images"]}
            for entry in os.listdir(images_dir):
                if entry not in wanted:
                    shutil.rmtree(os.path.join(images_dir, entry), ignore_errors=True)

    def save_state(self):
        atomic_write_json(self.state_path, self.state)

    def start_saved_mims(self):
        started = []
        with self.lock:
            for mim in self.state["mims"]:
                if mim["state"] == "started":
                    try:
                        started.append((mim, self._spawn(mim)))
                    except (MimUnavailable, RuntimeError, OSError) as exc:
                        log.error("cannot start mim %s: %s", mim["id"], exc)
                        mim.update(state="stopped", status="error")
            for mim, proc in started:
                try:
                    proc.wait_ready()
                except MimUnavailable as exc:
                    log.error("mim %s did not start: %s", mim["id"], exc)
                    self._end_proc(mim)
                    mim.update(state="stopped", status="error")
            self.save_state()

    # ------------------------------------------------------------------ request entry point
    def handle(self, request):
        segments = request.segments
        if segments and segments[0] == "_sim":
            return self.handle_sim(request)
        if segments and segments[0] == "mcm":
            return self.handle_mcm(request)
        if segments[:3] == ["mds", "v1", "nodes"] and len(segments) in (3, 4):
            return self.handle_mds(request)
        if segments == ["jsonrpc", "v1"]:
            return self.handle_jsonrpc(request)
        return self.handle_mim(request)

    def handle_mcm(self, request):
        key = route_key(self.routes, request.method, request.segments)
        request.lenient_json = self.api == "legacy"
        with self.fault_lock:
            refuse_continue = self.faults["refuse_expect_continue"]
        refused = refuse_continue and request.expects_continue and key == "POST /mcm/v1/images"
        if key == "POST /mcm/v1/images" and not request.expects_continue:
            self._maybe_kill_mid_upload(request)
        if refused:
            nbytes = 0  # the body is never read: the upload is refused (below, after auth)
        else:
            nbytes = len(request.body())
        self.stats.count(key, nbytes, request.method in WRITE_METHODS)
        try:
            drop_answer = self.apply_faults(key)
            client_id = self.authenticate(request)
            _key, handler, params = match_route(self.routes, request.method, request.segments)
            response = getattr(self, "op_" + handler)(request, client_id, **params)
        except DropConnection:
            self.stats.outcome(key, "dropped")
            raise
        except HttpError as exc:
            self.stats.outcome(key, str(exc.status))
            raise
        except Exception:  # noqa: BLE001 - the handler answers 500
            self.stats.outcome(key, "500")
            raise
        if drop_answer:
            # The request was handled (state changed), but the client never learns it: the hard case for retries.
            self.stats.outcome(key, "%d answer dropped" % response.status)
            raise DropConnection()
        self.stats.outcome(key, str(response.status))
        return response

    def _maybe_kill_mid_upload(self, request):
        """Fault kill_mid_upload: read half of the upload, then SIGKILL this process (like a power cut)."""
        with self.fault_lock:
            armed = self.faults["kill_mid_upload"]
        length = request.content_length
        if not armed or length < 2:
            return
        request.handler.rfile.read(length // 2)
        log.warning("fault kill_mid_upload: SIGKILL after %d of %d upload bytes", length // 2, length)
        os.kill(os.getpid(), signal.SIGKILL)

    def apply_faults(self, key):
        """Latency, then drop or error; returns whether the answer of this request (route ``key``) is dropped."""
        with self.fault_lock:
            faults = self.faults
            latency = faults["latency_ms"]
            drop = faults["drop_rate"] > 0 and self.rng.random() < faults["drop_rate"]
            error = not drop and faults["error_rate"] > 0 and self.rng.random() < faults["error_rate"]
            drop_answer = (not drop and not error and faults["drop_answer_rate"] > 0
                           and self.rng.random() < faults["drop_answer_rate"])
            if not drop and not error and key in faults["drop_answer_once"]:
                faults["drop_answer_once"].remove(key)  # only the first request of that route
                drop_answer = True
            status = faults["error_status"]
        if latency:
            time.sleep(latency / 1000.0)
        if drop:
            raise DropConnection()
        if error:
            raise HttpError(status, "simulated failure (fault error_rate)")
        return drop_answer

    def authenticate(self, request):
        header = request.headers.get("Authorization") or ""
        match = re.match(r"^\s*bearer\s+(\S+)\s*$", header, re.I)
        token = match.group(1) if match else ""
        claims = None
        if not (token and hmac.compare_digest(token.encode(), self.api_key.encode())):
            if not token:
                raise HttpError(403, "invalid edgeAccessToken: A JWT Token is required")
            try:
                claims = jwt.verify(self.jwt_secret, token)
            except jwt.TokenError as exc:
                raise HttpError(403, "invalid edgeAccessToken: %s" % exc) from None
        override = (request.headers.get("x-client-id") or "").strip()
        if override:
            return override
        if claims and isinstance(claims.get("clientId"), str) and claims["clientId"]:
            return claims["clientId"]
        return DEFAULT_CLIENT_ID

    # ------------------------------------------------------------------ /_sim
    def handle_sim(self, request):
        if not request.client_ip.startswith("127.") and request.client_ip != "::1":
            raise HttpError(403, "/_sim is loopback only")
        path = "/" + "/".join(request.segments)
        method = request.method
        if path == "/_sim/info" and method == "GET":
            return json_response(200, {"arch": self.arch, "api": self.api, "nodeId": self.node_id,
                                       "version": __version__, "port": self.port, "pid": os.getpid()})
        if path == "/_sim/faults":
            if method == "GET":
                with self.fault_lock:
                    return json_response(200, copy.deepcopy(self.faults))
            if method == "PUT":
                faults = validate_faults(request.json_body())
                with self.fault_lock:
                    self.faults = faults
                    self.rng = random.Random(faults["seed"])
                    return json_response(200, copy.deepcopy(faults))
            if method == "DELETE":
                with self.fault_lock:
                    self.faults = copy.deepcopy(FAULT_DEFAULTS)
                    self.rng = random.Random()
                    return json_response(200, copy.deepcopy(self.faults))
        if path == "/_sim/stats" and method == "GET":
            return json_response(200, self.stats.snapshot())
        if path == "/_sim/outcomes" and method == "GET":
            return json_response(200, self.stats.outcomes_snapshot())
        if path == "/_sim/stats/reset" and method == "POST":
            self.stats.reset()
            return json_response(200, self.stats.snapshot())
        if path == "/_sim/mims" and method == "GET":
            with self.lock:
                rows = []
                for mim in self.state["mims"]:
                    proc = self.procs.get((mim["clientId"], mim["id"]))
                    rows.append({"id": mim["id"], "clientId": mim["clientId"], "state": mim["state"],
                                 "status": mim["status"], "pid": proc.pid if proc and proc.alive else None})
            return json_response(200, {"data": rows})
        raise HttpError(404, "no such simulator endpoint")

    # ------------------------------------------------------------------ node services mims call (/mds, /jsonrpc)
    @property
    def url(self):
        host = "127.0.0.1" if self.host in ("0.0.0.0", "", "::") else self.host
        return "%s://%s:%d" % (self.scheme, host, self.port)

    def discovery_view(self):
        """This node as discovery lists it (the shape mimik's example mims read) [I]."""
        with self.lock:
            services = [{"serviceType": m["name"], "id": m["id"], "apiRoot": m["env"]["MCM.BASE_API_PATH"]}
                        for m in self.state["mims"] if m["state"] == "started"]
        return {
            "id": self.node_id, "nodeId": self.node_id, "accountId": self.account_id,
            "account": {"id": self.account_id}, "localLinkNetworkId": self.link_local_id,
            "attributes": [{"name": "name", "value": self.name}],
            "characteristics": [{"name": "os", "value": "linux"}, {"name": "arch", "value": self.arch}],
            "services": services,
            "addresses": [{"type": "local", "url": {"href": self.url}}],
        }

    def handle_mds(self, request):
        """GET /mds/v1/nodes?clusters=linkLocal|proximity|account[,...]: who this node sees, ciphered like
        mimik's answers (context.edge.decryptEncryptedNodesJson opens them). linkLocal and proximity list the
        nodes of the same network (the fleet), account those of the same account [I]."""
        self.stats.count("%s /mds/v1/nodes" % request.method, len(request.body()), False)
        if request.method != "GET":
            raise HttpError(405, "method %s not allowed here" % request.method)
        if len(request.segments) == 4:
            # GET /mds/v1/nodes/{id}[?ping=true]: mims check that a discovered node answers (mimik's superdrive
            # reads data.id) [I: shape]. Only the node itself is known here, unciphered.
            if request.segments[3] != self.node_id:
                raise HttpError(404, "node %s not found" % request.segments[3])
            return json_response(200, {"data": self.discovery_view()})
        clusters = [c.strip() for c in (request.query.get("clusters") or "linkLocal").split(",") if c.strip()]
        unknown = [c for c in clusters if c not in DISCOVERY_CLUSTERS]
        if unknown:
            raise HttpError(400, "unknown cluster %s: use %s" % (unknown[0], ", ".join(DISCOVERY_CLUSTERS)))
        peers = list(self.peers())
        network = [p.discovery_view() for p in peers if p.link_local_id == self.link_local_id]
        payload = {}
        if "linkLocal" in clusters:
            payload["localLinkNetwork"] = {"id": self.link_local_id, "nodes": network}
        if "proximity" in clusters:
            payload["proximity"] = {"nodes": network}
        if "account" in clusters:
            same = [p.discovery_view() for p in peers if p.account_id == self.account_id]
            payload["account"] = {"id": self.account_id, "cipheredNodes": cipher_nodes("account", same)}
        return json_response(200, {"data": cipher_nodes("local", payload)})

    def handle_jsonrpc(self, request):
        """POST /jsonrpc/v1, JSON-RPC 2.0: getMe [token] and getEdgeHmacCode [token, expiry, nodeId, uri]. The
        token is not checked [I]; errors are JSON-RPC errors in a 200 answer."""
        request.lenient_json = True  # mims post it through context.http without a content type
        self.stats.count("%s /jsonrpc/v1" % request.method, len(request.body()), False)
        if request.method != "POST":
            raise HttpError(405, "method %s not allowed here" % request.method)
        call = request.json_body()
        if not isinstance(call, dict) or not isinstance(call.get("method"), str):
            return json_response(200, {"jsonrpc": "2.0", "id": None,
                                       "error": {"code": -32700, "message": "Parse error"}})
        params = call.get("params") if isinstance(call.get("params"), list) else []
        answer = {"jsonrpc": "2.0", "id": call.get("id")}
        if call["method"] == "getMe":
            me = self.discovery_view()
            answer["result"] = {"nodeId": self.node_id, "accountId": self.account_id, "name": self.name,
                                "os": "linux", "arch": self.arch, "version": __version__,
                                "localLinkNetworkId": self.link_local_id, "addresses": me["addresses"]}
        elif call["method"] == "getEdgeHmacCode":
            expiry, node_id = (params + [None] * 4)[1:3]
            uri = (params + [None] * 4)[3]
            try:
                expiry = int(str(expiry))
            except ValueError:
                expiry = None
            if expiry is None or not isinstance(node_id, str) or not node_id or not isinstance(uri, str):
                answer["error"] = {"code": -32602, "message": "Invalid params: [token, expiry, nodeId, uri]"}
            else:
                body = base64.urlsafe_b64encode(json.dumps({"nodeId": node_id, "expiry": expiry, "uri": uri},
                                                           sort_keys=True).encode()).decode().rstrip("=")
                signature = hmac.new(bytes.fromhex(account_key(self.account_id)), body.encode(),
                                     hashlib.sha256).hexdigest()
                answer["result"] = {"edgeHmacCode": body + "." + signature, "expiry": expiry}
        else:
            answer["error"] = {"code": -32601, "message": "Method not found: %s" % call["method"]}
        return json_response(200, answer)

    def dispatch_ws(self, key, text):
        with self.ws_lock:
            connections = list(self.ws_clients.get(key, ()))
        for connection in connections:
            connection.send_text(text)

    def close_ws(self, key):
        with self.ws_lock:
            connections = self.ws_clients.pop(key, set())
        for connection in connections:
            connection.close()

    # ------------------------------------------------------------------ lookups and views
    def _images(self, client_id):
        return [img for img in self.state["images"] if img["clientId"] == client_id]

    def _mims(self, client_id):
        return [mim for mim in self.state["mims"] if mim["clientId"] == client_id]

    def find_image(self, client_id, ref):
        for img in self._images(client_id):
            if ref in (img["id"], img["name"], img["digest"], "sha256:" + img["digest"].split(":", 1)[1],
                       self.legacy_image_id_of(img)):
                return img
        return None

    def find_mim(self, client_id, ref):
        for mim in self._mims(client_id):
            if ref in (mim["id"], mim["name"]):
                return mim
        return None

    def legacy_image_id_of(self, img):
        """The image id a legacy node shows, in the style of --legacy-image-id."""
        style = self.legacy_image_id
        if style == "opaque":
            return img["id"]
        if style == "archive":
            return "sha256:" + img["digest"].split(":", 1)[1]
        config = img.get("config_digest") or img["digest"]  # a record saved before config digests were kept
        return config[:len("sha256:") + 12] if style == "short" else config

    def image_view(self, img):
        if self.api == "legacy":
            hexdigest = img["digest"].split(":", 1)[1]
            view = {"id": self.legacy_image_id_of(img), "name": img["name"], "created": img["created"],
                    "size": img["size"],
                    "containers": sum(1 for m in self._mims(img["clientId"]) if m["imageId"] == img["id"])}
            if self.legacy_image_id == "archive":
                view["repoDigests"] = [img["name"] + "@sha256:" + hexdigest]
            elif self.legacy_image_id in ("config", "short"):
                view["repoDigests"] = [[]]  # seed 002: a list of lists; a loaded (not pulled) image has none
            else:
                view["repoTags"] = list(img["repoTags"])  # the sample-app generation answers like the current API
            return view
        return {"created": img["created"], "digest": img["digest"], "id": img["id"], "name": img["name"],
                "repoTags": list(img["repoTags"]), "size": img["size"], "status": "successfully deployed"}

    def mim_view(self, mim):
        if self.api == "legacy":
            img = self.find_image(mim["clientId"], mim["imageId"])
            image_id = self.legacy_image_id_of(img) if img else mim["imageId"]
            # env is filtered out of legacy answers: it may hold secrets (edgeEngine doc) [I].
            return {"id": mim["id"], "name": mim["name"], "image": mim["image"], "imageId": image_id,
                    "clientId": mim["clientId"], "created": mim["created"] * 1000, "state": mim["state"]}
        return {"id": mim["id"], "name": mim["name"], "image": mim["image"], "imageId": mim["imageId"],
                "clientId": mim["clientId"], "created": mim["created"], "state": mim["state"],
                "status": mim["status"], "env": dict(mim["env"])}

    # ------------------------------------------------------------------ images
    def op_list_images(self, request, client_id):
        with self.lock:
            return json_response(200, {"data": [self.image_view(img) for img in self._images(client_id)]})

    def _received_image(self, request):
        """The uploaded tar bytes: multipart field `image`, or JSON {"url"} / {"base64Image"}."""
        with self.fault_lock:
            refuse_continue = self.faults["refuse_expect_continue"]
        if refuse_continue and request.expects_continue:
            # What some real nodes did (spec): answer before reading the body, which the client never sends.
            request.handler.close_connection = True
            raise HttpError(400, "no image received")
        if request.content_type == "multipart/form-data":
            fields = parse_multipart(request.body(), request.headers.get("Content-Type"))
            if "image" not in fields or not fields["image"][2]:
                raise HttpError(400, "no image received")
            return fields["image"][2]
        body = request.json_body()
        if not isinstance(body, dict):
            raise HttpError(400, "no image received")
        mode = request.query.get("mode", "reference")
        if mode not in ("payload", "reference"):
            raise HttpError(400, "mode must be payload or reference")
        has_payload = isinstance(body.get("base64Image"), str) and bool(body["base64Image"])
        if self.api == "legacy":
            # seed 002: the mode switch picks the field (default reference): payload = base64Image, reference = url.
            if mode == "payload" and not has_payload:
                raise HttpError(400, "mode=payload needs base64Image (the image archive, base64)")
            if mode == "reference" and not (isinstance(body.get("url"), str) and body["url"]):
                raise HttpError(400, "mode=reference (the default) needs url; send base64Image with mode=payload")
        if has_payload and (self.api != "legacy" or mode == "payload"):
            try:
                return base64.b64decode(body["base64Image"], validate=True)
            except ValueError:
                raise HttpError(400, "base64Image is not valid base64") from None
        if isinstance(body.get("url"), str) and body["url"]:
            # {"authorization": "<scheme> <credentials>"}: what the node sends to the registry, the way a mim's
            # context.http.request takes it [I: the MCM doc names no credential field for pulls].
            authorization = body.get("authorization")
            if authorization is not None and (not isinstance(authorization, str) or not authorization.strip()
                                              or "\n" in authorization or "\r" in authorization):
                raise HttpError(400, "authorization must be a non-empty header value")
            return self._download(body["url"], authorization)
        raise HttpError(400, "no image received")

    @staticmethod
    def _download(url, authorization=None):
        if not re.match(r"^https?://", url, re.I):
            raise HttpError(400, "image url must be http or https")
        request = urllib.request.Request(url)
        if authorization:
            request.add_unredirected_header("Authorization", authorization)  # never forwarded to a redirect target
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310 - scheme checked above
                data = answer.read(512 * 1024 * 1024 + 1)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise HttpError(400, "cannot download the image from %s: %s" % (url, getattr(exc, "reason", exc)))
        if len(data) > 512 * 1024 * 1024:
            raise HttpError(413, "image too large")
        return data

    def op_create_image(self, request, client_id):
        data = self._received_image(request)
        try:
            parsed = parse_image_tar(data)
        except ImageError as exc:
            raise HttpError(400, str(exc)) from None
        hexdigest = parsed["digest"].split(":", 1)[1]
        images_dir = os.path.join(self.data_dir, "images")
        final_dir = os.path.join(images_dir, hexdigest)
        with self.lock:
            if not os.path.isdir(final_dir):
                os.makedirs(images_dir, exist_ok=True)
                tmp_dir = tempfile.mkdtemp(prefix=".tmp-", dir=images_dir)
                try:
                    atomic_write_bytes(os.path.join(tmp_dir, "index.js"), parsed["index_js"])
                    atomic_write_json(os.path.join(tmp_dir, "image.json"),
                                      {k: parsed[k] for k in ("name", "version", "repoTags", "digest", "size",
                                                              "labels")})
                    os.rename(tmp_dir, final_dir)
                    fsync_dir(images_dir)
                except BaseException:
                    shutil.rmtree(tmp_dir, ignore_errors=True)
                    raise
            record = {
                "id": "%s-%s" % (client_id, parsed["name"]), "clientId": client_id, "name": parsed["name"],
                "version": parsed["version"], "repoTags": parsed["repoTags"], "digest": parsed["digest"],
                "config_digest": parsed["config_digest"], "size": parsed["size"], "created": int(time.time()),
            }
            old = self.find_image(client_id, record["id"])
            if old is not None:  # uploading the same name again replaces the image (docker load semantics) [I]
                self.state["images"].remove(old)
            self.state["images"].append(record)
            self.save_state()
            if old is not None:
                self._gc_image_dir(old["digest"])
            return json_response(201, self.image_view(record))

    def _gc_image_dir(self, digest):
        if not any(img["digest"] == digest for img in self.state["images"]):
            shutil.rmtree(os.path.join(self.data_dir, "images", digest.split(":", 1)[1]), ignore_errors=True)

    def op_delete_image(self, request, client_id, id):  # noqa: A002 - route parameter name
        with self.lock:
            img = self.find_image(client_id, id)
            if img is None:
                raise HttpError(404, "image %s not found" % id)
            users = [m["name"] for m in self._mims(client_id) if m["imageId"] == img["id"]]
            if users:
                kind = "container" if self.api == "legacy" else "mim"
                raise HttpError(409, "image %s is used by %s(s) %s: remove them first" % (
                    img["name"], kind, ", ".join(users)))
            view = self.image_view(img)
            self.state["images"].remove(img)
            self.save_state()
            self._gc_image_dir(img["digest"])
            return json_response(200, view)

    # ------------------------------------------------------------------ mims
    def _validate_spec(self, spec, client_id, legacy=False):
        """Check one MimSpec; returns the mim record to create (not yet stored). Raises HttpError."""
        if not isinstance(spec, dict):
            raise HttpError(400, "request body must be a JSON object (sent as application/json)")
        name = spec.get("name")
        if not isinstance(name, str) or not NAME_RE.match(name):
            raise HttpError(400, "name is required (letters, digits, '.', '_', '-')")
        image_ref = spec.get("image")
        if not isinstance(image_ref, str) or not image_ref:
            raise HttpError(400, "image is required")
        owner = spec.get("clientId", client_id)
        if not isinstance(owner, str) or not owner:
            raise HttpError(400, "clientId must be a non-empty string")
        raw_env = spec.get("env", {})
        if raw_env is None:
            raw_env = {}
        env = {}
        if legacy and isinstance(raw_env, list):
            for item in raw_env:
                if not isinstance(item, str):
                    raise HttpError(400, "env entries must be strings VAR=value")
                if "=" in item:
                    key, value = item.split("=", 1)
                    env[key] = value
                else:
                    env.pop(item, None)
        elif isinstance(raw_env, dict):
            for key, value in raw_env.items():
                if not isinstance(value, str):
                    raise HttpError(400, 'env value of "%s" must be a string' % key)
                env[key] = value
        else:
            raise HttpError(400, "env must be an object" + (" or a list of VAR=value" if legacy else ""))
        img = self.find_image(owner, image_ref)
        if img is None:
            raise HttpError(400, 'image "%s" not found for client "%s": upload it first' % (image_ref, owner))
        mim_id = "%s-%s" % (owner, name)
        if self.find_mim(owner, mim_id) is not None:
            raise HttpError(409, "%s %s already exists: remove it first" % (
                "container" if legacy else "mim", mim_id))
        env, requested = normalize_env(env, owner, name)
        try:
            if int(env["MCM.MAX_EXECUTION_TIME_SEC"]) <= 0:
                raise ValueError
        except ValueError:
            raise HttpError(400, "MCM.MAX_EXECUTION_TIME_SEC must be a positive integer string") from None
        with self.fault_lock:
            failing = img["name"] in self.faults["fail_deploy_images"]
        if failing:
            raise HttpError(500, "simulated deploy failure for image %s (fault fail_deploy_images)" % img["name"])
        return {"id": mim_id, "name": name, "clientId": owner, "image": img["name"], "imageId": img["id"],
                "created": int(time.time()), "state": "started", "status": "up", "env": env,
                "requestedBasePath": requested}

    def _spawn(self, mim):
        img = self.find_image(mim["clientId"], mim["imageId"])
        if img is None:
            raise MimUnavailable("image %s is gone" % mim["imageId"])
        index_path = os.path.join(self.data_dir, "images", img["digest"].split(":", 1)[1], "index.js")
        key = (mim["clientId"], mim["id"])
        holder = {}

        def on_exit(unexpected):
            if unexpected:
                self._mim_died(key, holder.get("proc"))

        proc = MimProcess(
            mim["id"], index_path, self.storage_path(mim), mim["env"],
            {"serviceType": mim["name"], "apiRoot": mim["env"]["MCM.BASE_API_PATH"], "httpPort": self.port,
             "accountId": self.account_id, "nodeId": self.node_id},
            int(mim["env"].get("MCM.MAX_EXECUTION_TIME_SEC", DEFAULT_MAX_EXECUTION_TIME_SEC)),
            os.path.join(self.data_dir, "logs", self._file_key(mim) + ".log"), on_exit,
            node_info={"port": self.port, "scheme": self.scheme, "bepUrl": self.url,
                       "hmacKey": account_key(self.account_id),
                       "websocket": mim["env"].get("MCM.WEBSOCKET_SUPPORT") == "true"},
            on_ws=lambda text: self.dispatch_ws(key, text),
        )
        holder["proc"] = proc
        self.procs[key] = proc
        return proc

    def _mim_died(self, key, proc):
        with self.lock:
            if self.procs.get(key) is not proc:
                return
            del self.procs[key]
            for mim in self.state["mims"]:
                if (mim["clientId"], mim["id"]) == key:
                    mim.update(state="stopped", status="crashed")
                    log.warning("mim %s exited unexpectedly", mim["id"])
            self.save_state()

    def _end_proc(self, mim):
        proc = self.procs.pop((mim["clientId"], mim["id"]), None)
        if proc is not None:
            proc.stop()
        self.close_ws((mim["clientId"], mim["id"]))

    @staticmethod
    def _file_key(mim):
        return hashlib.sha256(("%s\0%s" % (mim["clientId"], mim["id"])).encode()).hexdigest()[:16] + "-" + \
            re.sub(r"[^A-Za-z0-9._-]", "_", mim["id"])

    def storage_path(self, mim):
        return os.path.join(self.data_dir, "storage", self._file_key(mim) + ".json")

    def _deploy(self, records):
        """Start the processes of validated records; all or nothing. Caller holds the lock."""
        started = []
        try:
            for record in records:
                started.append((record, self._spawn(record)))
            for _record, proc in started:
                proc.wait_ready()
        except (MimUnavailable, RuntimeError, OSError) as exc:
            for record, _proc in started:
                self._end_proc(record)
            raise HttpError(500, "cannot start the mim: %s" % exc) from None
        self.state["mims"].extend(records)
        self.save_state()

    def op_list_mims(self, request, client_id):
        with self.lock:
            return json_response(200, {"data": [self.mim_view(m) for m in self._mims(client_id)]})

    def op_get_mim(self, request, client_id, id):  # noqa: A002
        with self.lock:
            mim = self.find_mim(client_id, id)
            if mim is None:
                raise HttpError(404, "mim %s not found" % id)
            return json_response(200, self.mim_view(mim))

    def op_create_mim(self, request, client_id, legacy=False):
        body = request.json_body()
        if body is None:
            raise HttpError(400, "a JSON body (Content-Type: application/json) with name, image and env is required")
        with self.lock:
            record = self._validate_spec(body, client_id, legacy)
            self._deploy_fresh([record])
            return json_response(201, self.mim_view(record))

    def _deploy_fresh(self, records):
        # Remove leftovers of an earlier mim with the same id before the new process opens its storage.
        for record in records:
            self._remove_storage(record)
        self._deploy(records)

    def _remove_storage(self, mim):
        """A mim's storage items and files go with it."""
        try:
            os.unlink(self.storage_path(mim))
        except FileNotFoundError:
            pass
        shutil.rmtree(os.path.splitext(self.storage_path(mim))[0] + ".files", ignore_errors=True)

    def op_create_composition(self, request, client_id):
        body = request.json_body()
        if not isinstance(body, dict) or not isinstance(body.get("mims"), list) or not body["mims"]:
            raise HttpError(400, 'a JSON body {"mims": [MimSpec, ...]} is required')
        with self.lock:
            records, seen = [], set()
            for index, spec in enumerate(body["mims"]):
                try:
                    record = self._validate_spec(spec, client_id)
                except HttpError as exc:
                    raise HttpError(exc.status, "mims[%d]: %s" % (index, exc.message)) from None
                if (record["clientId"], record["id"]) in seen:
                    raise HttpError(409, "mims[%d]: %s appears twice in the composition" % (index, record["id"]))
                seen.add((record["clientId"], record["id"]))
                records.append(record)
            self._deploy_fresh(records)
            return json_response(201, {"data": [self.mim_view(r) for r in records]})

    def op_delete_mim(self, request, client_id, id):  # noqa: A002
        with self.lock:
            mim = self.find_mim(client_id, id)
            if mim is None:
                raise HttpError(404, "%s %s not found" % ("container" if self.api == "legacy" else "mim", id))
            running = self.datastore.get((mim["clientId"], mim["id"]))
            if running is not None and running["status"] == "inProgress":
                raise HttpError(409, "a dataStore operation is in progress for %s" % id)
            view = self.mim_view(mim)
            self._end_proc(mim)
            self.state["mims"].remove(mim)
            self.save_state()
            self.datastore.pop((mim["clientId"], mim["id"]), None)
            self._remove_storage(mim)
            return json_response(200, view)

    # ------------------------------------------------------------------ legacy containers
    def op_list_containers(self, request, client_id):
        return self.op_list_mims(request, client_id)

    def op_create_container(self, request, client_id):
        return self.op_create_mim(request, client_id, legacy=True)

    def op_delete_container(self, request, client_id, id):  # noqa: A002
        return self.op_delete_mim(request, client_id, id)

    def op_update_container(self, request, client_id, id):  # noqa: A002
        body = request.json_body()
        action = body.get("action") if isinstance(body, dict) else None
        if action not in ("start", "stop"):
            raise HttpError(400, 'action must be "start" or "stop"')
        with self.lock:
            mim = self.find_mim(client_id, id)
            if mim is None:
                raise HttpError(404, "container %s not found" % id)
            self._set_running(mim, action == "start")
            return json_response(200, {"data": {}})

    def _set_running(self, mim, running):
        key = (mim["clientId"], mim["id"])
        if running:
            if key not in self.procs:
                try:
                    self._spawn(mim).wait_ready()
                except (MimUnavailable, RuntimeError, OSError) as exc:
                    self._end_proc(mim)
                    raise HttpError(500, "cannot start %s: %s" % (mim["id"], exc)) from None
            mim.update(state="started", status="up")
        else:
            self._end_proc(mim)
            mim.update(state="stopped", status="down")
        self.save_state()

    # ------------------------------------------------------------------ dataStore backup / restore
    def op_get_datastore(self, request, client_id, id):  # noqa: A002
        with self.lock:
            mim = self.find_mim(client_id, id)
            if mim is None:
                raise HttpError(404, "mim %s not found" % id)
            result = self.datastore.get((mim["clientId"], mim["id"]))
            if result is None:
                raise HttpError(404, "no dataStore operation for mim %s" % id)
            return json_response(200, dict(result))

    @property
    def datastore_root(self):
        return os.path.join(self.data_dir, "datastore")

    def resolve_datastore_path(self, path):
        """The file of a dataStore path, confined to the node's own storage (a real node does not write where
        a client says) [I]: relative paths live under <data-dir>/datastore/, absolute ones must point there."""
        root = os.path.realpath(self.datastore_root)
        full = os.path.realpath(path if os.path.isabs(path) else os.path.join(root, path))
        if not full.startswith(root + os.sep):
            raise HttpError(400, 'path "%s" is outside the node\'s datastore storage: give a path relative to it '
                                 '(or one under %s)' % (path, root))
        return full

    def op_start_datastore(self, request, client_id, id):  # noqa: A002
        body = request.json_body()
        if not isinstance(body, dict):
            raise HttpError(400, 'a JSON body {"action": "backup"|"restore", "path": "..."} is required')
        action, path = body.get("action"), body.get("path")
        if action not in ("backup", "restore"):
            raise HttpError(400, 'action must be "backup" or "restore"')
        if not isinstance(path, str) or not path:
            raise HttpError(400, "path is required")
        self.resolve_datastore_path(path)
        with self.lock:
            mim = self.find_mim(client_id, id)
            if mim is None:
                raise HttpError(404, "mim %s not found" % id)
            key = (mim["clientId"], mim["id"])
            current = self.datastore.get(key)
            if current is not None and current["status"] == "inProgress":
                raise HttpError(409, "a dataStore %s is already in progress for %s" % (current["action"], id))
            result = {"action": action, "status": "inProgress", "message": "%s started" % action,
                      "path": path, "percentage": 0}
            self.datastore[key] = result
            worker = self._run_backup if action == "backup" else self._run_restore
            threading.Thread(target=worker, args=(mim, key, path), daemon=True,
                             name="datastore-%s" % mim["id"]).start()
            return json_response(200, dict(result))

    def _progress(self, key, **changes):
        with self.lock:
            result = self.datastore.get(key)
            if result is not None:
                result.update(changes)

    def _run_backup(self, mim, key, path):
        target = self.resolve_datastore_path(path)
        tmp = None
        try:
            stored = read_json(self.storage_path(mim), {}) or {}
            items = stored.get("items") or {}
            document = json.dumps({"format": "mimoe-sim-datastore/1", "mim": mim["id"], "clientId": mim["clientId"],
                                   "created": int(time.time()), "items": items}, indent=1).encode()
            directory = os.path.dirname(target)
            os.makedirs(directory, exist_ok=True)  # inside <data-dir>/datastore, created on demand
            fd, tmp = tempfile.mkstemp(prefix=".tmp-backup-", dir=directory)
            step = max(1, -(-len(document) // DATASTORE_STEPS))
            with os.fdopen(fd, "wb") as fh:
                for index in range(DATASTORE_STEPS):
                    fh.write(document[index * step:(index + 1) * step])
                    time.sleep(self.datastore_step_delay)
                    self._progress(key, percentage=min(99, (index + 1) * 100 // DATASTORE_STEPS))
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, target)
            tmp = None
            fsync_dir(directory)
            self._progress(key, status="completed", percentage=100,
                           message="backup completed: %d item(s) written" % len(items))
        except OSError as exc:
            self._progress(key, status="failed", message="backup failed: cannot write %s: %s" % (
                path, exc.strerror or exc))
        except Exception as exc:  # noqa: BLE001 - report, never leave the operation inProgress
            log.exception("backup failed")
            self._progress(key, status="failed", message="backup failed: %s" % exc)
        finally:
            if tmp is not None:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass

    def _run_restore(self, mim, key, path):
        source = self.resolve_datastore_path(path)
        try:
            try:
                size = os.path.getsize(source)
                chunks = []
                step = max(1, -(-size // DATASTORE_STEPS))
                with open(source, "rb") as fh:
                    for index in range(DATASTORE_STEPS):
                        chunks.append(fh.read(step))
                        time.sleep(self.datastore_step_delay)
                        self._progress(key, percentage=min(99, (index + 1) * 100 // DATASTORE_STEPS))
            except FileNotFoundError:
                raise ValueError("backup file not found: %s" % path) from None
            except OSError as exc:
                raise ValueError("cannot read %s: %s" % (path, exc.strerror or exc)) from None
            try:
                document = json.loads(b"".join(chunks).decode("utf-8"))
            except (ValueError, UnicodeDecodeError):
                raise ValueError("%s is not a dataStore backup" % path) from None
            items = document.get("items") if isinstance(document, dict) else None
            if document.get("format") != "mimoe-sim-datastore/1" or not isinstance(items, dict) or not all(
                    isinstance(v, dict) and isinstance(v.get("value"), str) for v in items.values()):
                raise ValueError("%s is not a dataStore backup" % path)
            with self.lock:
                if self.find_mim(mim["clientId"], mim["id"]) is not mim:
                    raise ValueError("the mim was removed during the restore")
                proc = self.procs.get(key)
                if proc is not None and proc.alive:
                    proc.restore(items)  # the running mim sees the restored storage at once
                else:
                    atomic_write_json(self.storage_path(mim), {"items": items}, 0o600)
            self._progress(key, status="completed", percentage=100,
                           message="restore completed: %d item(s) restored" % len(items))
        except (ValueError, MimUnavailable) as exc:
            self._progress(key, status="failed", message="restore failed: %s" % exc)
        except Exception as exc:  # noqa: BLE001
            log.exception("restore failed")
            self._progress(key, status="failed", message="restore failed: %s" % exc)

    # ------------------------------------------------------------------ calls to mims
    def _mim_routes(self):
        routes = []
        for mim in self.state["mims"]:
            routes.append((mim["env"]["MCM.BASE_API_PATH"], mim))
            if mim["env"].get("MCM.API_ALIAS") == "true":
                routes.append(("/" + DEFAULT_CLIENT_ID + mim["requestedBasePath"], mim))
            if self.legacy_unprefixed:
                routes.append((mim["requestedBasePath"], mim))
        routes.sort(key=lambda r: len(r[0]), reverse=True)
        return routes

    def handle_mim(self, request):
        path = request.raw_path
        with self.lock:
            match = None
            for base, mim in self._mim_routes():
                if path == base or path.startswith(base.rstrip("/") + "/"):
                    match = (base, mim)
                    break
            if match is None:
                body = request.body()
                self.stats.count("%s (no mim)" % request.method, len(body), False)
                raise HttpError(404, "no mim serves %s" % path)
            base, mim = match
            proc = self.procs.get((mim["clientId"], mim["id"]))
            with self.fault_lock:
                crash = mim["name"] in self.faults["crash_mims"] or mim["id"] in self.faults["crash_mims"]
        if wsock.is_upgrade(request.headers):
            return self._accept_ws(request, mim, proc)
        body = request.body()
        self.stats.count("%s %s/*" % (request.method, base), len(body), False)
        if proc is None or not proc.alive:
            raise HttpError(503, "mim %s is not running (state %s)" % (mim["id"], mim["state"]))
        sub_url = path[len(base.rstrip("/")):] or "/"
        if request.query_string:
            sub_url += "?" + request.query_string
        headers = {k.lower(): v for k, v in request.headers.items()}
        try:
            answer = proc.request(request.method, sub_url, headers, body, crash=crash)
        except MimUnavailable as exc:
            raise HttpError(502, "mim %s failed: %s" % (mim["id"], exc)) from None
        if answer is None:
            # The harness itself is stuck (e.g. an endless loop in a callback): restart the process.
            with self.lock:
                if self.procs.get((mim["clientId"], mim["id"])) is proc:
                    self.procs.pop((mim["clientId"], mim["id"]))
                    proc.kill()
                    try:
                        self._spawn(mim).wait_ready()
                    except (MimUnavailable, RuntimeError, OSError):
                        self._end_proc(mim)
                        mim.update(state="stopped", status="crashed")
                        self.save_state()
            return error_response(504, "mim execution time limit exceeded")
        status, headers_out, data = answer
        return Response(int(status), data, headers_out)

    def _accept_ws(self, request, mim, proc):
        """A WebSocket client of a mim deployed with MCM.WEBSOCKET_SUPPORT "true": it receives the mim's
        context.dispatchWebSocketEvent events until it closes [I: mimik does not publish the protocol]."""
        key = (mim["clientId"], mim["id"])
        self.stats.count("GET %s (websocket)" % mim["env"]["MCM.BASE_API_PATH"], 0, False)
        if mim["env"].get("MCM.WEBSOCKET_SUPPORT") != "true":
            raise HttpError(400, "mim %s does not support WebSocket (MCM.WEBSOCKET_SUPPORT is not \"true\")"
                            % mim["id"])
        if proc is None or not proc.alive:
            raise HttpError(503, "mim %s is not running (state %s)" % (mim["id"], mim["state"]))
        connection = wsock.Connection(request.handler)
        connection.handshake()
        with self.ws_lock:
            self.ws_clients.setdefault(key, set()).add(connection)
        try:
            connection.serve()
        finally:
            with self.ws_lock:
                group = self.ws_clients.get(key)
                if group is not None:
                    group.discard(connection)
        response = Response(101)
        response.hijacked = True
        return response
