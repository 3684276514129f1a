# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The mimoe.edge.mim_build role, run by ansible-playbook on temporary copies of examples/hello-mim.

- first run builds (npm ci, npm run build, packaging), a second run changes nothing and runs no npm;
- the archive has the structure of the one mimik's packager (@mimik/edge-ms-packager) writes, and both deploy on
  a simulator node and answer GET /version;
- two builds of the same sources in different directories are byte-identical, a source change changes the digest;
- a project without lockfile, and a failing build, fail with a clear message (with the end of npm's output).

Needs node, npm (the example's dependencies come from the npm cache or registry through ``npm ci``) and the
collection tree at build/ansible_collections (``scripts/collection-tree.sh``, run by ``make integration``).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "hello-mim"
SOURCES = ["package.json", "package-lock.json", "webpack.config.js", "config", "src"]
COLLECTIONS = os.environ.get("ANSIBLE_COLLECTIONS_PATH") or str(ROOT / "build")
ANSIBLE_PLAYBOOK = str(Path(sys.executable).with_name("ansible-playbook"))
HEX64 = re.compile(r"^[0-9a-f]{64}$")

pytestmark = [
    pytest.mark.npm,
    pytest.mark.ansible,
    pytest.mark.slow,
    pytest.mark.skipif(
        not (Path(COLLECTIONS) / "ansible_collections" / "mimoe" / "edge" / "roles" / "mim_build").is_dir(),
        reason="needs the collection tree (scripts/collection-tree.sh)",
    ),
]

PLAYBOOK = """\
- name: Build the mim
  hosts: localhost
  gather_facts: false
  roles:
    - role: mimoe.edge.mim_build
  post_tasks:
    - name: Hand the fact to the test
      ansible.builtin.copy:
        content: "{{ mim_build_image | to_json }}"
        dest: "{{ fact_file }}"
        mode: "0644"
      changed_when: false
      check_mode: false
"""


# ---------------------------------------------------------------------------------------------- helpers

def copy_example(dest):
    dest.mkdir(parents=True)
    for name in SOURCES:
        src = EXAMPLE / name
        if src.is_dir():
            shutil.copytree(src, dest / name)
        else:
            shutil.copy2(src, dest / name)
    return dest


def run_role(workdir, project, expect_ok=True, check=False, **extra):
    """Run the role through ansible-playbook. Returns (fact dict or None, recap dict, full output)."""
    playbook = workdir / "play.yml"
    if not playbook.exists():
        playbook.write_text(PLAYBOOK)
    fact_file = workdir / "fact.json"
    if fact_file.exists():
        fact_file.unlink()
    extra_vars = dict(extra, fact_file=str(fact_file))
    if project is not None:
        extra_vars["mim_build_project_dir"] = str(project)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0",
               ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_INVENTORY_UNPARSED_WARNING="0", ANSIBLE_RETRY_FILES_ENABLED="0")
    proc = subprocess.run(
        [ANSIBLE_PLAYBOOK, str(playbook), "-e", json.dumps(extra_vars)] + (["--check"] if check else []),
        cwd=str(workdir), env=env, capture_output=True, text=True, timeout=600, check=False,
    )
    output = proc.stdout + proc.stderr
    if expect_ok:
        assert proc.returncode == 0, output
    else:
        assert proc.returncode != 0, output
    match = re.search(r"^localhost\s*:\s*(.*)$", proc.stdout, re.MULTILINE)
    assert match, output
    recap = {key: int(value) for key, value in re.findall(r"(\w+)=(\d+)", match.group(1))}
    fact = json.loads(fact_file.read_text()) if fact_file.exists() else None
    return fact, recap, output


def sha256(path):
    return "sha256:" + hashlib.sha256(Path(path).read_bytes()).hexdigest()


def read_archive(path):
    with tarfile.open(str(path), mode="r:") as tar:
        infos = tar.getmembers()
        files = {m.name: tar.extractfile(m).read() for m in infos if m.isfile()}
    manifest = json.loads(files["manifest.json"])
    layer_path = manifest[0]["Layers"][0]
    layer_id = layer_path.split("/")[0]
    with tarfile.open(fileobj=io.BytesIO(files[layer_path]), mode="r:") as layer:
        layer_members = [(m.name, m.isfile()) for m in layer.getmembers()]
        bundle = layer.extractfile("index.js").read()
    return {
        "names": [m.name for m in infos],
        "manifest": manifest,
        "repositories": json.loads(files["repositories"]),
        "config": json.loads(files[manifest[0]["Config"]]),
        "config_bytes": files[manifest[0]["Config"]],
        "config_name": manifest[0]["Config"],
        "layer_id": layer_id,
        "layer_json": json.loads(files[layer_id + "/json"]),
        "layer_version": files[layer_id + "/VERSION"],
        "layer_tar": files[layer_path],
        "layer_members": layer_members,
        "bundle": bundle,
    }


def structure(archive):
    """What the official packager's archive and ours must share (ids replaced by placeholders)."""
    layer_id = archive["layer_id"]
    assert HEX64.match(layer_id)
    assert archive["config_name"] == hashlib.sha256(archive["config_bytes"]).hexdigest() + ".json"
    names = sorted(
        "<config>.json" if name == archive["config_name"] else name.replace(layer_id, "<id>")
        for name in archive["names"]
    )
    manifest = archive["manifest"]
    return {
        "names": names,
        "manifest": [sorted(entry) for entry in manifest],
        "manifest_layers": [layer.replace(layer_id, "<id>") for layer in manifest[0]["Layers"]],
        "repo_tags": manifest[0]["RepoTags"],
        "repositories_latest": {name: tags["latest"] == layer_id for name, tags in archive["repositories"].items()},
        "config_keys": sorted(archive["config"]),
        "config_config_keys": sorted(archive["config"]["config"]),
        "rootfs": {"type": archive["config"]["rootfs"]["type"],
                   "diff_ids_are_layer": archive["config"]["rootfs"]["diff_ids"]
                   == ["sha256:" + hashlib.sha256(archive["layer_tar"]).hexdigest()]},
        "layer_json_keys": sorted(archive["layer_json"]),
        "layer_version": archive["layer_version"],
        "layer_members": archive["layer_members"],
    }


# ---------------------------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Project A: built twice by the role. Returns what the tests need to look at."""
    work = tmp_path_factory.mktemp("mim-build")
    project = copy_example(work / "hello-mim")
    first_fact, first_recap, first_output = run_role(work, project)
    tar = Path(first_fact["path"])
    bundle = project / "build" / "index.js"
    marks = {p: p.stat().st_mtime_ns for p in (bundle, tar, project / "node_modules" / ".package-lock.json")}
    time.sleep(0.05)  # any rewrite would get another mtime
    second_fact, second_recap, second_output = run_role(work, project)
    return dict(work=work, project=project, tar=tar, marks=marks,
                first=(first_fact, first_recap, first_output), second=(second_fact, second_recap, second_output))


# ---------------------------------------------------------------------------------------------- tests

def test_first_run_builds_and_reports_the_image(built):
    fact, recap, output = built["first"]
    assert recap["failed"] == 0 and recap["changed"] >= 3, output
    for task in ("Install the dependencies (npm ci, or npm install without a lockfile)", "Run the build script (npm run build)",
                 "Package the bundle into a reproducible image archive"):
        assert re.search(r"TASK \[mimoe\.edge\.mim_build : %s\][^\n]*\nchanged: \[localhost\]" % re.escape(task),
                         output), task
    tar = built["project"] / "deploy" / "hello-v1-1.0.0.tar"
    assert fact["path"] == str(tar)
    assert (fact["name"], fact["version"], fact["repo_tag"]) == ("hello-v1", "1.0.0", "hello-v1:1.0.0")
    assert fact["digest"] == sha256(tar)
    assert fact["size"] == tar.stat().st_size
    assert fact["built"] is True


def test_second_run_changes_nothing_and_runs_no_npm(built):
    first_fact = built["first"][0]
    fact, recap, output = built["second"]
    assert recap["changed"] == 0 and recap["failed"] == 0, output
    assert fact["built"] is False
    assert fact["digest"] == first_fact["digest"] and fact["path"] == first_fact["path"]
    assert re.search(r"TASK \[mimoe\.edge\.mim_build : Install the dependencies \(npm ci, or npm install without a lockfile\)\][^\n]*\nskipping", output)
    assert re.search(r"TASK \[mimoe\.edge\.mim_build : Run the build script[^\n]*\nskipping", output)
    # npm did not run: neither node_modules, nor the bundle, nor the archive were touched
    for path, mtime_ns in built["marks"].items():
        assert path.stat().st_mtime_ns == mtime_ns, path


def test_forced_rebuild_gives_the_same_bytes(built):
    before = sha256(built["tar"])
    # (dependencies already installed: skip npm ci to keep the test fast)
    fact, recap, output = run_role(built["work"], built["project"], mim_build_force=True, mim_build_npm_ci=False)
    assert fact["built"] is True, output
    assert re.search(r"TASK \[mimoe\.edge\.mim_build : Run the build script[^\n]*\nchanged", output)
    # npm ran again, yet the archive bytes are the same: the package step reports no change
    assert re.search(r"TASK \[mimoe\.edge\.mim_build : Package the bundle[^\n]*\nok: \[localhost\]", output), output
    assert fact["digest"] == before == sha256(built["tar"])


def test_a_damaged_or_missing_archive_is_built_again(built):
    """The record of the last build is only trusted while its archive still has the recorded digest."""
    good = sha256(built["tar"])
    built["tar"].write_bytes(b"not an image archive")
    fact, _recap, output = run_role(built["work"], built["project"], mim_build_npm_ci=False)
    assert fact["built"] is True and fact["digest"] == good == sha256(built["tar"]), output
    built["tar"].unlink()
    fact, _recap, output = run_role(built["work"], built["project"], mim_build_npm_ci=False)
    assert fact["built"] is True and fact["digest"] == good == sha256(built["tar"]), output


def test_same_sources_elsewhere_are_byte_identical_and_a_change_changes_the_digest(built, tmp_path):
    reference = built["first"][0]["digest"]
    project = copy_example(tmp_path / "elsewhere" / "hello-mim")
    # The dependencies that project A installed with npm ci (npm ci takes most of a minute here).
    (project / "node_modules").symlink_to(built["project"] / "node_modules", target_is_directory=True)
    fact, _recap, output = run_role(tmp_path, project, mim_build_npm_ci=False)
    assert fact["built"] is True, output
    assert fact["digest"] == reference, output
    assert sha256(fact["path"]) == sha256(built["tar"])

    index = project / "src" / "index.js"
    source = index.read_text()
    assert "|| 'hello'" in source
    index.write_text(source.replace("|| 'hello'", "|| 'hello again'"))
    changed_fact, recap, output = run_role(tmp_path, project, mim_build_npm_ci=False)
    assert changed_fact["built"] is True and recap["changed"] >= 2, output
    assert changed_fact["digest"] != reference
    assert changed_fact["digest"] == sha256(changed_fact["path"])


@pytest.mark.node
def test_structure_matches_the_official_packager_and_both_deploy(built, tmp_path):
    # The official packager, on a copy of the same sources with the same built bundle.
    official_project = copy_example(tmp_path / "official")
    (official_project / "node_modules").symlink_to(built["project"] / "node_modules", target_is_directory=True)
    (official_project / "build").mkdir()
    shutil.copy2(built["project"] / "build" / "index.js", official_project / "build" / "index.js")
    proc = subprocess.run(["npm", "run", "package"], cwd=str(official_project), capture_output=True, text=True,
                          timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    official_tar = official_project / "deploy" / "hello-v1-1.0.0.tar"

    official, ours = read_archive(official_tar), read_archive(built["tar"])
    assert structure(ours) == structure(official)
    assert ours["bundle"] == official["bundle"] == (built["project"] / "build" / "index.js").read_bytes()
    assert ours["layer_members"] == [("index.js", True)]
    # The documented differences: mimik.* labels, and the version tag next to latest in repositories.
    assert official["config"]["config"]["Labels"] is None
    assert ours["config"]["config"]["Labels"] == {
        "mimik.runtime": "javascript", "mimik.version": "1.0.0", "mimik.entry": "index.js", "mimik.type": "sandbox"}
    assert ours["repositories"] == {"hello-v1": {"1.0.0": ours["layer_id"], "latest": ours["layer_id"]}}

    # Both deploy on a simulator node and answer.
    requests = pytest.importorskip("requests")
    sys.path.insert(0, str(ROOT / "tools"))
    testing = pytest.importorskip("mimoe_sim.testing")
    with testing.SimNode() as node:
        auth = {"Authorization": "Bearer " + node.api_key}
        for tar in (official_tar, built["tar"]):
            with open(str(tar), "rb") as handle:
                answer = requests.post(node.url + "/mcm/v1/images", headers=auth, timeout=30,
                                       files={"image": (tar.name, handle, "application/x-tar")})
            assert answer.status_code in (200, 201), answer.text
            assert answer.json()["name"] == "hello-v1"
            assert answer.json()["digest"].rsplit(":", maxsplit=1)[-1] == sha256(tar).rsplit(":", maxsplit=1)[-1]
            answer = requests.post(node.url + "/mcm/v1/mims", headers=auth, timeout=30, json={
                "name": "hello-v1", "image": "hello-v1", "env": {"MCM.BASE_API_PATH": "/hello/v1"}})
            assert answer.status_code in (200, 201), answer.text
            answer = requests.get(node.url + "/api/hello/v1/version", timeout=30)
            assert answer.status_code == 200, answer.text
            assert answer.json() == {"name": "hello", "version": "1.0.0"}
            for path in ("/mcm/v1/mims/api-hello-v1", "/mcm/v1/images/api-hello-v1"):
                answer = requests.delete(node.url + path, headers=auth, timeout=30)
                assert answer.status_code == 200, answer.text


def test_missing_lockfile_fails_before_npm_when_asked(tmp_path):
    project = copy_example(tmp_path / "no-lock")
    (project / "package-lock.json").unlink()
    fact, recap, output = run_role(tmp_path, project, expect_ok=False, mim_build_without_lockfile="fail")
    assert recap["failed"] == 1 and fact is None
    assert "no package-lock.json (or npm-shrinkwrap.json) in %s" % project in output
    assert "npm ci installs exactly the versions of a lockfile" in output
    assert not (project / "node_modules").exists()
    _fact, recap, output = run_role(tmp_path, project, expect_ok=False, mim_build_without_lockfile="maybe")
    assert "mim_build_without_lockfile" in output and "install, fail" in output and "Traceback" not in output


def test_missing_lockfile_installs_with_a_warning(tmp_path):
    """mimik's public mim repositories have no lockfile: npm install --no-package-lock, a warning, no lockfile
    written into the project. A wrapper stands for npm install (no registry in tests); the build is real."""
    project = copy_example(tmp_path / "no-lock")
    (project / "package-lock.json").unlink()
    (project / "node_modules").symlink_to(EXAMPLE / "node_modules", target_is_directory=True)
    calls = tmp_path / "npm-calls.txt"
    wrapper = tmp_path / "npm"
    wrapper.write_text('#!/bin/sh\necho "$@" >> %s\n[ "$1" = install ] && exit 0\nexec npm "$@"\n' % calls)
    wrapper.chmod(0o755)
    fact, recap, output = run_role(tmp_path, project, mim_build_npm=str(wrapper))
    assert recap["failed"] == 0 and fact is not None
    assert "this build is NOT reproducible" in output
    assert calls.read_text().splitlines()[0] == "install --no-package-lock --no-audit --no-fund"
    assert not (project / "package-lock.json").exists()
    _fact, recap, _output = run_role(tmp_path, project, mim_build_npm=str(wrapper))
    assert recap["changed"] == 0  # unchanged sources: no npm at all the second time


def test_missing_package_json_fails_clearly(tmp_path):
    project = tmp_path / "empty"
    project.mkdir()
    _fact, recap, output = run_role(tmp_path, project, expect_ok=False)
    assert recap["failed"] == 1
    assert "no package.json in %s" % project in output


def test_failing_build_shows_the_end_of_npm_output(tmp_path):
    project = tmp_path / "broken"
    project.mkdir()
    script = ("for (var i = 0; i < 100; i++) console.log('build line ' + i); "
              "console.error('ERROR in ./src/index.js: Unexpected token (3:7)'); process.exit(3)")
    (project / "package.json").write_text(json.dumps(
        {"name": "broken", "version": "1.0.0", "private": True, "scripts": {"build": "node -e \"%s\"" % script}}))
    (project / "package-lock.json").write_text(json.dumps({
        "name": "broken", "version": "1.0.0", "lockfileVersion": 3, "requires": True,
        "packages": {"": {"name": "broken", "version": "1.0.0"}}}))
    _fact, recap, output = run_role(tmp_path, project, expect_ok=False, mim_build_output_lines=10)
    assert recap["failed"] == 1
    assert "'npm run build' failed in %s" % project in output
    assert "ERROR in ./src/index.js: Unexpected token (3:7)" in output
    assert "build line 99" in output and "build line 90" in output
    assert "build line 89" not in output  # only the tail
    assert not (project / "deploy").exists()


def test_build_without_output_fails_clearly(tmp_path):
    project = copy_example(tmp_path / "no-output")
    package = json.loads((project / "package.json").read_text())
    package["scripts"]["build"] = "node -e \"console.log('built nothing')\""
    (project / "package.json").write_text(json.dumps(package))
    _fact, recap, output = run_role(tmp_path, project, expect_ok=False, mim_build_npm_ci=False)
    assert recap["failed"] == 1
    assert "build output %s not found" % (project / "build" / "index.js") in output


def test_check_mode_reports_the_build_without_running_npm(tmp_path):
    project = copy_example(tmp_path / "check")
    fact, recap, output = run_role(tmp_path, project, check=True)
    assert recap["changed"] == 1 and recap["failed"] == 0, output
    assert "needs a build (no previous build, or changed inputs or settings); a run would build it" in output
    assert fact == {"built": False}
    assert not (project / "node_modules").exists() and not (project / "deploy").exists()


def test_arguments_are_validated_before_anything_runs(tmp_path):
    _fact, recap, output = run_role(tmp_path, None, expect_ok=False)
    assert recap["failed"] == 1
    assert "missing required arguments: mim_build_project_dir" in output
    _fact, recap, output = run_role(tmp_path, tmp_path, expect_ok=False, mim_build_mtime="yesterday")
    assert recap["failed"] == 1
    assert "mim_build_mtime" in output and "int" in output
    assert "Validating arguments against arg spec" in output
    assert "Find package.json" not in output
