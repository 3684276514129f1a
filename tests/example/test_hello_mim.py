"""The example mim (examples/hello-mim) builds, packages and works.

A copy of the project is built in a temporary directory (node_modules is a symlink to the project's
own, installed with ``npm ci`` when missing), so the test leaves the source tree as it found it.
"""

import hashlib
import io
import json
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROJECT = ROOT / "examples" / "hello-mim"
HARNESS = Path(__file__).with_name("mim_harness.js")
SOURCES = ["package.json", "package-lock.json", "webpack.config.js", "config", "src"]

pytestmark = [pytest.mark.npm, pytest.mark.slow]


def run(args, cwd, stdin=None):
    proc = subprocess.run(
        args, cwd=cwd, input=stdin, capture_output=True, text=True, timeout=300, check=False
    )
    assert proc.returncode == 0, f"{' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def build_copy(dest, version=None):
    """Copy the project to dest, optionally set its version, then build and package it."""
    if not (PROJECT / "node_modules").is_dir():
        run(["npm", "ci"], PROJECT)
    for name in SOURCES:
        src = PROJECT / name
        if src.is_dir():
            shutil.copytree(src, dest / name)
        else:
            shutil.copy2(src, dest / name)
    (dest / "node_modules").symlink_to(PROJECT / "node_modules", target_is_directory=True)
    if version:
        pkg = json.loads((dest / "package.json").read_text())
        pkg["version"] = version
        (dest / "package.json").write_text(json.dumps(pkg, indent=2) + "\n")
    run(["npm", "run", "build"], dest)
    run(["npm", "run", "package"], dest)
    return dest


def call_mim(bundle, requests, storage=None):
    """Run requests through the bundle, each in a fresh vm sandbox (see mim_harness.js)."""
    scenario = json.dumps({"requests": requests, "storage": storage or {}})
    return json.loads(run(["node", str(HARNESS), str(bundle)], PROJECT, stdin=scenario))


def read_image(tar_path):
    """Return (manifest entry, {member name: bytes}) of a docker-save tarball."""
    with tarfile.open(tar_path) as tar:
        files = {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}
    manifest = json.loads(files["manifest.json"])
    assert len(manifest) == 1
    return manifest[0], files


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return build_copy(tmp_path_factory.mktemp("hello-mim"))


def test_package_is_a_docker_save_image(built):
    tars = sorted(p.name for p in (built / "deploy").iterdir())
    assert tars == ["hello-v1-1.0.0.tar"]  # the packager's .generated-* work folder is removed

    entry, files = read_image(built / "deploy" / "hello-v1-1.0.0.tar")
    assert entry["RepoTags"] == ["hello-v1:1.0.0"]
    [layer_path] = entry["Layers"]
    layer_id = layer_path.split("/")[0]
    assert layer_path == f"{layer_id}/layer.tar"
    assert set(files) == {
        "manifest.json",
        "repositories",
        entry["Config"],
        f"{layer_id}/VERSION",
        f"{layer_id}/json",
        f"{layer_id}/layer.tar",
    }
    # packager 1.1.5 tags only "latest" in repositories
    assert json.loads(files["repositories"]) == {"hello-v1": {"latest": layer_id}}
    assert json.loads(files[f"{layer_id}/json"])["id"] == layer_id

    # The config is content-addressed and names the layer by its digest, as docker save does.
    config_bytes = files[entry["Config"]]
    assert entry["Config"] == hashlib.sha256(config_bytes).hexdigest() + ".json"
    config = json.loads(config_bytes)
    layer = files[layer_path]
    assert config["rootfs"] == {
        "type": "layers",
        "diff_ids": ["sha256:" + hashlib.sha256(layer).hexdigest()],
    }
    assert config["os"] == "linux"

    with tarfile.open(fileobj=io.BytesIO(layer)) as layer_tar:
        assert layer_tar.getnames() == ["index.js"]
        assert layer_tar.extractfile("index.js").read() == (built / "build" / "index.js").read_bytes()


def test_bundle_is_es5(built):
    check = (
        "var acorn = require('acorn');"
        "var src = require('fs').readFileSync(process.argv[1], 'utf8');"
        "acorn.parse(src, {ecmaVersion: 5, sourceType: 'script'});"
        "console.log(src.length);"
    )
    size = int(run(["node", "-e", check, str(built / "build" / "index.js")], PROJECT))
    assert 0 < size < 20000


def test_bundle_serves_its_routes(built):
    bundle = built / "build" / "index.js"
    greeting = {"GREETING": "hello from mimOE"}
    out = call_mim(
        bundle,
        [
            {"url": "/version"},
            {"url": "/hello"},
            {"url": "/hello?lang=en", "env": greeting},
            {"url": "/counter"},
            {"url": "/counter", "method": "POST"},
            {"url": "/counter", "method": "POST"},
            {"url": "/counter/"},
            {"url": "/counter", "method": "DELETE"},
            {"url": "/healthcheck"},
            {"url": "/healthcheck", "env": {"HEALTH_FAIL": "true"}},
            {"url": "/nowhere"},
        ],
    )
    got = [(r["statusCode"], r["body"]) for r in out["results"]]
    assert got == [
        (200, {"name": "hello", "version": "1.0.0"}),
        (200, {"message": "hello", "version": "1.0.0"}),
        (200, {"message": "hello from mimOE", "version": "1.0.0"}),
        (200, {"counter": 0}),
        (200, {"counter": 1}),
        (200, {"counter": 2}),  # state survives fresh sandboxes only through context.storage
        (200, {"counter": 2}),
        (405, {"error": "method not allowed", "method": "DELETE", "allow": "GET, POST"}),
        (200, {"status": "ok", "version": "1.0.0"}),
        (500, {"status": "failing"}),
        (404, {"error": "not found", "path": "/nowhere"}),
    ]
    assert out["storage"] == {"counter": "2"}
    for result in out["results"]:
        assert result["headers"]["content-type"] == "application/json"
        assert result["globals"] == ["mimikModule"]  # the bundle leaks no globals


def test_api_key_guards_all_but_healthcheck(built):
    env = {"API_KEY": "s3cret"}
    out = call_mim(
        built / "build" / "index.js",
        [
            {"url": "/hello", "env": env},
            {"url": "/counter", "env": env, "headers": {"Authorization": "Bearer wrong"}},
            {"url": "/nowhere", "env": env},
            {"url": "/hello", "env": env, "headers": {"Authorization": "Bearer s3cret"}},
            {"url": "/counter", "method": "POST", "env": env, "headers": {"authorization": "bearer s3cret"}},
            {"url": "/healthcheck", "env": env},
        ],
        storage={"counter": "41"},
    )
    assert [r["statusCode"] for r in out["results"]] == [401, 401, 401, 200, 200, 200]
    assert out["results"][0]["headers"]["www-authenticate"] == "Bearer"
    assert out["results"][4]["body"] == {"counter": 42}


def test_version_is_injected_at_build_time(tmp_path):
    built = build_copy(tmp_path, version="1.2.3")
    entry, dummy = read_image(built / "deploy" / "hello-v1-1.2.3.tar")
    assert entry["RepoTags"] == ["hello-v1:1.2.3"]
    out = call_mim(built / "build" / "index.js", [{"url": "/version"}, {"url": "/healthcheck"}])
    assert [r["body"]["version"] for r in out["results"]] == ["1.2.3", "1.2.3"]
