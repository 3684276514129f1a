"""Auth: MCM API key or an edge access token (JWT with scope edge:mcm); everything else -> 403."""

import os
import subprocess
import sys

import requests

from sim_support import TOOLS, Mcm
from mimoe_sim.util import read_env_file

REQUIRED = "invalid edgeAccessToken: A JWT Token is required"


def test_missing_or_wrong_token_is_403(sim_node):
    url = sim_node.mcm_url + "/images"
    answer = requests.get(url, timeout=10)
    assert answer.status_code == 403
    assert answer.json() == {"error": {"code": 403, "message": REQUIRED}}
    for header in ("Bearer wrong-key", "Basic " + sim_node.api_key, sim_node.api_key, "Bearer"):
        answer = requests.get(url, headers={"Authorization": header}, timeout=10)
        assert answer.status_code == 403, header
        assert answer.json()["error"]["message"].startswith("invalid edgeAccessToken")


def test_api_key_with_any_scheme_case(sim_node):
    for scheme in ("Bearer", "bearer", "BEARER"):
        answer = requests.get(sim_node.mcm_url + "/images",
                              headers={"Authorization": "%s %s" % (scheme, sim_node.api_key)}, timeout=10)
        assert answer.status_code == 200
        assert answer.json() == {"data": []}


def test_jwt_with_scope_accepted(sim_node):
    mcm = Mcm(sim_node)
    assert mcm.get("/mims", token=sim_node.token()).status_code == 200
    assert mcm.get("/mims", token=sim_node.token(scope="openid edge:mcm profile")).status_code == 200


def test_jwt_without_scope_expired_or_forged_is_403(sim_node):
    mcm = Mcm(sim_node)
    no_scope = mcm.get("/mims", token=sim_node.token(scope="edge:read"))
    assert no_scope.status_code == 403
    assert "scope" in no_scope.json()["error"]["message"]
    expired = mcm.get("/mims", token=sim_node.token(expired=True))
    assert expired.status_code == 403
    assert "expired" in expired.json()["error"]["message"]
    header, claims, _sig = sim_node.token().split(".")
    forged = mcm.get("/mims", token="%s.%s.%s" % (header, claims, "A" * 43))
    assert forged.status_code == 403


def test_token_command_prints_a_token_the_node_accepts(sim_node):
    env = dict(os.environ, PYTHONPATH=TOOLS)
    run = subprocess.run([sys.executable, "-m", "mimoe_sim", "token", "--data-dir", sim_node.data_dir],
                         capture_output=True, text=True, env=env, check=True)
    token = run.stdout.strip()
    assert token.count(".") == 2
    assert Mcm(sim_node).get("/images", token=token).status_code == 200
    run = subprocess.run([sys.executable, "-m", "mimoe_sim", "token", "--data-dir", sim_node.data_dir, "--expired"],
                         capture_output=True, text=True, env=env, check=True)
    assert Mcm(sim_node).get("/images", token=run.stdout.strip()).status_code == 403


def test_key_file_created_and_kept_across_restarts(node_factory):
    node = node_factory("keys")
    path = os.path.join(node.data_dir, "mimoe-api-key.env")
    values = read_env_file(path)
    assert set(values) == {"ACCOUNT_API_KEY", "MCM_API_KEY"}
    assert values["MCM_API_KEY"] == node.api_key
    node.restart()
    assert read_env_file(path) == values
    assert Mcm(node).get("/images").status_code == 200


def test_api_key_option_sets_the_key(node_factory):
    node = node_factory("fixed", api_key="my-fixed-key")
    assert node.api_key == "my-fixed-key"
    assert read_env_file(os.path.join(node.data_dir, "mimoe-api-key.env"))["MCM_API_KEY"] == "my-fixed-key"
    assert Mcm(node).get("/images", token="my-fixed-key").status_code == 200


def test_client_id_scoping(mcm, counter_tar):
    assert mcm.upload(counter_tar, headers={"x-client-id": "alice"}).json()["id"] == "alice-counter-v1"
    assert mcm.get("/images").json() == {"data": []}
    assert [i["id"] for i in mcm.get("/images", headers={"x-client-id": "alice"}).json()["data"]] == [
        "alice-counter-v1"]
    # the default client cannot use or delete alice's image
    assert mcm.deploy().status_code == 400
    assert mcm.delete("/images/alice-counter-v1").status_code == 404
    mim = mcm.deploy(headers={"x-client-id": "alice"})
    assert mim.status_code == 201
    assert mim.json()["clientId"] == "alice"
    assert mim.json()["env"]["MCM.BASE_API_PATH"] == "/alice/counter/v1"
    assert mcm.get("/mims").json() == {"data": []}
    assert mcm.get("/mims/alice-counter-v1").status_code == 404
    assert mcm.get("/mims/alice-counter-v1", headers={"x-client-id": "alice"}).status_code == 200
    assert mcm.mim("/alice/counter/v1/counter").json()["counter"] == 1
    # a JWT may carry the client id too
    token = mcm.node.token(client_id="alice")
    assert [m["id"] for m in mcm.get("/mims", token=token).json()["data"]] == ["alice-counter-v1"]
