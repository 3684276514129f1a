"""Command line errors and the foreground `serve` lifecycle."""

import os
import signal
import socket
import subprocess
import sys

import pytest

from sim_support import TOOLS

pytestmark = [pytest.mark.node]

ENV = dict(os.environ, PYTHONPATH=TOOLS)


def test_serve_refuses_a_busy_port(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        done = subprocess.run([sys.executable, "-m", "mimoe_sim", "serve", "--port", str(port), "--data-dir",
                               str(tmp_path / "n")], capture_output=True, text=True, check=False, env=ENV, timeout=30)
    assert done.returncode == 2
    assert "cannot listen" in done.stderr


def test_fleet_requires_nodes_and_inventory(tmp_path):
    done = subprocess.run([sys.executable, "-m", "mimoe_sim", "fleet", "--data-dir", str(tmp_path)],
                          capture_output=True, text=True, check=False, env=ENV, timeout=30)
    assert done.returncode == 2
    assert "--nodes" in done.stderr


def test_serve_prints_ready_line_and_stops_on_sigterm(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "mimoe_sim", "serve", "--port", str(port), "--data-dir",
                             str(tmp_path / "n"), "--api-key", "never-printed"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=ENV)
    try:
        line = proc.stdout.readline()
        assert "listening on http://127.0.0.1:%d" % port in line
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=15)
        assert proc.returncode == 0
        assert "never-printed" not in line + out + err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
