"""Fleets: N simulated nodes hosted by ONE detached daemon process (one listener per node), plus the inventory."""

import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time

from mimoe_sim.node import Node
from mimoe_sim.util import atomic_write_bytes, atomic_write_json, log, read_json

PID_FILE = "fleet.pid"
SPEC_FILE = "fleet-spec.json"
READY_FILE = "fleet-ready.json"
LOG_FILE = "fleet.log"


class FleetError(Exception):
    pass


def pid_alive(pid):
    """True if pid runs (a zombie, i.e. exited but not yet reaped by its parent, counts as ended)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open("/proc/%d/stat" % pid, encoding="ascii", errors="replace") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def read_pid(data_dir):
    try:
        with open(os.path.join(data_dir, PID_FILE), encoding="ascii") as fh:
            return int(fh.read().strip())
    except (FileNotFoundError, ValueError):
        return None


def node_specs(nodes, base_port, data_dir, api_key=None, arch_cycle=("amd64", "arm64", "arm"), legacy_every=0):
    specs = []
    for index in range(nodes):
        number = index + 1
        specs.append({
            "name": "node%03d" % number,
            "port": base_port + index,
            "data_dir": os.path.join(data_dir, "node%03d" % number),
            "arch": arch_cycle[index % len(arch_cycle)],
            "api": "legacy" if legacy_every and number % legacy_every == 0 else "current",
            "api_key": api_key,
        })
    return specs


def yaml_str(value):
    return json.dumps(str(value))  # a JSON string is a valid YAML double-quoted scalar


def write_inventory(path, nodes, scheme="http"):
    lines = ["# Written by `python -m mimoe_sim fleet`: simulated mimOE nodes on loopback.",
             "all:", "  children:", "    mimoe_nodes:", "      hosts:"]
    for node in nodes:
        lines += [
            "        %s:" % node["name"],
            "          mcm_url: %s" % yaml_str("%s://127.0.0.1:%d" % (scheme, node["port"])),
            "          mcm_token: %s" % yaml_str(node["api_key"]),
            "          mimoe_arch: %s" % yaml_str(node["arch"]),
            "          mimoe_api: %s" % yaml_str(node["api"]),
            "          ansible_connection: local",
        ]
    atomic_write_bytes(os.path.abspath(path), ("\n".join(lines) + "\n").encode(), 0o600)


def start_fleet(data_dir, nodes, base_port, inventory, api_key=None, arch_cycle=("amd64", "arm64", "arm"),
                legacy_every=0, timeout=120, datastore_step_delay=0.05, tls_cert=None, tls_key=None, account_id=None,
                legacy_unprefixed=False, legacy_image_id="archive"):
    """Start the daemon, wait until every node listens, write the inventory. Returns the ready info.

    ``legacy_image_id`` is how the legacy nodes show image ids (see ``node.LEGACY_IMAGE_ID_STYLES``).

    With ``tls_cert`` and ``tls_key`` (PEM files) every node serves HTTPS with that certificate."""
    data_dir = os.path.abspath(data_dir)
    os.makedirs(data_dir, exist_ok=True)
    pid = read_pid(data_dir)
    if pid and pid_alive(pid):
        raise FleetError("a fleet already runs from %s (pid %d); stop it first" % (data_dir, pid))
    for name in (PID_FILE, READY_FILE):
        try:
            os.unlink(os.path.join(data_dir, name))
        except FileNotFoundError:
            pass
    specs = node_specs(nodes, base_port, data_dir, api_key, arch_cycle, legacy_every)
    tls = {"cert": os.path.abspath(tls_cert), "key": os.path.abspath(tls_key)} if tls_cert else None
    atomic_write_json(os.path.join(data_dir, SPEC_FILE),
                      {"nodes": specs, "datastore_step_delay": datastore_step_delay, "tls": tls,
                       "account_id": account_id, "legacy_unprefixed": legacy_unprefixed,
                       "legacy_image_id": legacy_image_id})
    started = time.monotonic()
    env = dict(os.environ)
    package_parent = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = package_parent + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    with open(os.path.join(data_dir, LOG_FILE), "ab") as log_file:
        daemon = subprocess.Popen(
            [sys.executable, "-m", "mimoe_sim", "_fleet-daemon", "--data-dir", data_dir],
            stdin=subprocess.DEVNULL, stdout=log_file, stderr=log_file, start_new_session=True, env=env,
            close_fds=True,
        )
    ready_path = os.path.join(data_dir, READY_FILE)
    deadline = time.monotonic() + timeout
    while True:
        ready = read_json(ready_path)
        if ready:
            break
        if daemon.poll() is not None:
            raise FleetError("the fleet daemon exited (status %s): %s" % (daemon.returncode, log_tail(data_dir)))
        if time.monotonic() > deadline:
            stop_fleet(data_dir)
            raise FleetError("the fleet did not start within %ss: %s" % (timeout, log_tail(data_dir)))
        time.sleep(0.05)
    ready["seconds"] = round(time.monotonic() - started, 2)
    ready["scheme"] = "https" if tls else "http"
    atomic_write_json(ready_path, ready, 0o600)
    if inventory:
        write_inventory(inventory, ready["nodes"], ready["scheme"])
    return ready


def log_tail(data_dir, lines=15):
    try:
        with open(os.path.join(data_dir, LOG_FILE), encoding="utf-8", errors="replace") as fh:
            return "".join(fh.readlines()[-lines:]).strip()
    except OSError:
        return "(no log)"


def stop_fleet(data_dir, timeout=30):
    """SIGTERM the daemon, wait for it; SIGKILL its process group if it does not end. Returns a message."""
    data_dir = os.path.abspath(data_dir)
    pid = read_pid(data_dir)
    if pid is None:
        return "no fleet runs from %s" % data_dir
    if pid_alive(pid):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        forced = pid_alive(pid)
        try:  # the daemon leads its own process group: this also ends any mim process left behind
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        message = "fleet (pid %d) %s" % (pid, "killed after %ss" % timeout if forced else "stopped")
    else:
        message = "fleet (pid %d) was not running" % pid
    for name in (PID_FILE, READY_FILE):
        try:
            os.unlink(os.path.join(data_dir, name))
        except FileNotFoundError:
            pass
    return message


def run_daemon(data_dir):
    """Body of the detached daemon: host every node of the spec until SIGTERM/SIGINT."""
    data_dir = os.path.abspath(data_dir)
    spec = read_json(os.path.join(data_dir, SPEC_FILE))
    atomic_write_bytes(os.path.join(data_dir, PID_FILE), ("%d\n" % os.getpid()).encode())
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    nodes = []
    tls = spec.get("tls") or {}
    try:
        for node_spec in spec["nodes"]:
            try:
                node = Node(node_spec["data_dir"], node_spec["port"], api_key=node_spec.get("api_key"),
                            arch=node_spec["arch"], api=node_spec["api"],
                            datastore_step_delay=spec.get("datastore_step_delay", 0.05), poll_interval=0.5,
                            tls_cert=tls.get("cert"), tls_key=tls.get("key"), name=node_spec["name"],
                            account_id=spec.get("account_id"),
                            legacy_unprefixed=bool(spec.get("legacy_unprefixed")) and node_spec["api"] == "legacy",
                            legacy_image_id=spec.get("legacy_image_id") or "archive")
            except (OSError, ValueError) as exc:
                raise FleetError("%s: cannot set up TLS: %s" % (node_spec["name"], exc)) from None
            try:
                node.bind()
            except OSError as exc:
                raise FleetError("%s: cannot listen on 127.0.0.1:%d: %s" % (
                    node_spec["name"], node_spec["port"], exc.strerror or exc)) from None
            nodes.append((node_spec, node))
        # The nodes of a fleet share one link-local network, so they discover each other (/mds/v1/nodes) [I].
        members = [node for _spec, node in nodes]
        network = "lln-fleet-" + hashlib.sha256(data_dir.encode()).hexdigest()[:12]
        for node in members:
            node.link_local_id = network
            node.peers = lambda: members
        for _spec, node in nodes:
            node.start()
        ready = {"pid": os.getpid(), "nodes": [
            {"name": s["name"], "port": n.port, "api_key": n.api_key, "arch": n.arch, "api": n.api,
             "data_dir": n.data_dir, "nodeId": n.node_id} for s, n in nodes]}
        atomic_write_json(os.path.join(data_dir, READY_FILE), ready, 0o600)
        log.info("fleet of %d node(s) ready", len(nodes))
        while not stop.wait(0.2):
            pass
        return 0
    except FleetError as exc:
        log.error("%s", exc)
        return 1
    finally:
        threads = [threading.Thread(target=node.shutdown) for _spec, node in nodes]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        for name in (PID_FILE, READY_FILE):
            try:
                if name != PID_FILE or read_pid(data_dir) == os.getpid():
                    os.unlink(os.path.join(data_dir, name))
            except FileNotFoundError:
                pass
        log.info("fleet stopped")
