"""kill -9 and restart: images, mims, env and storage come back; started mims start again."""

import os
import time

from sim_support import Mcm


def _wait_gone(pids, timeout=5):
    deadline = time.monotonic() + timeout
    alive = set(pids)
    while alive and time.monotonic() < deadline:
        for pid in list(alive):
            try:
                os.kill(pid, 0)
                with open("/proc/%d/stat" % pid) as fh:
                    if fh.read().rsplit(")", 1)[1].split()[0] == "Z":
                        alive.discard(pid)
            except (ProcessLookupError, FileNotFoundError):
                alive.discard(pid)
        time.sleep(0.05)
    return not alive


def test_kill_9_and_restart(deployed):
    node = deployed.node
    deployed.mim("/api/counter/v1/counter")
    deployed.mim("/api/counter/v1/counter")
    images = deployed.get("/images").json()
    mims = deployed.get("/mims").json()
    old_pids = [m["pid"] for m in node.mim_processes()]
    node.kill(sweep=False)
    assert _wait_gone(old_pids), "mim processes must end when their node dies"
    node.start()
    again = Mcm(node)
    assert again.get("/images").json() == images
    assert again.get("/mims").json() == mims
    assert again.mim("/api/counter/v1/counter").json() == {"counter": 3, "calls": 1}
    assert [m["pid"] for m in node.mim_processes()] != old_pids


def test_stop_leaves_no_process_and_restart_restores(deployed):
    node = deployed.node
    pids = [m["pid"] for m in node.mim_processes()]
    node.stop()
    assert _wait_gone(pids)
    node.start()
    assert Mcm(node).mim("/api/counter/v1/counter").json()["counter"] == 1
    assert Mcm(node).get("/mims/api-counter-v1").json()["state"] == "started"
