# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: fleet_model
short_description: The fleet report as data, from what the inventory plugin or mcm_info read
version_added: 0.1.0
description:
  - 'Builds the model that the P(mimoe.edge.fleet_report#role) role
    renders as C(report.json) and C(report.html): per node its status (V(ok), V(drift), V(down), V(unknown),
    V(unreachable)) and per mim a cell (version, state, digest, V(ok), V(drift), V(down), V(unknown),
    V(missing)), per mim the versions seen, and the counts. Each cell has the C(labels) of the mim and each node its
    C(labels), the sorted C(key=value) labels of its mims.'
  - A node's data comes from the host variables of the P(mimoe.edge.mcm_nodes#inventory) inventory plugin (C(mcm_mims),
    C(mcm_images), C(mcm_reachable), ...) or from a registered M(mimoe.edge.mcm_info) result in C(fleet_report_info).
  - 'The version of a mim is its image''s RepoTag, else the release marker kept on the node. When a node reports
    neither (legacy API), its image digest proves the version when another node of the report holds the same
    content under a known version (the same digest, or a short C(sha256:) id that is a prefix of it): the cell then
    says C(version_source: digest).'
positional: _input
options:
  _input:
    description: The inventory host names to report on (duplicates are ignored; sorted).
    type: list
    elements: str
    required: true
  hostvars:
    description: The C(hostvars) magic variable.
    type: dict
    required: true
  desired:
    description: Desired state, mim name -> version (strings). Empty means no drift check.
    type: dict
    default: {}
  title:
    description: Title of the report.
    type: str
    default: mimOE fleet report
  generated:
    description: Time stamp of the report; default now, UTC, C(%Y-%m-%dT%H:%M:%SZ).
    type: str
'''

EXAMPLES = r'''
- name: The report model of the mimoe_nodes group
  ansible.builtin.debug:
    msg: "{{ groups['mimoe_nodes'] | mimoe.edge.fleet_model(hostvars, {'hello-v1': '1.3.0'}) }}"
'''

RETURN = r'''
_value:
  description: The report, C(format) 1 (see the fleet_report role README for every field).
  type: dict
  contains:
    format:
      description: Version of this structure.
      type: int
    title:
      description: The title.
      type: str
    generated:
      description: When the report was made.
      type: str
    desired:
      description: The desired state.
      type: dict
    mims:
      description: Every mim name, desired or seen, sorted.
      type: list
      elements: str
    summary:
      description: Counts of nodes per status and per mim the versions seen.
      type: dict
    nodes:
      description: One entry per node with its status, cells and drift.
      type: list
      elements: dict
'''

import datetime

from ansible.errors import AnsibleFilterError
from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.mimoe.edge.plugins.module_utils._digest import normalize_digest
from ansible_collections.mimoe.edge.plugins.module_utils._image_identity import image_identity, normalized_image
from ansible_collections.mimoe.edge.plugins.module_utils._markers import decode_labels
from ansible_collections.mimoe.edge.plugins.module_utils._mcm_info import label_terms

RUNNING_STATES = ('started', 'running')
UP_STATUSES = ('up', 'running', 'started')
STATUS_ORDER = ('unreachable', 'down', 'drift', 'unknown', 'ok')
NO_DATA = 'no MCM data for this host: inventory it with mimoe.edge.mcm_nodes, or run playbooks/report.yml'


def _get(mapping, key, default=None):
    try:
        value = mapping[key]
    except (KeyError, TypeError):
        return default
    return default if value is None else value


def _image_named(images, name):
    for image in images:
        if isinstance(image, dict) and image.get('name') is not None and image.get('name') == name:
            return image
    return {}


def _mim_entry(mim, image):
    """One mim of a node, from a mim and its (normalised) image."""
    return {'name': mim.get('name'), 'image': mim.get('image'), 'version': mim.get('version'),
            'version_source': mim.get('version_source'), 'digest': normalize_digest(mim.get('digest')),
            'image_id': image.get('id') if isinstance(image.get('id'), str) else None,
            'state': mim.get('state'), 'status': mim.get('status'), 'labels': _labels_of(mim)}


def _labels_of(mim):
    """A mim's labels: as mcm_info and the inventory plugin give them, else decoded from an env that has them."""
    labels = mim.get('labels')
    if isinstance(labels, dict):
        return dict((k, v) for k, v in labels.items() if isinstance(k, str) and isinstance(v, str))
    return decode_labels(mim.get('env'))


def node_source(hv):
    """What is known of one host: ``reachable``, ``reason``, ``api`` and its ``mims`` with their image's identity."""
    mcm_mims = _get(hv, 'mcm_mims')
    if mcm_mims is not None:  # the mimoe.edge.mcm_nodes inventory plugin (already normalised)
        images = _get(hv, 'mcm_images', [])
        mims = [_mim_entry(m, _image_named(images, m.get('image'))) for m in mcm_mims if isinstance(m, dict)]
        return dict(reachable=boolean(_get(hv, 'mcm_reachable', True), strict=False),
                    reason=_get(hv, 'mcm_unreachable_reason'), api=_get(hv, 'mcm_api'), mims=mims)
    info = _get(hv, 'fleet_report_info')
    if isinstance(info, dict) and not info.get('skipped'):  # a registered mimoe.edge.mcm_info result
        failed = bool(info.get('failed'))
        raw_mims = [m for m in info.get('mims') or [] if isinstance(m, dict)]
        images = [normalized_image(i, raw_mims) for i in info.get('images') or [] if isinstance(i, dict)]
        mims = []
        for raw in raw_mims:
            image = _image_named(images, raw.get('image'))
            mims.append(_mim_entry(dict(raw, version=image.get('version'), version_source=image.get('version_source'),
                                        digest=image.get('digest')), image))
        return dict(reachable=not failed, reason=(info.get('msg') or 'mcm_info failed') if failed else None,
                    api=info.get('api_version'), mims=mims)
    return dict(reachable=False, reason=None, api=_get(hv, 'mcm_api'), mims=[])


def known_versions(sources):
    """``{digest: version}`` of every image content whose version a node proves (RepoTag or release marker).

    A digest seen with two versions proves nothing and is left out.
    """
    known = {}
    for source in sources:
        if not source['reachable']:
            continue
        for mim in source['mims']:
            if mim['digest'] and mim['version'] is not None and mim['version_source']:
                known.setdefault(mim['digest'], set()).add(str(mim['version']))
    return dict((digest, versions.pop()) for digest, versions in known.items() if len(versions) == 1)


def prove_version(mim, known):
    """Fill the version of a mim whose node tells none, from the content digest (full, or short id prefix)."""
    if mim['version'] is not None:
        return mim
    version = known.get(mim['digest']) if mim['digest'] else None
    if version is None and mim['image_id']:
        short = image_identity({'id': mim['image_id']})['short_id']
        if short:
            versions = set(v for d, v in known.items() if d[len('sha256:'):].startswith(short))
            version = versions.pop() if len(versions) == 1 else None
    if version is not None:
        mim = dict(mim, version=version, version_source='digest')
    return mim


def _cells(mims, desired):
    cells, drift, names = {}, [], []
    down = unknown = 0
    for mim in mims:
        if mim['name'] is None:
            continue
        want = desired.get(mim['name'])
        running = (mim['state'] or '') in RUNNING_STATES and (mim['status'] or 'up') in UP_STATUSES
        if not running:
            cell = 'down'
            down += 1
        elif want is None:
            cell = 'ok'
        elif mim['version'] is None:
            cell = 'unknown'
            unknown += 1
        elif str(mim['version']) == want:
            cell = 'ok'
        else:
            cell = 'drift'
            drift.append({'mim': mim['name'], 'kind': 'version', 'want': want, 'have': mim['version']})
        cells[mim['name']] = {'version': mim['version'], 'version_source': mim['version_source'],
                              'state': mim['state'], 'status': mim['status'], 'image': mim['image'],
                              'digest': mim['digest'], 'labels': mim['labels'], 'cell': cell}
        names.append(mim['name'])
    for name, want in desired.items():
        if name not in cells:
            cells[name] = {'version': None, 'version_source': None, 'state': None, 'status': None, 'image': None,
                           'digest': None, 'labels': {}, 'cell': 'missing'}
            drift.append({'mim': name, 'kind': 'missing', 'want': want, 'have': None})
    return cells, drift, names, down, unknown


def fleet_model(hosts, hostvars, desired=None, title='mimOE fleet report', generated=None):
    """The report model (see DOCUMENTATION)."""
    if not isinstance(hosts, (list, tuple)):
        raise AnsibleFilterError('fleet_model expects a list of inventory host names, got %s' % type(hosts).__name__)
    desired = dict((str(k), str(v)) for k, v in (desired or {}).items())
    names = sorted(set(str(h) for h in hosts))
    hvs = dict((host, _get(hostvars, host, {})) for host in names)
    sources = dict((host, node_source(hvs[host])) for host in names)
    known = known_versions(sources.values())
    nodes, mim_names = [], list(desired)
    for host in names:
        source, hv = sources[host], hvs[host]
        reachable = source['reachable']
        cells, drift, down, unknown = {}, [], 0, 0
        if reachable:
            mims = [prove_version(m, known) for m in source['mims']]
            cells, drift, seen, down, unknown = _cells(mims, desired)
            mim_names.extend(seen)
        if not reachable:
            status = 'unreachable'
        elif down:
            status = 'down'
        elif drift:
            status = 'drift'
        elif unknown:
            status = 'unknown'
        else:
            status = 'ok'
        nodes.append({'name': host, 'url': _get(hv, 'mcm_url'), 'api': source['api'], 'arch': _get(hv, 'mimoe_arch'),
                      'reachable': reachable, 'reason': None if reachable else (source['reason'] or NO_DATA),
                      'status': status, 'mims': cells, 'drift': drift,
                      'labels': sorted(set(t for m in source['mims'] if reachable for t in label_terms(m['labels'])))})
    mim_names = sorted(set(mim_names))
    reachable_nodes = [n for n in nodes if n['reachable']]
    per_mim = {}
    for name in mim_names:
        labels, drifted, down = [], 0, 0
        for node in reachable_nodes:
            cell = node['mims'].get(name) or {'cell': 'absent', 'version': None}
            if cell['cell'] in ('missing', 'absent'):
                labels.append('absent')
            else:
                labels.append(cell['version'] if cell['version'] is not None else 'unknown')
            drifted += 1 if cell['cell'] in ('drift', 'missing') else 0
            down += 1 if cell['cell'] == 'down' else 0
        bars = []
        for label in labels:
            if label not in [b['version'] for b in bars]:
                bars.append({'version': label, 'count': labels.count(label)})
        per_mim[name] = {'desired': desired.get(name), 'drifted': drifted, 'down': down,
                         'versions': sorted(bars, key=lambda b: b['count'], reverse=True)}
    summary = dict(nodes=len(nodes), reachable=len(reachable_nodes), unreachable=len(nodes) - len(reachable_nodes),
                   mims=per_mim)
    for status in ('ok', 'drift', 'down', 'unknown'):
        summary[status] = len([n for n in nodes if n['status'] == status])
    if generated is None:
        generated = datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')
    return {'format': 1, 'title': title, 'generated': generated, 'desired': desired, 'mims': mim_names,
            'summary': summary, 'nodes': nodes}


class FilterModule(object):
    def filters(self):
        return {'fleet_model': fleet_model}
