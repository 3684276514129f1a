"""Command line: serve | fleet [start|stop] | token."""

import argparse
import logging
import signal
import sys
import threading

from mimoe_sim import fleet, jwt
from mimoe_sim.node import DEFAULT_ACCOUNT_ID, LEGACY_IMAGE_ID_STYLES, Node
from mimoe_sim.util import ensure_jwt_secret, ensure_node_id

ARCHES = ("amd64", "arm64", "arm")
LEGACY_IMAGE_ID_HELP = ("how the legacy API shows image ids: archive (sha256 of the archive file), config (the Docker "
                        "image id, sha256 of the config JSON), short (its 12-hex short form), opaque (<clientId>-<name>, "
                        "no digest)")


def _arch_cycle(text):
    arches = tuple(a.strip() for a in text.split(",") if a.strip())
    bad = [a for a in arches if a not in ARCHES]
    if not arches or bad:
        raise argparse.ArgumentTypeError("architectures must be among %s" % ",".join(ARCHES))
    return arches


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m mimoe_sim", description="mimik mimOE edge node simulator")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run one node in the foreground")
    serve.add_argument("--port", type=int, default=8083)
    serve.add_argument("--data-dir", required=True)
    serve.add_argument("--api-key", help="set the MCM API key (kept in <data-dir>/mimoe-api-key.env)")
    serve.add_argument("--arch", choices=ARCHES, default="amd64")
    serve.add_argument("--api", choices=("current", "legacy"), default="current")
    serve.add_argument("--legacy-image-id", choices=LEGACY_IMAGE_ID_STYLES, default="archive", help=LEGACY_IMAGE_ID_HELP)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--datastore-delay", type=float, default=0.05,
                       help="seconds per dataStore progress step (10 steps per backup/restore)")
    serve.add_argument("--access-log", action="store_true", help="log method and path of every request")
    serve.add_argument("--tls-cert", help="serve HTTPS with this PEM certificate (chain); needs --tls-key")
    serve.add_argument("--tls-key", help="PEM private key of --tls-cert")
    serve.add_argument("--tls-client-ca", help="require a client certificate signed by this PEM CA bundle (mutual "
                                               "TLS); needs --tls-cert")
    serve.add_argument("--name", default="mimoe-sim", help="node name shown by discovery and jsonrpc getMe")
    serve.add_argument("--account-id", help="account of the node (discovery, edge HMAC codes); default %s" %
                       DEFAULT_ACCOUNT_ID)
    serve.add_argument("--legacy-unprefixed", action="store_true",
                       help="legacy API only: also serve each mim at its requested base path without the client "
                            "prefix, as edgeSDK 1.x did (/beam/v1/... besides /api/beam/v1/...)")

    fl = sub.add_parser("fleet", help="start N nodes in one background daemon and write an inventory; "
                                      "`fleet stop --data-dir D` ends them")
    fl.add_argument("action", nargs="?", choices=("start", "stop"), default="start")
    fl.add_argument("--data-dir", required=True)
    fl.add_argument("--nodes", type=int)
    fl.add_argument("--base-port", type=int, default=18083)
    fl.add_argument("--inventory")
    fl.add_argument("--api-key", help="one MCM API key for every node (default: a random key per node)")
    fl.add_argument("--arch-cycle", type=_arch_cycle, default=ARCHES)
    fl.add_argument("--legacy-every", type=int, default=0, help="every K-th node speaks the legacy API (0: none)")
    fl.add_argument("--legacy-image-id", choices=LEGACY_IMAGE_ID_STYLES, default="archive", help=LEGACY_IMAGE_ID_HELP)
    fl.add_argument("--datastore-delay", type=float, default=0.05)
    fl.add_argument("--timeout", type=float, default=120)
    fl.add_argument("--tls-cert", help="every node serves HTTPS with this PEM certificate; needs --tls-key")
    fl.add_argument("--tls-key", help="PEM private key of --tls-cert")
    fl.add_argument("--account-id", help="account of every node (default %s)" % DEFAULT_ACCOUNT_ID)
    fl.add_argument("--legacy-unprefixed", action="store_true",
                    help="legacy nodes also serve mims at their base path without the client prefix (edgeSDK 1.x)")

    daemon = sub.add_parser("_fleet-daemon", help=argparse.SUPPRESS)
    daemon.add_argument("--data-dir", required=True)

    token = sub.add_parser("token", help="print an edge access token (HS256 JWT) the node of --data-dir accepts")
    token.add_argument("--data-dir", required=True)
    token.add_argument("--scope", default=jwt.REQUIRED_SCOPE)
    token.add_argument("--expired", action="store_true")
    token.add_argument("--ttl", type=int, default=3600, help="lifetime in seconds")
    token.add_argument("--client-id", help="clientId claim (MCM operations are scoped to it)")
    return parser


def cmd_serve(args):
    if bool(args.tls_cert) != bool(args.tls_key):
        print("mimoe_sim: --tls-cert and --tls-key go together", file=sys.stderr)
        return 2
    if args.legacy_unprefixed and args.api != "legacy":
        print("mimoe_sim: --legacy-unprefixed needs --api legacy", file=sys.stderr)
        return 2
    try:
        node = Node(args.data_dir, args.port, host=args.host, api_key=args.api_key, arch=args.arch, api=args.api,
                    datastore_step_delay=args.datastore_delay, access_log=args.access_log,
                    tls_cert=args.tls_cert, tls_key=args.tls_key, name=args.name, account_id=args.account_id,
                    legacy_unprefixed=args.legacy_unprefixed, legacy_image_id=args.legacy_image_id,
                    tls_client_ca=args.tls_client_ca)
    except (OSError, ValueError) as exc:  # unreadable or mismatched certificate/key
        print("mimoe_sim: cannot set up TLS: %s" % exc, file=sys.stderr)
        return 2
    try:
        node.bind()
    except OSError as exc:
        print("mimoe_sim: cannot listen on %s:%d: %s" % (args.host, args.port, exc.strerror or exc), file=sys.stderr)
        return 2
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    node.start()
    print("mimoe_sim: node %s listening on %s://%s:%d (api %s, arch %s, data %s)" % (
        node.node_id, node.scheme, args.host, node.port, node.api, node.arch, node.data_dir), flush=True)
    while not stop.wait(0.1):
        pass
    node.shutdown()
    return 0


def cmd_fleet(args):
    if args.action == "stop":
        print(fleet.stop_fleet(args.data_dir))
        return 0
    if not args.nodes or args.nodes < 1 or not args.inventory:
        print("mimoe_sim fleet: --nodes N (>= 1) and --inventory FILE are required", file=sys.stderr)
        return 2
    if bool(args.tls_cert) != bool(args.tls_key):
        print("mimoe_sim fleet: --tls-cert and --tls-key go together", file=sys.stderr)
        return 2
    try:
        ready = fleet.start_fleet(args.data_dir, args.nodes, args.base_port, args.inventory, args.api_key,
                                  args.arch_cycle, args.legacy_every, args.timeout, args.datastore_delay,
                                  tls_cert=args.tls_cert, tls_key=args.tls_key, account_id=args.account_id,
                                  legacy_unprefixed=args.legacy_unprefixed,
                                  legacy_image_id=args.legacy_image_id)
    except fleet.FleetError as exc:
        print("mimoe_sim fleet: %s" % exc, file=sys.stderr)
        return 1
    ports = [n["port"] for n in ready["nodes"]]
    print("mimoe_sim: %d node(s) listening on 127.0.0.1:%d-%d in %.2fs (daemon pid %d); inventory %s" % (
        len(ports), ports[0], ports[-1], ready["seconds"], ready["pid"], args.inventory), flush=True)
    return 0


def cmd_token(args):
    secret = ensure_jwt_secret(args.data_dir)
    node_id = ensure_node_id(args.data_dir)
    print(jwt.make_token(secret, node_id, scope=args.scope, expired=args.expired, ttl=args.ttl,
                         client_id=args.client_id))
    return 0


def main(argv=None):
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.command == "serve":
        return cmd_serve(args)
    if args.command == "fleet":
        return cmd_fleet(args)
    if args.command == "_fleet-daemon":
        return fleet.run_daemon(args.data_dir)
    return cmd_token(args)
