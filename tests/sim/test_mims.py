"""Mims (current API): deploy, env rewrite, the mim contract through the node, compositions."""

import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from mimoe_sim.node import MCM_FLAGS


def _pid_gone(pid, timeout=5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        try:
            with open("/proc/%d/stat" % pid) as fh:
                if fh.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return True
        except OSError:
            return True
        time.sleep(0.05)
    return False


def test_deploy_answers_started_mim_with_rewritten_env(mcm, counter_tar):
    mcm.upload(counter_tar)
    answer = mcm.deploy(env={"MCM.BASE_API_PATH": "/counter/v1", "MCM.API_ALIAS": "true", "API_KEY": "k"})
    assert answer.status_code == 201
    mim = answer.json()
    assert {k: mim[k] for k in ("id", "name", "image", "imageId", "clientId", "state", "status")} == {
        "id": "api-counter-v1", "name": "counter-v1", "image": "counter-v1", "imageId": "api-counter-v1",
        "clientId": "api", "state": "started", "status": "up"}
    env = mim["env"]
    assert env["MCM.BASE_API_PATH"] == "/api/counter/v1"
    assert env["MCM.API_ALIAS"] == "true"
    assert env["API_KEY"] == "k"
    assert env["MCM.MAX_EXECUTION_TIME_SEC"] == "30"
    for flag in MCM_FLAGS:
        if flag != "MCM.API_ALIAS":
            assert env[flag] == "false", flag
    assert all(isinstance(v, str) for v in env.values())
    assert mcm.get("/mims").json() == {"data": [mim]}
    assert mcm.get("/mims/api-counter-v1").json() == mim
    assert mcm.get("/mims/nope").status_code == 404


def test_default_base_path_is_the_mim_name(mcm, counter_tar):
    mcm.upload(counter_tar)
    mim = mcm.deploy(name="bare", env={}).json()
    assert mim["env"]["MCM.BASE_API_PATH"] == "/api/bare"
    assert mcm.mim("/api/bare/counter").json()["counter"] == 1


def test_deploy_validation(mcm, counter_tar):
    mcm.upload(counter_tar)
    bad_env = mcm.deploy(env={"MCM.BASE_API_PATH": "/c/v1", "PORT": 8080})
    assert bad_env.status_code == 400
    assert "PORT" in bad_env.json()["error"]["message"]
    assert mcm.deploy(image="missing-v1").status_code == 400
    assert mcm.deploy(name="").status_code == 400
    assert mcm.deploy(env={"MCM.MAX_EXECUTION_TIME_SEC": "soon"}).status_code == 400
    # a body not sent as application/json is dropped by the engine
    dropped = mcm.post("/mims", data='{"name": "x", "image": "counter-v1", "env": {}}',
                       headers={"Content-Type": "text/plain"})
    assert dropped.status_code == 400
    assert mcm.get("/mims").json() == {"data": []}


def test_deploying_an_existing_name_is_409(deployed):
    again = deployed.deploy()
    assert again.status_code == 409
    assert "remove it first" in again.json()["error"]["message"]


def test_delete_mim_ends_its_process(deployed):
    pid = deployed.node.mim_processes()[0]["pid"]
    assert pid
    deleted = deployed.delete("/mims/api-counter-v1")
    assert deleted.status_code == 200
    assert deleted.json()["id"] == "api-counter-v1"
    assert _pid_gone(pid)
    assert deployed.mim("/api/counter/v1/counter").status_code == 404
    assert deployed.delete("/mims/api-counter-v1").status_code == 404


def test_storage_persists_but_module_state_does_not(deployed):
    for expected in (1, 2, 3):
        body = deployed.mim("/api/counter/v1/counter").json()
        assert body == {"counter": expected, "calls": 1}


def test_sandbox_has_only_mimik_globals(deployed):
    # Timers are there (mimik's bundled routers use them); Node's own globals are not.
    assert deployed.mim("/api/counter/v1/globals").json() == {
        "require": "undefined", "process": "undefined", "fetch": "undefined", "setTimeout": "function",
        "mimikModule": "object"}


def test_request_object(deployed):
    answer = deployed.mim("/api/counter/v1/echo?x=1&y=2", method="POST", data="payload",
                          headers={"Authorization": "Bearer abc", "X-Custom": "V"})
    assert answer.status_code == 200
    seen = answer.json()
    assert seen["method"] == "POST"
    assert seen["url"] == "/echo?x=1&y=2"
    assert seen["body"] == "payload"
    assert seen["authorization"] == "Bearer abc"
    assert seen["headers"]["x-custom"] == "V"
    assert answer.headers["Content-Type"] == "application/json"


def test_mim_authenticates_its_own_callers_and_sees_env(deployed):
    assert deployed.mim("/api/counter/v1/private").status_code == 401
    assert deployed.mim("/api/counter/v1/private", headers={"Authorization": "Bearer secret"}).status_code == 404
    seen = deployed.mim("/api/counter/v1/env").json()
    assert seen["env"]["API_KEY"] == "secret"
    assert seen["info"]["apiRoot"] == "/api/counter/v1"
    assert seen["info"]["nodeId"] == deployed.node.info()["nodeId"]


def test_api_alias(mcm, counter_tar):
    mcm.upload(counter_tar, headers={"x-client-id": "bob"})
    mcm.deploy(env={"MCM.BASE_API_PATH": "/counter/v1", "MCM.API_ALIAS": "true"},
               headers={"x-client-id": "bob"})
    assert mcm.mim("/bob/counter/v1/counter").json()["counter"] == 1
    assert mcm.mim("/api/counter/v1/counter").json()["counter"] == 2
    mcm.deploy(name="noalias", env={"MCM.BASE_API_PATH": "/noalias/v1"}, headers={"x-client-id": "bob"})
    assert mcm.mim("/api/noalias/v1/counter").status_code == 404


def test_tagged_storage(deployed):
    for key, tag in (("a", "t1"), ("b", "t2"), ("c", "t1")):
        answer = deployed.mim("/api/counter/v1/set", method="POST", json={"key": key, "value": key.upper(), "tag": tag})
        assert answer.status_code == 201
    assert sorted(deployed.mim("/api/counter/v1/tag?t1").json()["keys"]) == ["a", "c"]
    assert deployed.mim("/api/counter/v1/items").json() == {"a": "A", "b": "B", "c": "C"}


def test_errors_and_execution_limit(mcm, counter_tar):
    mcm.upload(counter_tar)
    mcm.deploy(env={"MCM.BASE_API_PATH": "/counter/v1", "MCM.MAX_EXECUTION_TIME_SEC": "1"})
    thrown = mcm.mim("/api/counter/v1/throw")
    assert thrown.status_code == 500
    assert "boom" in thrown.json()["error"]["message"]
    started = time.monotonic()
    looped = mcm.mim("/api/counter/v1/loop")
    assert looped.status_code == 504
    assert time.monotonic() - started < 5
    assert mcm.mim("/api/counter/v1/counter").json()["counter"] == 1  # the mim still serves


def test_context_http_request(deployed):
    class Serve(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            body = b"upstream says hi" if self.path == "/ok" else b"nope"
            self.send_response(200 if self.path == "/ok" else 500)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Serve)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        base = "http://127.0.0.1:%d" % server.server_address[1]
        ok = deployed.mim("/api/counter/v1/fetch?" + base + "/ok")
        assert ok.json() == {"status": 200, "data": "upstream says hi"}
        failed = deployed.mim("/api/counter/v1/fetch?" + base + "/bad")
        assert failed.status_code == 502
        assert failed.json()["status"] == 500
    finally:
        server.shutdown()
        server.server_close()


def test_composition_deploys_all_or_nothing(mcm, counter_tar):
    mcm.upload(counter_tar)
    specs = [{"name": "one", "image": "counter-v1", "env": {"MCM.BASE_API_PATH": "/one/v1"}},
             {"name": "two", "image": "api-counter-v1", "env": {"MCM.BASE_API_PATH": "/two/v1"}}]
    bad = mcm.post("/compositions", json={"mims": specs + [{"name": "three", "image": "missing", "env": {}}]})
    assert bad.status_code == 400
    assert "mims[2]" in bad.json()["error"]["message"]
    assert mcm.get("/mims").json() == {"data": []}
    assert mcm.node.mim_processes() == []
    answer = mcm.post("/compositions", json={"mims": specs})
    assert answer.status_code == 201
    assert [m["id"] for m in answer.json()["data"]] == ["api-one", "api-two"]
    assert all(m["state"] == "started" for m in answer.json()["data"])
    assert mcm.mim("/api/one/v1/counter").json()["counter"] == 1
    assert mcm.mim("/api/two/v1/counter").json()["counter"] == 1
    assert mcm.post("/compositions", json={"mims": specs[:1]}).status_code == 409
    assert mcm.post("/compositions", json={}).status_code == 400
