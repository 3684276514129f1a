#!/usr/bin/env bash
# The main job: start local mimOE simulator nodes (mixed architectures, both API generations), build the
# example mim with mimik's packager, deploy it to every node with the collection, and call it on each node.
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

echo "== building examples/hello-mim with npm and @mimik/edge-ms-packager"
(cd examples/hello-mim && npm run --silent build && npm run --silent package) >"$work/build.log" 2>&1 \
  || { tail -n 30 "$work/build.log"; exit 1; }
tar_path=$(ls -1 examples/hello-mim/deploy/hello-v1-*.tar | tail -n 1)
echo "   $tar_path ($(stat -c %s "$tar_path") bytes)"

echo "== starting $nodes simulator nodes on 127.0.0.1:$base_port.."
python -m mimoe_sim fleet --nodes "$nodes" --base-port "$base_port" --data-dir "$work/fleet" \
  --inventory "$work/inventory.yml" --arch-cycle amd64,arm64,arm --legacy-every 4

echo "== deploying with mimoe.edge (first run)"
ansible-playbook -i "$work/inventory.yml" examples/demo/deploy-hello.yml -e "hello_image_tar=$PWD/$tar_path"

echo "== deploying again: nothing may change, nothing may be uploaded"
ansible-playbook -i "$work/inventory.yml" examples/demo/deploy-hello.yml -e "hello_image_tar=$PWD/$tar_path" \
  | tee "$work/second-run.log" | grep -E '^(PLAY RECAP|[a-z0-9]+ +:)'
if grep -Eq 'changed=[1-9]' "$work/second-run.log"; then
  echo "demo: the second run changed something" >&2; exit 1
fi

echo "== done in $((SECONDS - started))s"
if [ "${KEEP_NODES:-0}" = 1 ]; then
  echo "   nodes keep running; inventory: $work/inventory.yml"
  echo "   stop them with: PYTHONPATH=tools .venv/bin/python -m mimoe_sim fleet stop --data-dir $work/fleet"
fi
