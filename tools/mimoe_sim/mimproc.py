"""One Node.js process per started mim, driven over JSON lines on stdin/stdout (see harness.js)."""

import base64
import itertools
import json
import os
import shutil
import subprocess
import threading

from mimoe_sim.util import log

HARNESS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "harness.js")


class MimUnavailable(Exception):
    """The mim process is not running or died while handling the request."""


def node_binary():
    explicit = os.environ.get("MIMOE_SIM_NODE")
    if explicit:
        return explicit
    found = shutil.which("node") or shutil.which("nodejs")
    if not found:
        raise RuntimeError("Node.js is required to run mims (set MIMOE_SIM_NODE or put node on PATH)")
    return found


class MimProcess:
    """A running mim. on_exit(unexpected: bool) is called once when the process ends."""

    def __init__(self, mim_id, index_path, storage_path, env, info, max_exec_sec, log_path, on_exit=None,
                 node_info=None, on_ws=None):
        """``node_info``: what the runtime needs of its node (port, scheme, bepUrl, hmacKey, websocket);
        ``on_ws(text)`` is called for each context.dispatchWebSocketEvent of the mim."""
        self.mim_id = mim_id
        self._on_ws = on_ws
        self.max_exec_sec = max_exec_sec
        self._on_exit = on_exit
        self._pending = {}
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._ids = itertools.count(1)
        self._stopping = False
        self._ready = threading.Event()
        self._ready_error = None
        self.alive = False
        os.makedirs(os.path.dirname(log_path), exist_ok=True)
        self._log = open(log_path, "ab")
        self.proc = subprocess.Popen(
            [node_binary(), "--max-old-space-size=96", HARNESS],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            close_fds=True,
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "NODE_ENV": "production"},
        )
        self.pid = self.proc.pid
        self.alive = True
        self._reader = threading.Thread(target=self._read_loop, name="mim-%s" % mim_id, daemon=True)
        self._reader.start()
        self._send({
            "op": "init",
            "indexPath": index_path,
            "storagePath": storage_path,
            "filesDir": os.path.splitext(storage_path)[0] + ".files",
            "node": node_info or {},
            "env": env,
            "info": info,
            "maxExecutionMs": int(max_exec_sec * 1000),
        })

    def wait_ready(self, timeout=15):
        if not self._ready.wait(timeout):
            raise MimUnavailable("mim process did not start within %ss" % timeout)
        if not self.alive:
            raise MimUnavailable("mim process exited during start")

    def _send(self, message):
        data = (json.dumps(message) + "\n").encode()
        with self._write_lock:
            try:
                self.proc.stdin.write(data)
                self.proc.stdin.flush()
            except (BrokenPipeError, OSError, ValueError):
                raise MimUnavailable("mim process is not running") from None

    def _read_loop(self):
        for line in self.proc.stdout:
            try:
                message = json.loads(line)
            except ValueError:
                continue
            op = message.get("op")
            if op == "ready":
                self._ready_error = message.get("error")
                self._ready.set()
            elif op == "ws":
                if self._on_ws is not None:
                    try:
                        self._on_ws(str(message.get("data", "")))
                    except Exception:  # noqa: BLE001 - a broken listener must not stop the reader
                        log.exception("websocket dispatch failed for %s", self.mim_id)
            elif op in ("response", "restored"):
                with self._lock:
                    waiter = self._pending.pop(message.get("id"), None)
                if waiter is not None:
                    waiter[1].append(message)
                    waiter[0].set()
        # EOF: the process is gone (or going).
        self.proc.wait()
        self.alive = False
        self._ready.set()
        with self._lock:
            pending, self._pending = self._pending, {}
        for event, _box in pending.values():
            event.set()  # empty box = died
        try:
            self._log.close()
        except OSError:
            pass
        if self._on_exit is not None:
            try:
                self._on_exit(not self._stopping)
            except Exception:  # noqa: BLE001 - a callback error must not kill the reader thread silently
                log.exception("on_exit callback failed for %s", self.mim_id)

    def _call(self, message, timeout):
        if not self.alive:
            raise MimUnavailable("mim process is not running")
        request_id = next(self._ids)
        message["id"] = request_id
        event, box = threading.Event(), []
        with self._lock:
            self._pending[request_id] = (event, box)
        try:
            self._send(message)
        except MimUnavailable:
            with self._lock:
                self._pending.pop(request_id, None)
            raise
        if not event.wait(timeout):
            with self._lock:
                self._pending.pop(request_id, None)
            return None
        if not box:
            raise MimUnavailable("mim process exited while handling the request")
        return box[0]

    def request(self, method, url, headers, body, crash=False):
        """``body``: the request body bytes. Returns (status, headers, body bytes), or None when the harness did
        not answer in time."""
        message = {"op": "request", "method": method, "url": url, "headers": headers,
                   "bodyB64": base64.b64encode(body).decode("ascii")}
        if crash:
            message["crash"] = True
        answer = self._call(message, self.max_exec_sec + 5)
        if answer is None:
            return None
        if "bodyB64" in answer:
            data = base64.b64decode(answer["bodyB64"])
        else:
            data = (answer.get("body") or "").encode("utf-8")
        return answer.get("status", 500), answer.get("headers") or {}, data

    def restore(self, items, timeout=30):
        answer = self._call({"op": "restore", "items": items}, timeout)
        if answer is None:
            raise MimUnavailable("mim process did not confirm the restore")

    def stop(self, timeout=5):
        """End the process (stdin EOF, then SIGTERM, then SIGKILL) and reap it."""
        self._stopping = True
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.terminate()
            try:
                self.proc.wait(2)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._reader.join(2)
        self.alive = False

    def kill(self):
        self._stopping = True
        try:
            self.proc.kill()
        except OSError:
            pass
        self.proc.wait()
        self._reader.join(2)
        self.alive = False
