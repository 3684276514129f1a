"""The mim runtime as mimik's own mims use it: Duktape codecs, TextEncoder/TextDecoder, timers, WebSocket events,
form uploads into files, and the node services (discovery, jsonrpc, BEP). Each API is driven by a small test mim
of tests/sim/fixtures/runtime-mims. The runtime does not depend on the API generation: most tests run on one
(tests/integration/test_mim_runtime.py runs every mim on both through the collection)."""

import base64
import json
import os

import pytest
from sim_support import Mcm, deploy_js, runtime_js

from mimoe_sim.testing import SimFleet, WsClient


def test_duktape_and_text_codecs(sim_node):
    mcm = Mcm(sim_node)
    base = deploy_js(mcm, "rt-encoding", runtime_js("rt-encoding"))
    seen = mcm.mim(base + "/encode", params={"text": "héllo €"}).json()
    raw = "héllo €".encode("utf-8")
    assert seen == {"base64": base64.b64encode(raw).decode(), "hex": raw.hex(), "hexOfBytes": raw.hex(),
                    "utf8Length": len(raw), "isUint8Array": True, "roundTrip": "héllo €", "fromHex": "héllo €"}
    assert mcm.mim(base + "/decode", params={"format": "hex", "data": "6869"}).json() == {"text": "hi"}
    bad = mcm.mim(base + "/decode", params={"format": "base64", "data": "**"})
    assert bad.status_code == 400 and bad.json() == {"error": "base64 decode failed", "type": "TypeError"}
    assert mcm.mim(base + "/decode", params={"format": "hex", "data": "zz"}).json()["error"] == "hex decode failed"


def test_timers_and_a_throwing_route_gets_its_own_error(deployed):
    base = deploy_js(deployed, "rt-timers", runtime_js("rt-timers"))
    assert deployed.mim(base + "/order").json() == {"order": ["sync", "immediate 1", "timeout xy"], "ticks": 2}
    own = deployed.mim(base + "/throw")
    assert own.status_code == 418 and own.json() == {"ownError": "no such play queue item"}
    late = deployed.mim(base + "/throw-later")
    assert late.status_code == 500 and late.json()["error"]["message"] == "mim error: late failure"
    # A mim that throws synchronously still gets the runtime's 500 naming its error.
    assert deployed.mim("/api/counter/v1/throw").json()["error"]["message"] == "mim error: boom"


def test_websocket_events(sim_node):
    node = sim_node
    mcm = Mcm(node)
    base = deploy_js(mcm, "rt-websocket", runtime_js("rt-websocket"), env={"MCM.WEBSOCKET_SUPPORT": "true"})
    assert mcm.mim(base + "/support").json() == {"dispatch": "function"}
    clients = [WsClient(node.url + base), WsClient(node.url + base)]
    assert [c.status for c in clients] == [101, 101], clients[0].head
    answer = mcm.mim(base + "/events", method="POST", data=json.dumps({"id": 7}))
    assert answer.status_code == 201, answer.text
    for client in clients:
        assert json.loads(client.recv_text()) == {"type": "item", "item": {"id": 7}}
        assert client.recv_text() == "{}"
        client.close()

    # Removing the mim ends its clients' connections (close frame, then the socket closes).
    last = WsClient(node.url + base)
    assert mcm.delete("/mims/api-rt-websocket").status_code == 200
    with pytest.raises((ValueError, ConnectionError)):
        last.recv_text()
    last.close()

    plain = deploy_js(mcm, "rt-websocket", runtime_js("rt-websocket"), mim_name="rt-plain")
    assert mcm.mim(plain + "/support").json() == {"dispatch": "undefined"}
    refused = WsClient(node.url + plain)
    assert refused.status == 400, refused.head
    refused.close()
    events = mcm.mim(plain + "/events", method="POST", data="{}")
    assert events.status_code == 500 and "dispatchWebSocketEvent" in events.json()["error"]["message"]


@pytest.mark.parametrize("api", ["current", "legacy"])
def test_form_upload_into_files_download_and_delete(node_factory, api):
    node = node_factory(api, api=api)
    mcm = Mcm(node)
    base = deploy_js(mcm, "rt-files", runtime_js("rt-files"))
    blob = bytes(range(256)) * 40
    answer = mcm.mim(base + "/files", method="POST", files={
        "metadata": (None, json.dumps({"mimeType": "application/x-test"})),
        "file": ("model.bin", blob, "application/octet-stream")})
    assert answer.status_code == 201, answer.text
    assert answer.json()["stored"] == [{"path": "uploads/model.bin", "size": len(blob)}]
    download = mcm.mim(base + "/files/uploads%2Fmodel.bin")
    assert download.status_code == 200 and download.content == blob
    assert download.headers["Content-Type"] == "application/x-test"
    files_dirs = [d for d in os.listdir(os.path.join(node.data_dir, "storage")) if d.endswith(".files")]
    assert len(files_dirs) == 1
    assert mcm.mim(base + "/files/uploads%2Fmodel.bin", method="DELETE").json() == {"deleted": True}
    assert mcm.mim(base + "/files/uploads%2Fmodel.bin").status_code == 404
    assert mcm.mim(base + "/files/uploads%2Fmodel.bin", method="DELETE").json() == {"deleted": False}
    not_form = mcm.mim(base + "/files", method="POST", data="{}", headers={"Content-Type": "application/json"})
    assert not_form.status_code == 400 and "not multipart" in not_form.json()["error"]
    # Removing the mim removes its files.
    mcm.delete(("/containers/" if api == "legacy" else "/mims/") + "api-rt-files")
    assert not [d for d in os.listdir(os.path.join(node.data_dir, "storage")) if d.endswith(".files")]


def test_form_upload_with_real_curl_and_expect_continue(sim_node, tmp_path):
    mcm = Mcm(sim_node)
    base = deploy_js(mcm, "rt-files", runtime_js("rt-files"))
    payload = tmp_path / "big.bin"
    payload.write_bytes(os.urandom(300 * 1024))
    out = _curl("-H", "Expect: 100-continue", "-F", 'metadata={"mimeType": "image/png"}',
                "-F", "file=@%s" % payload, sim_node.url + base + "/files")
    assert out["status"] == 201, out
    assert json.loads(out["body"])["stored"] == [{"path": "uploads/big.bin", "size": 300 * 1024}]
    assert mcm.mim(base + "/files/uploads%2Fbig.bin").content == payload.read_bytes()


def _curl(*args):
    import subprocess  # noqa: PLC0415

    done = subprocess.run(["curl", "-sS", "-o", "-", "-w", "\n%{http_code}", *args], capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    body, _sep, status = done.stdout.rpartition("\n")
    return {"status": int(status), "body": body, "stderr": done.stderr}


def test_node_services_on_one_node(sim_node):
    node = sim_node
    mcm = Mcm(node)
    base = deploy_js(mcm, "rt-edge", runtime_js("rt-edge"))
    node_id = node.info()["nodeId"]
    found = mcm.mim(base + "/discover", params={"cluster": "linkLocal"}).json()
    assert found == {"nodes": [{"id": node_id, "accountId": "mimoe-sim-account", "url": node.url,
                                "services": ["rt-edge"]}]}
    assert mcm.mim(base + "/discover", params={"cluster": "account"}).json() == found
    me = mcm.mim(base + "/me", headers={"Authorization": "Bearer user-token"}).json()  # via localhost:8083
    assert me["result"]["nodeId"] == node_id and me["result"]["accountId"] == "mimoe-sim-account"
    code = mcm.mim(base + "/hmac", params={"node": node_id}).json()["result"]["edgeHmacCode"]
    assert mcm.mim(base + "/bep", params={"hmac": code}).json() == {"href": node.url}
    forged = code[:-2] + ("00" if code[-2:] != "00" else "11")
    assert mcm.mim(base + "/bep", params={"hmac": forged}).json() == {"error": "invalid edge hmac code"}
    expired = mcm.mim(base + "/hmac", params={"node": node_id, "ttl": "-10"}).json()["result"]["edgeHmacCode"]
    assert mcm.mim(base + "/bep", params={"hmac": expired}).json() == {"error": "edge hmac code expired"}
    # The services themselves, as a client sees them.
    assert mcm.mim("/mds/v1/nodes", params={"clusters": "galaxy"}).status_code == 400
    ping = mcm.mim("/mds/v1/nodes/" + node_id, params={"ping": "true"})
    assert ping.status_code == 200 and ping.json()["data"]["id"] == node_id
    assert mcm.mim("/mds/v1/nodes/someone-else").status_code == 404
    unknown = mcm.mim("/jsonrpc/v1", method="POST", data=json.dumps({"id": 3, "jsonrpc": "2.0", "method": "nope"}))
    assert unknown.status_code == 200 and unknown.json()["error"]["code"] == -32601
    assert mcm.mim("/jsonrpc/v1", method="POST", data="not json").json()["error"]["code"] == -32700


@pytest.mark.node  # starts its own SimFleet
def test_fleet_nodes_discover_each_other_and_reach_each_other(tmp_path):
    # Node 3 speaks the legacy API with edgeSDK 1.x URLs (fleet --legacy-unprefixed applies to legacy nodes).
    with SimFleet(3, data_dir=str(tmp_path / "fleet"), legacy_every=3, extra_args=["--legacy-unprefixed"]) as fleet:
        nodes = []
        for member in fleet.nodes:
            node = _FleetMcmNode(member)
            deploy_js(Mcm(node), "rt-edge", runtime_js("rt-edge"))
            nodes.append(node)
        first = Mcm(nodes[0])
        ids = [n.info()["nodeId"] for n in nodes]
        found = first.mim("/api/rt/edge/discover", params={"cluster": "account"}).json()["nodes"]
        assert sorted(n["id"] for n in found) == sorted(ids)
        assert sorted(n["url"] for n in found) == sorted(n.url for n in nodes)
        linked = first.mim("/api/rt/edge/discover", params={"cluster": "linkLocal"}).json()["nodes"]
        assert sorted(n["id"] for n in linked) == sorted(ids)
        # The example mim's remote BEP flow: a code from node 1 for node 3, checked by node 3's mim.
        remote = first.mim("/api/rt/edge/remote-bep", params={"node": ids[2]})
        assert remote.json() == {"node": ids[2], "bep": nodes[2].url}, remote.text
        code = first.mim("/api/rt/edge/hmac", params={"node": ids[0]}).json()["result"]["edgeHmacCode"]
        other = Mcm(nodes[1]).mim("/api/rt/edge/bep", params={"hmac": code}).json()
        assert other == {"error": "edge hmac code was issued for another node"}
        assert [n.api for n in nodes] == ["current", "current", "legacy"]
        unprefixed = Mcm(nodes[2]).mim("/rt/edge/discover", params={"cluster": "linkLocal"}).json()["nodes"]
        assert sorted(n["id"] for n in unprefixed) == sorted(ids)
        assert first.mim("/rt/edge/discover").status_code == 404  # current nodes keep the prefix


class _FleetMcmNode:
    """A fleet member with the attributes sim_support.Mcm uses."""

    def __init__(self, member):
        self.url, self.api_key, self.api, self.port = member.url, member.api_key, member.api, member.port
        self.mcm_url = self.url + "/mcm/v1"

    def info(self):
        import requests  # noqa: PLC0415

        return requests.get(self.url + "/_sim/info", timeout=10).json()
