"""The legacy edgeEngine generation (--api legacy): images and containers, no mims/compositions."""

import base64
import http.client
import json
import os
import re
import subprocess
import sys

import requests
from sim_support import TOOLS, Mcm


def test_current_only_paths_are_404(legacy):
    assert legacy.get("/mims").status_code == 404
    assert legacy.post("/compositions", json={"mims": []}).status_code == 404
    assert legacy.get("/mims/x/dataStore").status_code == 404
    assert legacy.get("/containers").json() == {"data": []}
    assert legacy.node.info()["api"] == "legacy"


def test_legacy_image_object_and_uploads(legacy, counter_tar):
    answer = legacy.upload(counter_tar)
    assert answer.status_code == 201
    image = answer.json()
    assert set(image) == {"id", "name", "repoDigests", "created", "size", "containers"}
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", image["id"])
    assert image["name"] == "counter-v1"
    assert image["repoDigests"] == ["counter-v1@" + image["id"]]
    assert image["containers"] == 0 and image["size"] == len(counter_tar)
    assert legacy.get("/images").json() == {"data": [image]}
    assert legacy.delete("/images/" + image["id"]).status_code == 200
    payload = {"base64Image": base64.b64encode(counter_tar).decode()}
    assert legacy.post("/images?mode=payload", json=payload).status_code == 201
    assert legacy.post("/images?mode=sideways", json=payload).status_code == 400
    assert legacy.post("/images", json={}).status_code == 400


def test_container_lifecycle(legacy, counter_tar):
    image = legacy.upload(counter_tar).json()
    spec = {"name": "counter-v1", "image": "counter-v1", "env": ["MCM.BASE_API_PATH=/counter/v1", "API_KEY=s3cret"]}
    answer = legacy.post("/containers", json=spec)
    assert answer.status_code == 201, answer.text
    container = answer.json()
    assert set(container) == {"id", "name", "image", "imageId", "clientId", "created", "state"}  # env filtered out
    assert container["id"] == "api-counter-v1"
    assert container["imageId"] == image["id"]
    assert container["state"] == "started"
    assert container["created"] > 10 ** 12  # epoch milliseconds
    assert legacy.get("/images").json()["data"][0]["containers"] == 1
    assert legacy.mim("/api/counter/v1/counter").json()["counter"] == 1
    assert legacy.mim("/api/counter/v1/env").json()["env"]["API_KEY"] == "s3cret"

    stop = legacy.put("/containers/api-counter-v1", json={"action": "stop"})
    assert (stop.status_code, stop.json()) == (200, {"data": {}})
    assert legacy.get("/containers").json()["data"][0]["state"] == "stopped"
    assert legacy.mim("/api/counter/v1/counter").status_code == 503
    assert legacy.put("/containers/api-counter-v1", json={"action": "start"}).json() == {"data": {}}
    assert legacy.mim("/api/counter/v1/counter").json()["counter"] == 2
    assert legacy.put("/containers/api-counter-v1", json={"action": "pause"}).status_code == 400
    assert legacy.put("/containers/nope", json={"action": "stop"}).status_code == 404

    assert legacy.delete("/images/counter-v1").status_code == 409
    assert legacy.delete("/containers/api-counter-v1").status_code == 200
    assert legacy.get("/containers").json() == {"data": []}
    assert legacy.delete("/containers/api-counter-v1").status_code == 404
    assert legacy.delete("/images/counter-v1").status_code == 200


def test_container_env_as_object_and_validation(legacy, counter_tar):
    legacy.upload(counter_tar)
    ok = legacy.post("/containers", json={"name": "c1", "image": "counter-v1", "env": {"MCM.BASE_API_PATH": "/c1"}})
    assert ok.status_code == 201
    assert legacy.mim("/api/c1/counter").status_code == 200
    assert legacy.post("/containers", json={"name": "c2", "image": "counter-v1", "env": [1]}).status_code == 400
    assert legacy.post("/containers", json={"name": "c1", "image": "counter-v1"}).status_code == 409


def _raw(node, method, path, body, content_type=None):
    """A request with exactly these headers (requests would add a content type)."""
    conn = http.client.HTTPConnection("127.0.0.1", node.port, timeout=20)
    conn.putrequest(method, path)
    conn.putheader("Authorization", "Bearer " + node.api_key)
    if content_type:
        conn.putheader("Content-Type", content_type)
    conn.putheader("Content-Length", str(len(body)))
    conn.endheaders(body)
    answer = conn.getresponse()
    status, data = answer.status, answer.read()
    conn.close()
    return status, json.loads(data or b"null")


def test_json_bodies_with_any_or_no_content_type(legacy, node_factory, counter_tar):
    """mimik's READMEs create containers with curl -d (form content type) and the iOS app with no content type:
    the legacy generation reads the JSON body whatever its type; the current one keeps application/json."""
    legacy.upload(counter_tar)
    node = legacy.node
    spec = {"name": "c-form", "image": "counter-v1", "env": {"MCM.BASE_API_PATH": "/cform"}}
    status, answer = _raw(node, "POST", "/mcm/v1/containers", json.dumps(spec).encode(),
                          "application/x-www-form-urlencoded")
    assert status == 201, answer
    spec.update(name="c-none", env={"MCM.BASE_API_PATH": "/cnone"})
    status, answer = _raw(node, "POST", "/mcm/v1/containers", json.dumps(spec).encode())
    assert status == 201, answer
    assert _raw(node, "PUT", "/mcm/v1/containers/api-c-none", b'{"action": "stop"}', "text/plain") == (
        200, {"data": {}})
    assert _raw(node, "POST", "/mcm/v1/containers", b"name=x&image=y", "application/x-www-form-urlencoded")[0] == 400

    current = node_factory("current-ct")
    assert Mcm(current).upload(counter_tar).status_code == 201
    spec.update(name="c-form")
    status, answer = _raw(current, "POST", "/mcm/v1/mims", json.dumps(spec).encode(),
                          "application/x-www-form-urlencoded")
    assert status == 400 and "application/json" in answer["error"]["message"]


def test_readme_curl_commands_work_unchanged(node_factory, counter_tar, tmp_path):
    """The two README commands (upload with -F, create with -d), host, port and token aside."""
    node = node_factory("legacy-curl", api="legacy")
    tar = tmp_path / "counter-v1.tar"
    tar.write_bytes(counter_tar)
    auth = "Authorization: Bearer " + node.api_key
    for args in (["-F", "image=@%s" % tar, node.mcm_url + "/images"],
                 ["-d", '{"name": "counter-v1", "image": "counter-v1", "env": {"MCM.BASE_API_PATH": "/counter/v1", '
                        '"MCM.WEBSOCKET_SUPPORT": "false"} }', node.mcm_url + "/containers"]):
        done = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-H", auth] + args,
                              capture_output=True, text=True, timeout=60, check=False)
        assert done.returncode == 0 and done.stdout == "201", (done.stdout, done.stderr)
    assert requests.get(node.url + "/api/counter/v1/counter", timeout=20).json()["counter"] == 1


def test_unprefixed_mim_urls_of_edgesdk_1(node_factory, counter_tar, tmp_path):
    """--legacy-unprefixed: a legacy node also serves /{basePath} (edgeSDK 1.x), besides /{clientId}{basePath}."""
    plain = Mcm(node_factory("legacy-plain", api="legacy"))
    one = Mcm(node_factory("legacy-1x", api="legacy", extra_args=["--legacy-unprefixed"]))
    for mcm in (plain, one):
        mcm.upload(counter_tar)
        spec = {"name": "beam-v1", "image": "counter-v1", "env": {"MCM.BASE_API_PATH": "/beam/v1"}}
        assert mcm.post("/containers", json=spec).status_code == 201
        assert mcm.mim("/api/beam/v1/counter").status_code == 200
    assert plain.mim("/beam/v1/counter").status_code == 404
    answer = one.mim("/beam/v1/echo?x=1")
    assert answer.status_code == 200 and answer.json()["url"] == "/echo?x=1"
    assert one.mim("/beam/v1/counter").json()["counter"] == 2  # the same mim, same storage
    refused = subprocess.run([sys.executable, "-m", "mimoe_sim", "serve", "--data-dir", str(tmp_path / "x"),
                              "--legacy-unprefixed"], capture_output=True, text=True, timeout=30, check=False,
                             env=dict(os.environ, PYTHONPATH=TOOLS))
    assert refused.returncode == 2 and "--legacy-unprefixed needs --api legacy" in refused.stderr


def _config_digest(tar_bytes):
    """sha256 of the config JSON named by manifest.json (the Docker image id)."""
    import hashlib
    import io
    import json
    import tarfile
    with tarfile.open(fileobj=io.BytesIO(tar_bytes)) as tar:
        manifest = json.loads(tar.extractfile("manifest.json").read())
        return "sha256:" + hashlib.sha256(tar.extractfile(manifest[0]["Config"]).read()).hexdigest()


def test_legacy_image_id_styles(node_factory, counter_tar):
    """--legacy-image-id: the id styles of seed 002 (config digest, full or short) and of the sample apps (opaque)."""
    from sim_support import Mcm
    config = _config_digest(counter_tar)
    expected = {"config": config, "short": config[:19], "opaque": "api-counter-v1"}
    for style, image_id in expected.items():
        node = Mcm(node_factory("legacy-" + style, api="legacy", legacy_image_id=style))
        image = node.upload(counter_tar).json()
        assert image["id"] == image_id, style
        if style == "opaque":
            assert "repoDigests" not in image and image["repoTags"] == ["counter-v1:1.0.0"]
        else:
            assert image["repoDigests"] == [[]]  # seed 002: a list of lists
        spec = {"name": "counter-v1", "image": "counter-v1", "env": {"MCM.BASE_API_PATH": "/counter/v1"}}
        assert node.post("/containers", json=spec).json()["imageId"] == image_id
        assert node.delete("/images/" + image_id).status_code == 409  # the id the node shows is the one it takes
        assert node.delete("/containers/api-counter-v1").status_code == 200
        assert node.delete("/images/" + image_id).status_code == 200


def test_legacy_image_id_option_is_checked():
    from mimoe_sim.cli import build_parser
    import pytest
    with pytest.raises(SystemExit):
        build_parser().parse_args(["serve", "--data-dir", "/tmp/x", "--legacy-image-id", "sha1"])
    args = build_parser().parse_args(["fleet", "--data-dir", "/tmp/x", "--legacy-image-id", "short"])
    assert args.legacy_image_id == "short"
