"""dataStore backup / restore with progress polling."""

import json
import os
import time


def _poll(mcm, mim_id="api-counter-v1", timeout=20):
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = mcm.get("/mims/%s/dataStore" % mim_id)
        assert answer.status_code == 200
        result = answer.json()
        seen.append(result)
        if result["status"] != "inProgress":
            return result, seen
        time.sleep(0.02)
    raise AssertionError("dataStore operation did not finish: %s" % seen[-1])


def test_backup_restore_round_trip(deployed, tmp_path):
    for dummy in range(3):
        deployed.mim("/api/counter/v1/counter")
    path = str(tmp_path / "backups" / "counter.json")
    os.makedirs(os.path.dirname(path))
    started = deployed.post("/mims/api-counter-v1/dataStore", json={"action": "backup", "path": path})
    assert started.status_code == 200
    assert started.json() == {"action": "backup", "status": "inProgress", "message": "backup started",
                              "path": path, "percentage": 0}
    busy = deployed.post("/mims/api-counter-v1/dataStore", json={"action": "backup", "path": path})
    assert busy.status_code == 409
    result, seen = _poll(deployed)
    assert result["status"] == "completed" and result["percentage"] == 100 and result["action"] == "backup"
    progress = [r["percentage"] for r in seen if r["status"] == "inProgress"]
    assert progress and any(0 < p < 100 for p in progress), seen
    assert progress == sorted(progress)
    with open(path) as fh:
        assert json.load(fh)["items"]["counter"]["value"] == "3"

    for dummy in range(2):
        deployed.mim("/api/counter/v1/counter")
    assert deployed.mim("/api/counter/v1/items").json() == {"counter": "5"}
    assert deployed.post("/mims/api-counter-v1/dataStore", json={"action": "restore", "path": path}).status_code == 200
    result, seen = _poll(deployed)
    assert result["status"] == "completed" and result["action"] == "restore"
    assert any(r["status"] == "inProgress" for r in seen)
    # the running mim sees the restored storage
    assert deployed.mim("/api/counter/v1/counter").json()["counter"] == 4


def test_relative_path_lives_in_the_data_dir(deployed):
    deployed.mim("/api/counter/v1/counter")
    deployed.post("/mims/api-counter-v1/dataStore", json={"action": "backup", "path": "c.json"})
    assert _poll(deployed)[0]["status"] == "completed"
    assert os.path.isfile(os.path.join(deployed.node.data_dir, "datastore", "c.json"))


def test_failures_are_reported(deployed, tmp_path):
    missing = str(tmp_path / "missing.json")
    deployed.post("/mims/api-counter-v1/dataStore", json={"action": "restore", "path": missing})
    result, dummy = _poll(deployed)
    assert result["status"] == "failed"
    assert "not found" in result["message"]
    garbage = tmp_path / "garbage.json"
    garbage.write_text("not a backup")
    deployed.post("/mims/api-counter-v1/dataStore", json={"action": "restore", "path": str(garbage)})
    assert _poll(deployed)[0]["status"] == "failed"
    nowhere = str(tmp_path / "no" / "such" / "dir" / "b.json")
    deployed.post("/mims/api-counter-v1/dataStore", json={"action": "backup", "path": nowhere})
    result, dummy = _poll(deployed)
    assert result["status"] == "failed"
    assert "cannot write" in result["message"]
    assert deployed.mim("/api/counter/v1/counter").json()["counter"] == 1  # storage untouched


def test_datastore_validation(deployed, tmp_path):
    assert deployed.get("/mims/api-counter-v1/dataStore").status_code == 404
    assert deployed.post("/mims/api-counter-v1/dataStore", json={"action": "copy", "path": "x"}).status_code == 400
    assert deployed.post("/mims/api-counter-v1/dataStore", json={"action": "backup"}).status_code == 400
    assert deployed.post("/mims/nope/dataStore", json={"action": "backup", "path": "x"}).status_code == 404
