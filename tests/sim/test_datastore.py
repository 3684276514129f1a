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


def test_backup_restore_round_trip(deployed):
    for dummy in range(3):
        deployed.mim("/api/counter/v1/counter")
    # An absolute path inside the node's datastore storage is accepted (relative ones are the usual form).
    path = os.path.join(deployed.node.data_dir, "datastore", "backups", "counter.json")
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


def test_failures_are_reported(deployed):
    deployed.post("/mims/api-counter-v1/dataStore", json={"action": "restore", "path": "missing.json"})
    result, dummy = _poll(deployed)
    assert result["status"] == "failed"
    assert "not found" in result["message"]
    root = os.path.join(deployed.node.data_dir, "datastore")
    os.makedirs(os.path.join(root, "a-directory"))
    with open(os.path.join(root, "garbage.json"), "w") as fh:
        fh.write("not a backup")
    deployed.post("/mims/api-counter-v1/dataStore", json={"action": "restore", "path": "garbage.json"})
    assert _poll(deployed)[0]["status"] == "failed"
    deployed.post("/mims/api-counter-v1/dataStore", json={"action": "backup", "path": "a-directory"})
    result, dummy = _poll(deployed)
    assert result["status"] == "failed"
    assert "cannot write" in result["message"]
    assert deployed.mim("/api/counter/v1/counter").json()["counter"] == 1  # storage untouched


def test_datastore_validation(deployed, tmp_path):
    assert deployed.get("/mims/api-counter-v1/dataStore").status_code == 404
    assert deployed.post("/mims/api-counter-v1/dataStore", json={"action": "copy", "path": "x"}).status_code == 400
    assert deployed.post("/mims/api-counter-v1/dataStore", json={"action": "backup"}).status_code == 400
    assert deployed.post("/mims/nope/dataStore", json={"action": "backup", "path": "x"}).status_code == 404


def test_paths_are_confined_to_the_node_storage(deployed, tmp_path):
    """A client naming a file outside the node's own storage gets a 400 naming the rule; nothing is written."""
    outside = str(tmp_path / "outside.json")
    root = os.path.realpath(os.path.join(deployed.node.data_dir, "datastore"))
    os.makedirs(root, exist_ok=True)
    os.symlink(str(tmp_path), os.path.join(root, "escape"))
    for action in ("backup", "restore"):
        for path in (outside, "/etc/passwd", "../state.json", "sub/../../x.json", "escape/outside.json"):
            answer = deployed.post("/mims/api-counter-v1/dataStore", json={"action": action, "path": path})
            assert answer.status_code == 400, (action, path, answer.text)
            message = answer.json()["error"]["message"]
            assert message.startswith('path "%s" is outside the node\'s datastore storage' % path)
            assert root in message
    assert not os.path.exists(outside)
    assert deployed.get("/mims/api-counter-v1/dataStore").status_code == 404  # no operation was started
    ok = deployed.post("/mims/api-counter-v1/dataStore", json={"action": "backup", "path": "nested/dir/c.json"})
    assert ok.status_code == 200 and _poll(deployed)[0]["status"] == "completed"
    assert os.path.isfile(os.path.join(root, "nested", "dir", "c.json"))
