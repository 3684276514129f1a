"""The legacy edgeEngine generation (--api legacy): images and containers, no mims/compositions."""

import base64
import re


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
