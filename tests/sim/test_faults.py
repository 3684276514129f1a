"""Fault injection through /_sim/faults: each knob, scoped to /mcm."""

import time

import pytest
import requests


def test_faults_get_put_delete(sim_node):
    assert sim_node.set_faults(latency_ms=5, seed=1)["latency_ms"] == 5
    current = requests.get(sim_node.url + "/_sim/faults", timeout=5).json()
    assert current["latency_ms"] == 5 and current["error_rate"] == 0
    sim_node.set_faults(error_rate=0.5)  # PUT replaces: latency back to 0
    assert requests.get(sim_node.url + "/_sim/faults", timeout=5).json()["latency_ms"] == 0
    cleared = sim_node.clear_faults()
    assert cleared["error_rate"] == 0 and cleared["crash_mims"] == []
    for bad in ({"error_rate": 2}, {"latency_ms": -1}, {"bogus": 1}, {"crash_mims": "x"}, {"error_status": 200}):
        assert requests.put(sim_node.url + "/_sim/faults", json=bad, timeout=5).status_code == 400


def test_latency(mcm):
    mcm.node.set_faults(latency_ms=700)
    started = time.monotonic()
    assert mcm.get("/images").status_code == 200
    assert time.monotonic() - started >= 0.7
    started = time.monotonic()
    requests.get(mcm.node.url + "/_sim/info", timeout=5)
    assert time.monotonic() - started < 0.6  # /_sim is not slowed down


def test_error_rate_and_status(mcm):
    mcm.node.set_faults(error_rate=1.0, error_status=502)
    answer = mcm.get("/images")
    assert answer.status_code == 502
    assert answer.json()["error"]["code"] == 502
    mcm.node.set_faults(error_rate=1.0)
    assert mcm.get("/images").status_code == 503  # default status
    mcm.node.clear_faults()
    assert mcm.get("/images").status_code == 200


def test_error_rate_is_reproducible_with_a_seed(mcm):
    def run():
        mcm.node.set_faults(error_rate=0.5, seed=42)
        return [mcm.get("/images").status_code for dummy in range(20)]

    first = run()
    assert first == run()
    assert 200 in first and 503 in first


def test_drop_rate(mcm):
    mcm.node.set_faults(drop_rate=1.0)
    with pytest.raises(requests.ConnectionError):
        requests.get(mcm.node.mcm_url + "/images", headers={"Authorization": "Bearer " + mcm.node.api_key},
                     timeout=5)
    mcm.node.clear_faults()
    assert mcm.get("/images").status_code == 200


def test_fail_deploy_images(mcm, counter_tar):
    mcm.upload(counter_tar)
    mcm.node.set_faults(fail_deploy_images=["counter-v1"])
    answer = mcm.deploy()
    assert answer.status_code == 500
    assert "fail_deploy_images" in answer.json()["error"]["message"]
    assert mcm.get("/mims").json() == {"data": []}
    mcm.node.clear_faults()
    assert mcm.deploy().status_code == 201


def test_crash_mims(deployed):
    assert deployed.mim("/api/counter/v1/counter").status_code == 200  # mim traffic is not faulted otherwise
    deployed.node.set_faults(crash_mims=["counter-v1"], error_rate=1.0)
    crashed = deployed.mim("/api/counter/v1/counter")
    assert crashed.status_code == 502
    deployed.node.clear_faults()
    deadline = time.monotonic() + 5
    while deployed.get("/mims/api-counter-v1").json()["state"] != "stopped" and time.monotonic() < deadline:
        time.sleep(0.05)
    mim = deployed.get("/mims/api-counter-v1").json()
    assert (mim["state"], mim["status"]) == ("stopped", "crashed")
    assert deployed.node.mim_processes()[0]["pid"] is None
    assert deployed.mim("/api/counter/v1/counter").status_code == 503
