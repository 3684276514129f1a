"""/_sim/stats counters and reset."""

import requests


def test_stats_count_requests_writes_and_bytes(mcm, counter_tar):
    mcm.node.reset_stats()
    assert mcm.node.stats() == {"requests_total": 0, "write_requests": 0, "bytes_uploaded": 0, "by_endpoint": {}}
    mcm.get("/images")
    upload = mcm.upload(counter_tar)
    upload_bytes = int(upload.request.headers["Content-Length"])
    mcm.deploy()
    mcm.get("/mims/api-counter-v1")
    mcm.delete("/mims/api-counter-v1")
    mcm.delete("/mims/api-counter-v1")  # 404 still counts
    requests.get(mcm.node.url + "/_sim/info", timeout=5)  # /_sim is never counted
    stats = mcm.node.stats()
    by = stats["by_endpoint"]
    assert by["GET /mcm/v1/images"] == {"requests": 1, "bytes": 0}
    assert by["POST /mcm/v1/images"] == {"requests": 1, "bytes": upload_bytes}
    assert by["POST /mcm/v1/mims"]["requests"] == 1
    assert by["GET /mcm/v1/mims/{id}"]["requests"] == 1
    assert by["DELETE /mcm/v1/mims/{id}"]["requests"] == 2
    assert stats["requests_total"] == 6
    assert stats["write_requests"] == 4
    assert stats["bytes_uploaded"] == sum(e["bytes"] for e in by.values())
    assert stats["bytes_uploaded"] > len(counter_tar)
    assert mcm.node.reset_stats()["requests_total"] == 0
    assert mcm.node.stats()["by_endpoint"] == {}


def test_unauthorized_and_unknown_requests_count(mcm):
    mcm.node.reset_stats()
    requests.get(mcm.node.mcm_url + "/images", timeout=5)
    mcm.post("/nothing-here", json={})
    by = mcm.node.stats()["by_endpoint"]
    assert by["GET /mcm/v1/images"]["requests"] == 1
    assert by["POST /mcm/v1/(unknown)"]["requests"] == 1
