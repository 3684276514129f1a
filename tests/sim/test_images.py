"""Images (current API): upload, list, delete, tar validation, upload edge cases."""

import glob
import io
import json
import os
import shutil
import socket
import subprocess
import tarfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from sim_support import COUNTER_JS, ROOT
from mimoe_sim.imagetar import build_image_tar, parse_image_tar


def _tar(members):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _assert_nothing_stored(mcm):
    assert mcm.get("/images").json() == {"data": []}
    images_dir = os.path.join(mcm.node.data_dir, "images")
    assert not os.path.isdir(images_dir) or os.listdir(images_dir) == []


def test_upload_list_delete_by_id(mcm, counter_tar):
    answer = mcm.upload(counter_tar)
    assert answer.status_code == 201
    image = answer.json()
    assert set(image) == {"created", "digest", "id", "name", "repoTags", "size", "status"}
    assert image["id"] == "api-counter-v1"
    assert image["name"] == "counter-v1"
    assert image["repoTags"] == ["counter-v1:1.0.0"]
    assert image["size"] == len(counter_tar)
    assert image["status"] == "successfully deployed"
    assert image["digest"].startswith("sha256:") and len(image["digest"]) == 71
    assert isinstance(image["created"], int)
    assert mcm.get("/images").json() == {"data": [image]}
    deleted = mcm.delete("/images/api-counter-v1")
    assert deleted.status_code == 200
    assert deleted.json()["id"] == "api-counter-v1"
    assert mcm.get("/images").json() == {"data": []}
    assert mcm.delete("/images/api-counter-v1").status_code == 404


def test_delete_by_name_and_reupload_replaces(mcm, counter_js):
    first = mcm.upload(build_image_tar("counter-v1", "1.0.0", counter_js)).json()
    second = mcm.upload(build_image_tar("counter-v1", "1.1.0", counter_js)).json()
    assert second["digest"] != first["digest"]
    listed = mcm.get("/images").json()["data"]
    assert [i["repoTags"] for i in listed] == [["counter-v1:1.1.0"]]
    assert mcm.delete("/images/counter-v1").status_code == 200
    _assert_nothing_stored(mcm)


def test_delete_image_in_use_is_409(deployed):
    answer = deployed.delete("/images/api-counter-v1")
    assert answer.status_code == 409
    assert "remove" in answer.json()["error"]["message"]
    assert deployed.delete("/mims/api-counter-v1").status_code == 200
    assert deployed.delete("/images/api-counter-v1").status_code == 200


@pytest.mark.parametrize("payload, fragment", [
    (b"this is not a tar archive at all" * 20, "tar"),
    (b"", "no image received"),
])
def test_corrupt_upload_is_400_and_nothing_stored(mcm, payload, fragment):
    answer = mcm.upload(payload)
    assert answer.status_code == 400
    assert fragment in answer.json()["error"]["message"]
    _assert_nothing_stored(mcm)


def test_truncated_tar_is_400(mcm, counter_tar):
    answer = mcm.upload(counter_tar[: len(counter_tar) // 3])
    assert answer.status_code == 400
    _assert_nothing_stored(mcm)


def test_plain_tar_with_only_index_js_is_rejected(mcm):
    answer = mcm.upload(_tar({"index.js": b"mimikModule.exports = function (c, q, r) { r.end('x'); };"}))
    assert answer.status_code == 400
    assert "manifest.json" in answer.json()["error"]["message"]
    _assert_nothing_stored(mcm)


def test_layer_without_index_js_is_rejected(mcm):
    layer = _tar({"main.js": b"//"})
    manifest = json.dumps([{"Config": "c.json", "RepoTags": ["x-v1:1.0.0"], "Layers": ["abc/layer.tar"]}]).encode()
    answer = mcm.upload(_tar({"manifest.json": manifest, "abc/layer.tar": layer}))
    assert answer.status_code == 400
    assert "index.js" in answer.json()["error"]["message"]
    _assert_nothing_stored(mcm)


def test_manifest_without_repo_tags_is_rejected(mcm):
    manifest = json.dumps([{"Config": "c.json", "Layers": ["abc/layer.tar"]}]).encode()
    answer = mcm.upload(_tar({"manifest.json": manifest, "abc/layer.tar": _tar({"index.js": b"//"})}))
    assert answer.status_code == 400
    assert "RepoTags" in answer.json()["error"]["message"]


def test_upload_without_image_field_or_as_raw_body(mcm, counter_tar):
    answer = mcm.post("/images", files={"file": ("x.tar", counter_tar, "application/x-tar")})
    assert answer.status_code == 400
    assert answer.json()["error"]["message"] == "no image received"
    answer = mcm.post("/images", data=counter_tar, headers={"Content-Type": "application/x-tar"})
    assert answer.status_code == 400
    _assert_nothing_stored(mcm)


def _expect_continue_upload(mcm, tar):
    """POST the image the way curl does for larger bodies: headers with Expect: 100-continue, wait for the
    interim answer, then the body. Returns (interim status or None, final status, final JSON)."""
    boundary = "xyzBOUNDARY"
    body = (("--%s\r\nContent-Disposition: form-data; name=\"image\"; filename=\"i.tar\"\r\n"
             "Content-Type: application/x-tar\r\n\r\n" % boundary).encode() + tar
            + ("\r\n--%s--\r\n" % boundary).encode())
    sock = socket.create_connection(("127.0.0.1", mcm.node.port), timeout=10)
    sock.sendall(("POST /mcm/v1/images HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"
                  "Content-Type: multipart/form-data; boundary=%s\r\nContent-Length: %d\r\n"
                  "Expect: 100-continue\r\n\r\n" % (mcm.node.api_key, boundary, len(body))).encode())
    reader = sock.makefile("rb")
    status = int(reader.readline().split()[1])
    interim = None
    if status == 100:
        interim = status
        while reader.readline().strip():
            pass
        sock.sendall(body)
        status = int(reader.readline().split()[1])
    length = 0
    while True:
        line = reader.readline().strip()
        if not line:
            break
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    answer = json.loads(reader.read(length))
    sock.close()
    return interim, status, answer


def test_expect_100_continue_upload_gets_100_and_succeeds(mcm, counter_tar):
    interim, status, answer = _expect_continue_upload(mcm, counter_tar)
    assert (interim, status) == (100, 201), answer
    assert answer["name"] == "counter-v1"


def test_upload_with_real_curl_as_the_readmes_do(node_factory, counter_tar, tmp_path):
    """mimik's README command, host, port and token aside: curl -F "image=@<name>.tar" (curl adds
    Expect: 100-continue on its own for large bodies; forced here for the small test image)."""
    path = tmp_path / "counter-v1.tar"
    path.write_bytes(counter_tar)
    for api in ("current", "legacy"):
        node = node_factory(api, api=api)
        done = subprocess.run(["curl", "-sS", "-i", "-H", "Authorization: Bearer " + node.api_key,
                               "-H", "Expect: 100-continue", "-F", "image=@%s" % path, node.mcm_url + "/images"],
                              capture_output=True, text=True, timeout=60, check=False)
        assert done.returncode == 0, done.stderr
        assert "HTTP/1.1 100 Continue" in done.stdout and "HTTP/1.1 201" in done.stdout, done.stdout


def test_expect_100_continue_refused_by_fault(mcm, counter_tar):
    """Fault refuse_expect_continue: what some real nodes did (spec), answered before the body is sent."""
    mcm.node.set_faults(refuse_expect_continue=True)
    interim, status, answer = _expect_continue_upload(mcm, counter_tar)
    assert (interim, status) == (None, 400)
    assert answer["error"]["message"] == "no image received"
    _assert_nothing_stored(mcm)


def test_upload_from_url(mcm, counter_tar):
    class Serve(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Length", str(len(counter_tar)))
            self.end_headers()
            self.wfile.write(counter_tar)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Serve)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = "http://127.0.0.1:%d/counter.tar" % server.server_address[1]
        answer = mcm.post("/images", json={"url": url})
        assert answer.status_code == 201, answer.text
        assert answer.json()["name"] == "counter-v1"
        bad = mcm.post("/images", json={"url": "http://127.0.0.1:1/nothing.tar"})
        assert bad.status_code == 400
    finally:
        server.shutdown()
        server.server_close()


def _example_or_built_tar():
    """The example project's real packager output when it was built, else the same layout built here."""
    found = sorted(glob.glob(os.path.join(ROOT, "examples", "hello-mim", "deploy", "*.tar")))
    if found:
        with open(found[-1], "rb") as fh:
            return fh.read()
    with open(COUNTER_JS, "rb") as fh:
        return build_image_tar("hello-v1", "1.0.0", fh.read())


def test_packager_layout_tar_accepted(mcm):
    data = _example_or_built_tar()
    answer = mcm.upload(data)
    assert answer.status_code == 201, answer.text
    image = answer.json()
    tag = image["repoTags"][0]
    assert image["name"] == tag.rsplit(":", 1)[0]
    assert image["id"] == "api-" + image["name"]


def test_built_tar_matches_packager_layout(counter_js):
    data = build_image_tar("hello-v1", "1.2.3", counter_js, layer_id="a" * 64)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        names = tar.getnames()
        manifest = json.loads(tar.extractfile("manifest.json").read())
        repositories = json.loads(tar.extractfile("repositories").read())
        layer = tarfile.open(fileobj=io.BytesIO(tar.extractfile("a" * 64 + "/layer.tar").read()))
        assert layer.getnames() == ["index.js"]
    assert names[:2] == [".", "a" * 64]
    assert set(names[2:]) == {manifest[0]["Config"], "manifest.json", "repositories", "a" * 64 + "/VERSION",
                              "a" * 64 + "/json", "a" * 64 + "/layer.tar"}
    assert manifest[0]["RepoTags"] == ["hello-v1:1.2.3"]
    assert manifest[0]["Layers"] == ["a" * 64 + "/layer.tar"]
    assert repositories == {"hello-v1": {"latest": "a" * 64}}
    parsed = parse_image_tar(data)
    assert (parsed["name"], parsed["version"]) == ("hello-v1", "1.2.3")
    assert parsed["index_js"].decode() == counter_js


def _npm_install_packager(directory):
    npm = shutil.which("npm")  # there: the test is marked npm (tests/conftest.py checks it)
    try:
        done = subprocess.run([npm, "install", "--no-save", "--no-audit", "--no-fund",
                               "@mimik/edge-ms-packager@1.1.5"],
                              cwd=directory, capture_output=True, text=True, timeout=180, check=False)
    except subprocess.TimeoutExpired:
        pytest.skip("npm registry not reachable (npm install timed out)")
    if done.returncode != 0:
        text = done.stdout + done.stderr
        if any(w in text for w in ("ENOTFOUND", "EAI_AGAIN", "ECONNREFUSED", "ETIMEDOUT", "network")):
            pytest.skip("npm registry not reachable: %s" % text.strip().splitlines()[-1])
        pytest.fail("npm install @mimik/edge-ms-packager failed:\n" + text)


@pytest.mark.npm
def test_real_packager_output_accepted_and_served(mcm, tmp_path, counter_js):
    project = tmp_path / "mim"
    (project / "config").mkdir(parents=True)
    (project / "build").mkdir()
    (project / "package.json").write_text(json.dumps({"name": "counter", "version": "2.0.1", "private": True}))
    (project / "config" / "default.yml").write_text(
        "package:\n  imageName: counter\n  imageIndexFilePath: ./build/index.js\n  outputFolder: ./deploy\n")
    (project / "build" / "index.js").write_text(counter_js)
    _npm_install_packager(str(project))
    subprocess.run(["node", "node_modules/@mimik/edge-ms-packager/index.js"], cwd=str(project), check=True,
                   capture_output=True, timeout=60)
    tar_path = project / "deploy" / "counter-v1-2.0.1.tar"
    assert tar_path.is_file(), "the packager wrote no tar"
    answer = mcm.upload(tar_path.read_bytes())
    assert answer.status_code == 201, answer.text
    assert answer.json()["name"] == "counter-v1"
    assert answer.json()["repoTags"] == ["counter-v1:2.0.1"]
    assert mcm.deploy().status_code == 201
    assert mcm.mim("/api/counter/v1/counter").json()["counter"] == 1
