"""Small helpers shared by the simulator: atomic file writes, key files, logging."""

import json
import logging
import os
import secrets
import tempfile

log = logging.getLogger("mimoe_sim")

API_KEY_FILE = "mimoe-api-key.env"
JWT_SECRET_FILE = "jwt-secret"
NODE_FILE = "node.json"


def atomic_write_bytes(path, data, mode=0o644):
    """Write data to path atomically: temp file in the same directory, fsync, rename, fsync the directory."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=directory)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    fsync_dir(directory)


def fsync_dir(directory):
    try:
        dfd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)


def atomic_write_json(path, obj, mode=0o644):
    atomic_write_bytes(path, (json.dumps(obj, indent=1, sort_keys=True) + "\n").encode(), mode)


def read_json(path, default=None):
    try:
        with open(path, "rb") as fh:
            return json.loads(fh.read().decode())
    except FileNotFoundError:
        return default


def read_env_file(path):
    values = {}
    try:
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                line = line.strip()
                if line and not line.startswith("#") and "=" in line:
                    key, value = line.split("=", 1)
                    values[key.strip()] = value.strip()
    except FileNotFoundError:
        pass
    return values


def ensure_api_keys(data_dir, api_key=None):
    """Create <data_dir>/mimoe-api-key.env on first start, keep it afterwards; api_key (if given) sets MCM_API_KEY.

    Returns the MCM API key.
    """
    path = os.path.join(data_dir, API_KEY_FILE)
    values = read_env_file(path)
    changed = False
    if not values.get("ACCOUNT_API_KEY"):
        values["ACCOUNT_API_KEY"] = secrets.token_hex(16)
        changed = True
    if api_key is not None and values.get("MCM_API_KEY") != api_key:
        values["MCM_API_KEY"] = api_key
        changed = True
    if not values.get("MCM_API_KEY"):
        values["MCM_API_KEY"] = secrets.token_hex(16)
        changed = True
    if changed:
        text = "ACCOUNT_API_KEY=%s\nMCM_API_KEY=%s\n" % (values["ACCOUNT_API_KEY"], values["MCM_API_KEY"])
        atomic_write_bytes(path, text.encode(), 0o600)
    return values["MCM_API_KEY"]


def ensure_jwt_secret(data_dir):
    """The per-node HS256 secret that signs edge access tokens (created once, kept)."""
    path = os.path.join(data_dir, JWT_SECRET_FILE)
    try:
        with open(path, encoding="ascii") as fh:
            secret = fh.read().strip()
        if secret:
            return secret.encode()
    except FileNotFoundError:
        pass
    secret = secrets.token_hex(32)
    os.makedirs(data_dir, exist_ok=True)
    atomic_write_bytes(path, (secret + "\n").encode(), 0o600)
    return secret.encode()


def ensure_node_id(data_dir):
    path = os.path.join(data_dir, NODE_FILE)
    info = read_json(path, {}) or {}
    if not info.get("nodeId"):
        info["nodeId"] = secrets.token_hex(16)
        atomic_write_json(path, info)
    return info["nodeId"]
