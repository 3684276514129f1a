"""Shared helpers of the simulator suite (a uniquely named module: several test trees have a conftest.py)."""

import os
import sys

import requests

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOLS = os.path.join(ROOT, "tools")
if TOOLS not in sys.path:
    sys.path.insert(0, TOOLS)

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
COUNTER_JS = os.path.join(FIXTURES, "counter-mim", "index.js")


class Mcm:
    """requests against one node's /mcm/v1 with its API key (token/headers overridable per call)."""

    def __init__(self, node):
        self.node = node
        self.session = requests.Session()

    def call(self, method, path, token=None, headers=None, **kw):
        all_headers = {"Authorization": "Bearer %s" % (token or self.node.api_key)}
        all_headers.update(headers or {})
        kw.setdefault("timeout", 30)
        return self.session.request(method, self.node.mcm_url + path, headers=all_headers, **kw)

    def get(self, path, **kw):
        return self.call("GET", path, **kw)

    def post(self, path, **kw):
        return self.call("POST", path, **kw)

    def put(self, path, **kw):
        return self.call("PUT", path, **kw)

    def delete(self, path, **kw):
        return self.call("DELETE", path, **kw)

    def upload(self, tar_bytes, filename="image.tar", **kw):
        return self.post("/images", files={"image": (filename, tar_bytes, "application/x-tar")}, **kw)

    def deploy(self, name="counter-v1", image="counter-v1", env=None, **kw):
        spec = {"name": name, "image": image,
                "env": env if env is not None else {"MCM.BASE_API_PATH": "/counter/v1", "API_KEY": "secret"}}
        return self.post("/mims", json=spec, **kw)

    def mim(self, path, method="GET", **kw):
        """Call a mim through the node (no MCM auth)."""
        kw.setdefault("timeout", 30)
        return self.session.request(method, self.node.url + path, **kw)


RUNTIME_MIMS = os.path.join(FIXTURES, "runtime-mims")


def runtime_js(name):
    """Source of one of the runtime test mims (tests/sim/fixtures/runtime-mims/<name>/index.js)."""
    with open(os.path.join(RUNTIME_MIMS, name, "index.js"), encoding="utf-8") as fh:
        return fh.read()


def deploy_js(mcm, name, js, env=None, mim_name=None):
    """Upload ``js`` as image ``name`` (if not there yet) and start a mim of it (current: /mims, legacy:
    /containers). Returns the mim's URL prefix on the node (``/api<base path>``)."""
    from mimoe_sim.imagetar import build_image_tar  # noqa: PLC0415 - sys.path is set up above

    if not any(image["name"] == name for image in mcm.get("/images").json()["data"]):
        answer = mcm.upload(build_image_tar(name, "1.0.0", js))
        assert answer.status_code == 201, answer.text
    mim_name = mim_name or name
    base = "/" + mim_name.replace("-", "/")
    spec = {"name": mim_name, "image": name, "env": dict({"MCM.BASE_API_PATH": base}, **(env or {}))}
    legacy = mcm.node.api == "legacy"
    answer = mcm.post("/containers" if legacy else "/mims", json=spec)
    assert answer.status_code == 201, answer.text
    return "/api" + base
