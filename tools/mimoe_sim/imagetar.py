"""mim image archives: parse the docker-save layout that mimik's packager (@mimik/edge-ms-packager) produces,
and build the same layout (used by tests and by anyone who needs an image without npm).

Layout (what @mimik/edge-ms-packager 1.1.5 writes, checked against the real package):
    ./                      directory entry
    <layerId>/              directory entry (layerId = 64 hex chars)
    <sha256>.json           image config (newer packagers put mimik.* labels in config.Labels)
    manifest.json           [{"Config": "<sha256>.json", "RepoTags": ["<name>:<version>"],
                              "Layers": ["<layerId>/layer.tar"]}]
    repositories            {"<name>": {"latest": "<layerId>"}}  (some versions add "<version>": "<layerId>")
    <layerId>/VERSION       "1.0"
    <layerId>/json          layer metadata
    <layerId>/layer.tar     a tar holding exactly index.js
"""

import hashlib
import io
import json
import os
import posixpath
import tarfile
import time


class ImageError(ValueError):
    """The upload is not a usable mim image; the message says why (answered as 400)."""


def _norm(name):
    name = posixpath.normpath(name.lstrip("/"))
    return "" if name == "." else name


def split_repo_tag(tag):
    """'hello-v1:1.0.0' -> ('hello-v1', '1.0.0'); 'registry:5000/x' -> ('registry:5000/x', 'latest')."""
    slash = tag.rfind("/")
    colon = tag.rfind(":")
    if colon > slash:
        return tag[:colon], tag[colon + 1:]
    return tag, "latest"


def parse_image_tar(data):
    """Validate an uploaded image archive. Returns a dict with name, version, repoTags, digest (of the archive),
    config_digest (of the config JSON, the Docker image id; None without one), size, entry, index_js (bytes) and
    labels. Raises ImageError with a clear message."""
    if not data:
        raise ImageError("no image received")
    try:
        outer = tarfile.open(fileobj=io.BytesIO(data), mode="r:*")
        members = {}
        for member in outer.getmembers():
            if member.isfile():
                members[_norm(member.name)] = member
    except (tarfile.TarError, EOFError, OSError, ValueError) as exc:
        raise ImageError("invalid image: not a readable tar archive (%s)" % exc) from None

    def read(name):
        member = members.get(_norm(name))
        if member is None:
            return None
        try:
            return outer.extractfile(member).read()
        except (tarfile.TarError, EOFError, OSError) as exc:
            raise ImageError("invalid image: cannot read %s (%s)" % (name, exc)) from None

    raw_manifest = read("manifest.json")
    if raw_manifest is None:
        if "index.js" in members:
            raise ImageError(
                "invalid image: manifest.json missing; a plain tar holding only index.js is not accepted, "
                "package the mim with @mimik/edge-ms-packager (docker-save layout)"
            )
        raise ImageError("invalid image: manifest.json missing (a docker-save archive is required)")
    try:
        manifest = json.loads(raw_manifest.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        raise ImageError("invalid image: manifest.json is not valid JSON") from None
    if not isinstance(manifest, list) or not manifest or not isinstance(manifest[0], dict):
        raise ImageError("invalid image: manifest.json must be a non-empty list")
    entry = manifest[0]
    tags = entry.get("RepoTags")
    if not isinstance(tags, list) or not tags or not all(isinstance(t, str) and t for t in tags):
        raise ImageError("invalid image: manifest.json has no RepoTags")
    layers = entry.get("Layers")
    if not isinstance(layers, list) or not layers or not all(isinstance(layer, str) for layer in layers):
        raise ImageError("invalid image: manifest.json has no Layers")

    labels = {}
    config_digest = None
    config_name = entry.get("Config")
    if isinstance(config_name, str):
        raw_config = read(config_name)
        if raw_config is not None:
            config_digest = "sha256:" + hashlib.sha256(raw_config).hexdigest()  # the Docker image id
            try:
                config = json.loads(raw_config.decode("utf-8"))
                labels = ((config.get("config") or {}).get("Labels")) or {}
            except (ValueError, UnicodeDecodeError, AttributeError):
                raise ImageError("invalid image: %s is not valid JSON" % config_name) from None
    if not isinstance(labels, dict):
        labels = {}

    repo_tags = [t for t in tags if t != "runtime:wasm"]
    if not repo_tags:
        raise ImageError("invalid image: manifest.json has no RepoTags")
    if "runtime:wasm" in tags or labels.get("mimik.runtime") == "wasm":
        raise ImageError("unsupported image: the simulator runs javascript mims only (this is a wasm image)")
    name, version = split_repo_tag(repo_tags[0])
    entry_file = labels.get("mimik.entry") or "index.js"

    index_js = None
    for layer_name in reversed(layers):
        layer_bytes = read(layer_name)
        if layer_bytes is None:
            raise ImageError("invalid image: layer %s listed in manifest.json is missing" % layer_name)
        try:
            layer = tarfile.open(fileobj=io.BytesIO(layer_bytes), mode="r:*")
            for member in layer.getmembers():
                if member.isfile() and _norm(member.name) == entry_file:
                    index_js = layer.extractfile(member).read()
                    break
        except (tarfile.TarError, EOFError, OSError, ValueError) as exc:
            raise ImageError("invalid image: layer %s is not a readable tar (%s)" % (layer_name, exc)) from None
        if index_js is not None:
            break
    if index_js is None:
        raise ImageError("invalid image: no layer holds %s" % entry_file)

    return {
        "name": name,
        "version": version,
        "repoTags": repo_tags,
        "digest": "sha256:" + hashlib.sha256(data).hexdigest(),
        "config_digest": config_digest,
        "size": len(data),
        "entry": entry_file,
        "index_js": index_js,
        "labels": labels,
    }


def _add(tar, name, data, mtime, is_dir=False):
    info = tarfile.TarInfo(name)
    info.mtime = mtime
    if is_dir:
        info.type = tarfile.DIRTYPE
        info.mode = 0o755
        tar.addfile(info)
    else:
        info.size = len(data)
        info.mode = 0o644
        tar.addfile(info, io.BytesIO(data))


def build_image_tar(image_name, version, index_js, labels=None, layer_id=None, mtime=None):
    """Build a docker-save archive exactly laid out like @mimik/edge-ms-packager's output.

    image_name is the final name (the packager appends -v1 to its configured imageName, so pass e.g. 'hello-v1').
    Returns the tar bytes.
    """
    if isinstance(index_js, str):
        index_js = index_js.encode("utf-8")
    mtime = int(time.time() if mtime is None else mtime)
    layer_id = layer_id or hashlib.sha256(os.urandom(32)).hexdigest()

    layer_buf = io.BytesIO()
    with tarfile.open(fileobj=layer_buf, mode="w", format=tarfile.USTAR_FORMAT) as layer:
        _add(layer, "index.js", index_js, mtime)
    layer_tar = layer_buf.getvalue()

    config = {
        "architecture": "amd64",
        "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], "Cmd": [""],
                   "WorkingDir": "", "Labels": labels},
        "created": "2019-07-25T18:12:12.744862287Z",
        "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(layer_tar).hexdigest()]},
    }
    config_bytes = json.dumps(config, separators=(",", ":")).encode()
    config_name = hashlib.sha256(config_bytes).hexdigest() + ".json"
    repo_tag = "%s:%s" % (image_name, version)
    manifest = json.dumps([{"Config": config_name, "RepoTags": [repo_tag], "Layers": [layer_id + "/layer.tar"]}],
                          separators=(",", ":")) + "\n"
    repositories = json.dumps({image_name: {"latest": layer_id}}, separators=(",", ":")) + "\n"
    layer_json = json.dumps({"id": layer_id, "created": "2019-07-25T18:12:12.744862287Z", "config": config["config"],
                             "architecture": "amd64", "os": "linux"}, separators=(",", ":")).encode()

    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        _add(tar, ".", b"", mtime, is_dir=True)
        _add(tar, layer_id, b"", mtime, is_dir=True)
        _add(tar, config_name, config_bytes, mtime)
        _add(tar, "manifest.json", manifest.encode(), mtime)
        _add(tar, "repositories", repositories.encode(), mtime)
        _add(tar, layer_id + "/VERSION", b"1.0", mtime)
        _add(tar, layer_id + "/json", layer_json, mtime)
        _add(tar, layer_id + "/layer.tar", layer_tar, mtime)
    return out.getvalue()
