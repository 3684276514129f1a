"""`python -m mimoe_sim fleet`: N nodes in one daemon, inventory, `fleet stop`."""

import os
import socket
import subprocess
import sys

import pytest
import requests
import yaml

from sim_support import TOOLS
from mimoe_sim.fleet import pid_alive

pytestmark = [pytest.mark.node]


def test_fleet_start_inventory_stop(sim_fleet):
    with open(sim_fleet.inventory_path) as fh:
        inventory = yaml.safe_load(fh)
    hosts = inventory["all"]["children"]["mimoe_nodes"]["hosts"]
    assert list(hosts) == ["node001", "node002", "node003", "node004", "node005"]
    assert [h["mimoe_arch"] for h in hosts.values()] == ["amd64", "arm64", "arm", "amd64", "arm64"]
    assert [h["mimoe_api"] for h in hosts.values()] == ["current", "current", "current", "legacy", "current"]
    node_ids = set()
    for name, host in hosts.items():
        assert host["ansible_connection"] == "local"
        assert host["mcm_url"].startswith("http://127.0.0.1:")
        answer = requests.get(host["mcm_url"] + "/mcm/v1/images",
                              headers={"Authorization": "Bearer " + host["mcm_token"]}, timeout=5)
        assert answer.json() == {"data": []}, name
        info = requests.get(host["mcm_url"] + "/_sim/info", timeout=5).json()
        assert (info["arch"], info["api"]) == (host["mimoe_arch"], host["mimoe_api"])
        node_ids.add(info["nodeId"])
        legacy_only = requests.get(host["mcm_url"] + "/mcm/v1/containers",
                                   headers={"Authorization": "Bearer " + host["mcm_token"]}, timeout=5)
        assert legacy_only.status_code == (200 if host["mimoe_api"] == "legacy" else 404)
    assert len(node_ids) == 5
    assert len({h["mcm_token"] for h in hosts.values()}) == 5  # a key per node unless --api-key
    pid = sim_fleet.pid
    assert os.path.isfile(os.path.join(sim_fleet.data_dir, "fleet.pid"))
    assert "stopped" in sim_fleet.stop()
    assert not pid_alive(pid)
    assert not os.path.exists(os.path.join(sim_fleet.data_dir, "fleet.pid"))
    for node in sim_fleet.nodes:
        with socket.socket() as sock:
            assert sock.connect_ex(("127.0.0.1", node.port)) != 0


def test_fleet_with_shared_key_and_busy_port(tmp_path):
    from mimoe_sim.testing import SimFleet, free_port_range

    base = free_port_range(2)
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", base + 1))
    blocker.listen()
    env = dict(os.environ, PYTHONPATH=TOOLS)
    try:
        failed = subprocess.run([sys.executable, "-m", "mimoe_sim", "fleet", "--nodes", "2", "--base-port",
                                 str(base), "--data-dir", str(tmp_path / "f1"), "--inventory",
                                 str(tmp_path / "i1.yml")], capture_output=True, text=True, check=False, env=env, timeout=60)
        assert failed.returncode == 1
        assert "cannot listen" in failed.stderr
        assert not os.path.exists(tmp_path / "i1.yml")
    finally:
        blocker.close()
    with SimFleet(2, data_dir=str(tmp_path / "f2"), api_key="shared") as fleet:
        assert {n.api_key for n in fleet.nodes} == {"shared"}
        again = subprocess.run([sys.executable, "-m", "mimoe_sim", "fleet", "--nodes", "1", "--base-port",
                                str(fleet.base_port + 10), "--data-dir", fleet.data_dir, "--inventory",
                                str(tmp_path / "i2.yml")], capture_output=True, text=True, check=False, env=env, timeout=60)
        assert again.returncode == 1 and "already runs" in again.stderr
    stop_again = subprocess.run([sys.executable, "-m", "mimoe_sim", "fleet", "stop", "--data-dir",
                                 str(tmp_path / "f2")], capture_output=True, text=True, check=False, env=env, timeout=60)
    assert stop_again.returncode == 0 and "no fleet" in stop_again.stdout
