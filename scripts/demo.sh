#!/usr/bin/env bash
# The main job: start local mimOE simulator nodes (mixed architectures, both API generations), build the
# example mim with the mimoe.edge.mim_build role, roll it out with the mimoe.edge.mim_rollout role (canary
# first), call it on every node, then roll out again to show that nothing changes and nothing is uploaded.
# KEEP_NODES=1 leaves the nodes running afterwards (stop them with the command printed at the end).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH" PYTHONPATH="$PWD/tools" ANSIBLE_COLLECTIONS_PATH="$PWD/build"
export ANSIBLE_NOCOLOR=1
nodes=${DEMO_NODES:-4}
base_port=${DEMO_BASE_PORT:-18083}
work=$PWD/build/demo
started=$SECONDS

stop_nodes() { python -m mimoe_sim fleet stop --data-dir "$work/fleet" >/dev/null 2>&1 || true; }
stop_nodes
rm -rf "$work" && mkdir -p "$work"
if [ "${KEEP_NODES:-0}" != 1 ]; then trap stop_nodes EXIT; fi

echo "== starting $nodes simulator nodes on 127.0.0.1:$base_port.. (amd64, arm64, arm; every 4th on the legacy API)"
python -m mimoe_sim fleet --nodes "$nodes" --base-port "$base_port" --data-dir "$work/fleet" \
  --inventory "$work/inventory.yml" --arch-cycle amd64,arm64,arm --legacy-every 4

echo "== building examples/hello-mim (mimoe.edge.mim_build) and rolling it out (mimoe.edge.mim_rollout), canary first"
ansible-playbook -i "$work/inventory.yml" examples/demo/rollout-hello.yml -e "demo_work=$work"

echo "== rolling out again: nothing may change, nothing may be uploaded"
sim_stats() {  # reset | uploaded: the fleet's /_sim/stats counters, summed over nodes
  python - "$work/inventory.yml" "$1" <<'PY'
import json, sys, urllib.request, yaml
hosts = yaml.safe_load(open(sys.argv[1]))["all"]["children"]["mimoe_nodes"]["hosts"]
total = 0
for host in hosts.values():
    if sys.argv[2] == "reset":
        urllib.request.urlopen(urllib.request.Request(host["mcm_url"] + "/_sim/stats/reset", method="POST")).close()
    else:
        with urllib.request.urlopen(host["mcm_url"] + "/_sim/stats") as answer:
            total += json.load(answer)["bytes_uploaded"]
print(total)
PY
}
sim_stats reset >/dev/null
ansible-playbook -i "$work/inventory.yml" examples/demo/rollout-hello.yml -e "demo_work=$work" \
  | tee "$work/second-run.log" | grep -E '^(PLAY RECAP|[a-z0-9]+ +:)'
if grep -Eq 'changed=[1-9]' "$work/second-run.log"; then
  echo "demo: the second run changed something" >&2; exit 1
fi
uploaded=$(sim_stats uploaded)
if [ "$uploaded" != 0 ]; then
  echo "demo: the second run uploaded $uploaded bytes" >&2; exit 1
fi
echo "   second run: changed=0 on every node, 0 bytes uploaded"

echo "== done in $((SECONDS - started))s; report: $work/rollout-report.json"
if [ "${KEEP_NODES:-0}" = 1 ]; then
  echo "   nodes keep running; inventory: $work/inventory.yml"
  echo "   stop them with: PYTHONPATH=tools .venv/bin/python -m mimoe_sim fleet stop --data-dir $work/fleet"
fi
