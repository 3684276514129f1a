# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark (d), the raw-HTTP floor: the calls of a rollout, made by a plain concurrent Python script.

Per node, with one ``requests`` session: list the images, upload the archive (multipart) when missing, list the
mims, deploy when missing, poll until it runs, one health check. ``--workers`` nodes at a time (threads).

    python tests/benchmarks/raw_floor.py --nodes nodes.json --image hello-v1-1.0.0.tar --workers 25

``nodes.json``: ``[{"name", "url", "token"}, ...]``. Prints a JSON summary; exits 1 if a node failed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import requests


def rollout_node(node, image_path, image_name, env, poll=0.1, timeout=60):
    session = requests.Session()
    session.headers['Authorization'] = 'Bearer %s' % node['token']
    api = node['url'] + '/mcm/v1'
    images = session.get(api + '/images', timeout=30)
    images.raise_for_status()
    if not any(i.get('name') == image_name for i in images.json()['data']):
        with open(image_path, 'rb') as handle:
            files = {'image': (os.path.basename(image_path), handle, 'application/x-tar')}
            session.post(api + '/images', files=files, timeout=30).raise_for_status()
    mims = session.get(api + '/mims', timeout=30)
    mims.raise_for_status()
    if not any(m.get('name') == image_name for m in mims.json()['data']):
        body = {'name': image_name, 'image': image_name, 'env': env}
        session.post(api + '/mims', json=body, timeout=30).raise_for_status()
    deadline = time.monotonic() + timeout
    while True:
        mims = session.get(api + '/mims', timeout=30)
        mims.raise_for_status()
        if any(m.get('name') == image_name and m.get('state') == 'started' for m in mims.json()['data']):
            break
        if time.monotonic() > deadline:
            raise RuntimeError('%s: the mim did not start' % node['name'])
        time.sleep(poll)
    health = session.get(node['url'] + '/api/hello/v1/healthcheck', timeout=30)
    health.raise_for_status()
    session.close()
    return node['name']


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--nodes', required=True, help='JSON file: [{"name", "url", "token"}, ...]')
    parser.add_argument('--image', required=True)
    parser.add_argument('--image-name', default='hello-v1')
    parser.add_argument('--env', default='{"MCM.BASE_API_PATH": "/hello/v1"}')
    parser.add_argument('--workers', type=int, default=25)
    args = parser.parse_args(argv)
    with open(args.nodes, encoding='utf-8') as handle:
        nodes = json.load(handle)
    env = json.loads(args.env)
    failed = []
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=args.workers) as pool:
        futures = {pool.submit(rollout_node, node, args.image, args.image_name, env): node for node in nodes}
        for future, node in futures.items():
            try:
                future.result()
            except Exception as exc:  # pylint: disable=broad-except
                failed.append('%s: %s' % (node['name'], exc))
    print(json.dumps({'nodes': len(nodes), 'failed': failed, 'seconds': round(time.monotonic() - started, 3)}))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
