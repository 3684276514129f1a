#!/usr/bin/env bash
# A fleet report of simulated nodes, for a look or a screenshot: 12 simulator nodes (2 on the legacy API) running
# hello-v1 1.3.0 or 1.2.0 and counter-v1 (one crashed), one node missing hello-v1, one unreachable URL; the
# mimoe.edge.mcm_nodes inventory plugin reads them and playbooks/report.yml writes build/fleet-report/.
#
#   scripts/report-demo.sh [OUTPUT_DIR]     then: scripts/report-screenshot.sh OUTPUT_DIR/report.html
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
export PATH="$root/.venv/bin:$PATH" PYTHONPATH="$root/tools" ANSIBLE_COLLECTIONS_PATH="$root/build"
export ANSIBLE_NOCOLOR=1 ANSIBLE_LOCALHOST_WARNING=False ANSIBLE_INVENTORY_UNPARSED_WARNING=False
out=$(realpath -m "${1:-build/fleet-report}")
work=$(mktemp -d)
token="demo-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
cleanup() { python -m mimoe_sim fleet stop --data-dir "$work/fleet" >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT
scripts/collection-tree.sh >/dev/null
python -m mimoe_sim fleet --nodes 12 --base-port "$(python -c 'from mimoe_sim.testing import free_port_range; print(free_port_range(12))')" \
  --data-dir "$work/fleet" --inventory "$work/fleet/inventory.yml" --api-key "$token" --legacy-every 6 >/dev/null
MCM_TOKEN=$token python - "$work" <<'PY'
import json, os, sys
from mimoe_sim.imagetar import build_image_tar
from mimoe_sim.testing import free_port, http_json
import urllib.request, uuid

work, token = sys.argv[1], os.environ["MCM_TOKEN"]
ready = json.load(open(os.path.join(work, "fleet", "fleet-ready.json")))
js = b'mimikModule.exports = function (c, req, res) { res.end("{}"); };\n'

def upload(url, name, version):
    data = build_image_tar(name, version, js)
    boundary = uuid.uuid4().hex
    body = (b"--%s\r\nContent-Disposition: form-data; name=\"image\"; filename=\"i.tar\"\r\n"
            b"Content-Type: application/x-tar\r\n\r\n" % boundary.encode()) + data + b"\r\n--%s--\r\n" % boundary.encode()
    request = urllib.request.Request(url + "/mcm/v1/images", data=body, method="POST", headers={
        "Authorization": "Bearer " + token, "Content-Type": "multipart/form-data; boundary=" + boundary})
    urllib.request.urlopen(request, timeout=30).read()

def deploy(url, api, name):
    path = "/mcm/v1/mims" if api == "current" else "/mcm/v1/containers"
    status, answer = http_json("POST", url + path, {"name": name, "image": name,
                                                    "env": {"MCM.BASE_API_PATH": "/" + name.split("-")[0] + "/v1"}},
                               {"Authorization": "Bearer " + token}, timeout=60)
    assert status in (200, 201), answer

urls = []
for index, node in enumerate(ready["nodes"], start=1):
    url = "http://127.0.0.1:%d" % node["port"]
    urls.append(url)
    if index != 9:
        upload(url, "hello-v1", "1.2.0" if index in (3, 10) else "1.3.0")
        deploy(url, node["api"], "hello-v1")
    if index in (1, 2, 4, 5, 9):
        upload(url, "counter-v1", "2.0.0" if index != 5 else "1.9.1")
        deploy(url, node["api"], "counter-v1")
crash = urls[3]
http_json("PUT", crash + "/_sim/faults", {"crash_mims": ["counter-v1"]})
http_json("GET", crash + "/api/counter/v1/x", timeout=20)
http_json("DELETE", crash + "/_sim/faults")
names = ["edge-%02d" % i for i in range(1, len(urls) + 1)]
nodes = [{"url": u, "name": n, "vars": {"mimoe_arch": a}} for u, n, a in
         zip(urls, names, [x["arch"] for x in ready["nodes"]])]
nodes.append({"url": "http://127.0.0.1:%d" % free_port(), "name": "edge-13"})
with open(os.path.join(work, "demo.mcm_nodes.yml"), "w") as fh:
    json.dump({"plugin": "mimoe.edge.mcm_nodes", "nodes": nodes, "timeout": 3}, fh)
with open(os.path.join(work, "desired.yml"), "w") as fh:
    fh.write("hello-v1: 1.3.0\n")
PY
MCM_TOKEN=$token ansible-playbook -i "$work/demo.mcm_nodes.yml" playbooks/report.yml \
  -e "report_dir=$out" -e "desired_file=$work/desired.yml" -e '{"report_title": "Edge fleet: hello-v1 rollout"}' \
  2>/dev/null | grep -A2 'Where the report is' | tail -n 1
echo "$out/report.html"
