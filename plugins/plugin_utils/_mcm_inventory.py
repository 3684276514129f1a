# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What the ``mimoe.edge.mcm_nodes`` inventory plugin reads from each node, in parallel.

Private to the collection; the interface can change without notice.

:func:`query_nodes` asks every node for its mims and images with one :class:`MCMClient` per node in a bounded
thread pool. It never raises for a node: a node that cannot be read gets ``reachable: false`` and a ``reason``
(in which the token is masked). The results hold no token and no mim env (env may hold secrets), only the mims'
labels and composition decoded from their markers, so they can go to an inventory cache as they are.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import time
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.mimoe.edge.plugins.module_utils._errors import InputError
from ansible_collections.mimoe.edge.plugins.module_utils._image_identity import (  # noqa: F401 pylint: disable=unused-import
    image_version, normalized_image,  # image_version: re-exported for the plugin's callers
)
from ansible_collections.mimoe.edge.plugins.module_utils._http import mask_secret
from ansible_collections.mimoe.edge.plugins.module_utils._markers import decode_labels
from ansible_collections.mimoe.edge.plugins.module_utils._mcm_info import label_terms, mim_composition
from ansible_collections.mimoe.edge.plugins.module_utils._mcm_mim import env_as_dict
from ansible_collections.mimoe.edge.plugins.module_utils._mcm_client import (
    API_CURRENT, API_LEGACY, MCMClient, MCMError,
)
from ansible_collections.mimoe.edge.plugins.module_utils._transport import escape_control

from urllib.parse import urlsplit

DEFAULT_API_PORT = 8083
_HOST_CHARS = re.compile(r'[^A-Za-z0-9._-]')


class NodeSpecError(InputError):
    """A node entry of the configuration is unusable (the message names the entry and the fix)."""


def host_name_for_url(url):
    """Inventory host name for a node URL: its host, with ``_<port>`` when the port is not the default 8083.

    ``http://edge-1.example.com:8083`` -> ``edge-1.example.com``; ``http://127.0.0.1:18083`` -> ``127.0.0.1_18083``.
    """
    parts = urlsplit(url)
    host = parts.hostname or ''
    try:
        port = parts.port
    except ValueError:
        port = None
    name = host if port in (None, DEFAULT_API_PORT) else '%s_%s' % (host, port)
    return _HOST_CHARS.sub('_', name)


def normalize_node(entry, index, default_token=None):
    """One entry of the ``nodes`` option -> ``{name, url, token, vars}``.

    :raises NodeSpecError: for a malformed entry.
    """
    where = 'nodes[%d]' % index
    if isinstance(entry, str):
        entry = {'url': entry}
    if not isinstance(entry, dict):
        raise NodeSpecError('%s must be a URL string or a dictionary with url (and optionally name, token, vars), '
                            'got %s' % (where, type(entry).__name__))
    unknown = sorted(set(entry) - set(['url', 'name', 'token', 'vars']))
    if unknown:
        raise NodeSpecError('%s has unknown keys %s; allowed: url, name, token, vars' % (where, ', '.join(unknown)))
    url = entry.get('url')
    if not isinstance(url, str) or not re.match(r'^https?://[^/]', url.strip()):
        raise NodeSpecError('%s.url must be an http:// or https:// URL of the node API, for example '
                            'http://192.0.2.10:8083' % where)
    url = url.strip().rstrip('/')
    name = entry.get('name') or host_name_for_url(url)
    if not isinstance(name, str) or not name.strip():
        raise NodeSpecError('%s.name must be a non-empty string' % where)
    extra = entry.get('vars') or {}
    if not isinstance(extra, dict):
        raise NodeSpecError('%s.vars must be a dictionary of host variables' % where)
    token = entry.get('token')
    return {'name': name.strip(), 'url': url, 'token': token if token else default_token, 'vars': extra}


def summarize_images(images, mims=None):
    """Images with the normalisation of ``mcm_info`` (``_image_identity.normalized_image``): a digest is
    ``sha256:`` + 64 hex or None, so that nothing a node sends can become a controller path."""
    result = []
    for image in images:
        if not isinstance(image, dict):
            continue
        normal = normalized_image(image, mims)
        result.append({
            'name': image.get('name'),
            'id': image.get('id'),
            'version': normal['version'],
            'version_source': normal['version_source'],
            'digest': normal['digest'],
            'repo_tag': normal['repo_tag'],
            'repo_tags': [t for t in (image.get('repoTags') or []) if isinstance(t, str)],
            'size': image.get('size'),
        })
    return result


def _image_of(mim, images):
    for image in images:
        if image.get('name') is not None and image.get('name') == mim.get('image'):
            return image
    for image in images:
        if image.get('id') is not None and image.get('id') == mim.get('imageId'):
            return image
    return {}


def summarize_mims(mims, images):
    """Mims with the version and digest of their image (its RepoTag, or the release marker kept in the env of the
    mims using it when nothing the node reports contradicts it), its ``labels`` and ``composition``; no env (it
    may hold secrets)."""
    result = []
    for mim in mims:
        if not isinstance(mim, dict):
            continue
        image = _image_of(mim, images)
        normal = normalized_image(image, mims) if image else {}
        env = env_as_dict(mim.get('env'))
        result.append({
            'name': mim.get('name'),
            'id': mim.get('id'),
            'image': mim.get('image'),
            'version': normal.get('version'),
            'version_source': normal.get('version_source'),
            'digest': normal.get('digest'),
            'state': mim.get('state'),
            'status': mim.get('status'),
            'labels': decode_labels(env),
            'composition': mim_composition(env),
        })
    return result


def node_labels(mims):
    """The labels of a node: the sorted ``key=value`` union of its mims' labels (a host variable that
    ``keyed_groups`` turns into one group per label)."""
    return sorted(set(term for mim in mims or [] if isinstance(mim, dict) for term in label_terms(mim.get('labels'))))


def short_reason(exc, url=None):
    """One line on why a node could not be read, for a report cell and a warning (the full text is long)."""
    text = str(exc)
    if exc.status is not None:
        reason = 'HTTP %s: %s' % (exc.status, exc.server_message or exc.message)
        if exc.status in (401, 403):
            reason += ' (check the token)'
        return reason
    lowered = text.lower()
    if 'within the timeout' in lowered:
        return 'no answer within the timeout (%s)' % (url or exc.url or 'node')
    for marker, reason in (('connection refused', 'connection refused'),
                           ('name or service not known', 'unknown host name'),
                           ('temporary failure in name resolution', 'host name lookup failed'),
                           ('no route to host', 'no route to host'),
                           ('network is unreachable', 'network is unreachable'),
                           ('remotedisconnected', 'connection closed without an answer'),
                           ('connection aborted', 'connection closed without an answer'),
                           ('connection reset', 'connection reset')):
        if marker in lowered:
            return '%s (%s)' % (reason, url or exc.url or 'node')
    if text.startswith('TLS error'):
        return 'TLS error: %s' % text.split(': ', 1)[-1][:300]
    return text[:500]


def read_node(client):
    """``{api, mims, images}`` of one node: 2 GET requests (``/mims`` answers 404 on the legacy generation)."""
    body = client.request('GET', '/mims', ok_missing=True)
    if body is not None:
        api = API_CURRENT
    else:
        body = client.request('GET', '/containers', ok_missing=True)
        if body is None:
            raise MCMError('%s answers neither /mcm/v1/mims nor /mcm/v1/containers' % client.base_url, status=404,
                           hint='check the URL: it must be the node API (port 8083 by default)')
        api = API_LEGACY
    mims = client.unwrap(body)
    if not isinstance(mims, list):
        raise MCMError('%s answered a %s for its mims, expected a list' % (client.base_url, type(mims).__name__))
    images = client.list_images()
    return {'api': api, 'mims': summarize_mims(mims, images), 'images': summarize_images(images, mims)}


def mask_deep(value, secrets):
    """``value`` with every string (keys too) that holds one of ``secrets`` masked: a node may echo a token back,
    for example as a mim status, and what it says becomes host variables, warnings and the inventory cache."""
    secrets = [s for s in secrets if s]
    if not secrets:
        return value
    if isinstance(value, dict):
        return dict((mask_deep(k, secrets), mask_deep(v, secrets)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return [mask_deep(item, secrets) for item in value]
    if isinstance(value, str) and any(s in value for s in secrets):
        return mask_secret(value, secrets)
    return value


def query_node(node, options, client_factory=MCMClient):
    """Read one node; never raises. ``node`` is a normalized entry (with its token)."""
    token = node.get('token')
    started = time.time()
    result = {'url': node['url'], 'reachable': False, 'reason': None, 'api': None, 'mims': [], 'images': []}
    if not token:
        result['reason'] = ('no token for this node: set token (or the environment variable MCM_TOKEN) in the '
                            'inventory configuration, or the token of the node entry')
        return result
    try:
        client = client_factory(node['url'], token, client_id=options.get('client_id'),
                                validate_certs=options.get('validate_certs', True), ca_path=options.get('ca_path'),
                                timeout=options.get('timeout', 5), retries=options.get('retries', 0))
        result.update(read_node(client))
        result['reachable'] = True
    except MCMError as exc:
        result['reason'] = mask_secret(short_reason(exc, node['url']), [token])
    except Exception as exc:  # pylint: disable=broad-except
        # A node must never fail the whole inventory, whatever it answers.
        result['reason'] = escape_control(mask_secret(
            'unexpected error reading %s: %s: %s' % (node['url'], type(exc).__name__, exc), [token]))
    result['seconds'] = round(time.time() - started, 3)
    return mask_deep(result, [token])


def query_nodes(nodes, options, client_factory=MCMClient):
    """Read every node (``max_workers`` at a time). Returns ``{url: result}``."""
    if not nodes:
        return {}
    workers = max(1, min(int(options.get('max_workers') or 1), len(nodes)))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(lambda node: query_node(node, options, client_factory), nodes))
    # Any node may echo any of the tokens (a shared default token, another node's): mask them all.
    tokens = sorted(set(node.get('token') for node in nodes if node.get('token')), key=len, reverse=True)
    return dict((result['url'], mask_deep(result, tokens)) for result in results)
