# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What ``mcm_info`` does: read a node once, normalise its images and mims, select them with filters.

Filters follow community.docker ``docker_host_info`` (``*_filters``) and kubernetes.core ``k8s_info`` (label
selectors): inside one filter the values are alternatives (any matches), different filters must all match, and
``label`` entries must all match (``key`` = the label is set, ``key=value`` = set to that value).

Private to the collection; the interface can change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fnmatch

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.mimoe.edge.plugins.module_utils._digest import normalize_digest
from ansible_collections.mimoe.edge.plugins.module_utils._errors import InputError, MimoeError
# image_matches / image_name_from_tag through _image_identity: it names every image identity rule, wherever the
# archive helpers live.
from ansible_collections.mimoe.edge.plugins.module_utils._image_identity import (
    image_matches, image_name_from_tag, image_release, mim_uses_image, node_digests, normalized_image,
)
from ansible_collections.mimoe.edge.plugins.module_utils._markers import (
    COMPOSITION_KEY, LABELS_KEY, decode_labels, decode_release,
)
from ansible_collections.mimoe.edge.plugins.module_utils._mcm_mim import (
    HAS_JSONSCHEMA, MIM_SPEC_SCHEMA, Desired, MimManager, SpecError, env_as_dict, mask_mim, merge_env, spec_env,
    validate,
)
from ansible_collections.mimoe.edge.plugins.module_utils._mcm_state import FingerprintStore

MIM_FILTER_KEYS = ('name', 'state', 'status', 'image', 'label', 'composition')
IMAGE_FILTER_KEYS = ('name', 'in_use', 'digest')


# ---------------------------------------------------------------- normalisation

def mim_composition(env):
    """The composition a mim's env records (``MIMOE_COMPOSITION``), or None."""
    value = env.get(COMPOSITION_KEY) if isinstance(env, dict) else None
    return value if isinstance(value, str) and value else None


def normalized_mim(mim, client_id):
    """A node mim with ``spec_env`` (its env in spec form), ``release`` (its release marker), ``labels`` (its
    labels, ``{}`` when none) and ``composition`` added. The labels marker is taken out of ``env``: labels are
    shown as ``labels``, never as ordinary env."""
    if not isinstance(mim, dict):
        return mim
    result = dict(mim)
    env = env_as_dict(mim.get('env'))
    result['spec_env'] = spec_env(mim.get('env'), mim.get('clientId') or client_id)
    result['release'] = decode_release(env)
    result['labels'] = decode_labels(env)
    result['composition'] = mim_composition(env)
    if env is not None:
        env.pop(LABELS_KEY, None)
        result['env'] = env
    return result


def label_terms(labels):
    """Labels as sorted ``key=value`` strings (for inventory groups and the report)."""
    if not isinstance(labels, dict):
        return []
    return sorted('%s=%s' % (k, v) for k, v in labels.items() if isinstance(k, str) and isinstance(v, str))


# ---------------------------------------------------------------- filters

def parse_label(text, where):
    """``key`` -> (key, None); ``key=value`` -> (key, value). Raises :class:`InputError` naming ``where``."""
    key, sep, value = str(text).partition('=')
    key = key.strip()
    if not key:
        raise InputError('%s: %r has no label key' % (where, text),
                         hint='write key (the label is set) or key=value, for example tier=web')
    return key, (value if sep else None)


def checked_filters(filters, where):
    """The filters given (``None`` values dropped), labels parsed and digests normalised; raises InputError."""
    result = dict((k, v) for k, v in (filters or {}).items() if v is not None)
    if 'label' in result:
        result['label'] = [parse_label(item, '%s.label' % where) for item in result['label']]
    for key in ('digest',):
        if key in result:
            digests = []
            for item in result[key]:
                digest = normalize_digest(str(item).strip().lower().replace('sha265:', 'sha256:'))
                if digest is None:
                    raise InputError('%s.%s: %r is not an image digest' % (where, key, item),
                                     hint='give sha256: followed by 64 hex digits, as mcm_info returns in digest')
                digests.append(digest)
            result[key] = digests
    if 'image' in result:
        result['image'] = [_image_selector(item, '%s.image' % where) for item in result['image']]
    return result


def _image_selector(text, where):
    """An image filter value: a digest (``sha256:...``) or a name."""
    text = str(text).strip()
    if text.lower().startswith(('sha256:', 'sha265:')):
        digest = normalize_digest(text.lower().replace('sha265:', 'sha256:'))
        if digest is None:
            raise InputError('%s: %r is not an image digest' % (where, text),
                             hint='give sha256: followed by 64 hex digits, or an image name')
        return ('digest', digest)
    if not text:
        raise InputError('%s: an empty image name' % where, hint='give an image name or a sha256: digest')
    return ('name', text)


def _matches_any(value, patterns):
    return isinstance(value, str) and any(fnmatch.fnmatchcase(value, p) for p in patterns)


def _in(value, choices):
    return str(value or '').lower() in set(str(c).lower() for c in choices)


def _image_of_mim(mim, images):
    for image in images:
        if mim_uses_image(mim, image):
            return image
    return None


def _mim_digests(mim, images):
    """Digests that identify what a mim runs: its image's (as the node reports them) and its release marker's."""
    found = set()
    image = _image_of_mim(mim, images)
    if image is not None:
        found.update(node_digests(image))
    release = mim.get('release') or {}
    for key in ('digest', 'config_digest'):
        if release.get(key):
            found.add(release[key])
    return found


def mim_selected(mim, filters, images):
    """Whether a normalised mim passes every filter (``filters`` from :func:`checked_filters`)."""
    if 'name' in filters and not _matches_any(mim.get('name'), filters['name']):
        return False
    if 'state' in filters and not _in(mim.get('state'), filters['state']):
        return False
    if 'status' in filters and not _in(mim.get('status'), filters['status']):
        return False
    if 'composition' in filters and mim.get('composition') not in filters['composition']:
        return False
    labels = mim.get('labels') or {}
    for key, value in filters.get('label', ()):
        if key not in labels or (value is not None and labels[key] != value):
            return False
    if 'image' in filters:
        digests = None
        for kind, wanted in filters['image']:
            if kind == 'name':
                image = _image_of_mim(mim, images)
                if mim.get('image') == wanted or (image is not None and image_matches(image, wanted)):
                    break
            else:
                digests = _mim_digests(mim, images) if digests is None else digests
                if wanted in digests:
                    break
        else:
            return False
    return True


def image_selected(image, filters, mims):
    """Whether a normalised image passes every filter; ``mims`` are all the node's mims (for ``in_use``)."""
    if 'name' in filters:
        tags = [t for t in image.get('repoTags') or [] if isinstance(t, str)]
        names = [image.get('name')] + [image_name_from_tag(t) for t in tags]
        if not any(_matches_any(n, filters['name']) for n in names):
            return False
    if 'in_use' in filters:
        if any(mim_uses_image(m, image) for m in mims) != filters['in_use']:
            return False
    if 'digest' in filters:
        reported = set(node_digests(image))
        release = image_release(image, mims) or {}
        reported.update(release[k] for k in ('digest', 'config_digest') if release.get(k))
        if not reported & set(filters['digest']):
            return False
    return True


# ---------------------------------------------------------------- comparison

def desired_from_compare(spec):
    """A :class:`Desired` from the ``compare_mim`` option; raises :class:`SpecError`."""
    checked = dict(name=spec['name'], image=spec['image'], env=spec['env'] or {}, secret_env=spec['secret_env'] or {})
    try:
        errors = validate(checked, MIM_SPEC_SCHEMA, 'compare_mim')
        if errors:
            raise SpecError('; '.join(errors))
        env, secret_keys = merge_env(checked['env'], checked['secret_env'], 'compare_mim.')
    except SpecError as exc:
        raise SpecError('Invalid compare_mim: %s' % exc)
    return Desired(checked['name'], checked['image'], env, secret_keys)


def compare(mcm, desired, images, mims):
    """The node's mim compared with ``desired``, from the listing already read (no further call; on legacy nodes
    the fingerprint file is read)."""
    manager = MimManager(mcm, FingerprintStore(mcm.params['fingerprint_file']))
    manager.use_listing(images, mims)
    comparison = manager.compare(desired, manager.find_mim(desired.name))
    return dict(name=desired.name, equal=comparison.equal, reasons=comparison.reasons,
                diff=dict(before=comparison.before, after=comparison.after))


# ---------------------------------------------------------------- the module's behaviour

def node_listing(mcm, images=True, mims=True):
    """``(api_version, images, mims)`` of the node, normalised (images get digest/version, mims spec_env, release,
    labels and composition), secrets NOT masked."""
    client = mcm.client
    api = client.api_version
    raw_images = client.list_images() if images else []
    raw_mims = client.list_mims() if mims else []
    # Normalised once here, so that roles and templates never re-derive a digest, a version or an env.
    return (api, [normalized_image(i, raw_mims) for i in raw_images],
            [normalized_mim(m, mcm.client_id) for m in raw_mims], raw_images, raw_mims)


def run_info(mcm):
    """The result of ``mcm_info`` (without ``changed``). Raises :class:`MimoeError` subclasses only."""
    params = mcm.params
    spec = params['compare_mim']
    if spec is not None and not HAS_JSONSCHEMA:
        raise MimoeError(missing_required_lib('jsonschema'), hint='pip install jsonschema on the controller')
    mim_filters = checked_filters(params.get('mim_filters'), 'mim_filters')
    image_filters = checked_filters(params.get('image_filters'), 'image_filters')
    desired = desired_from_compare(spec) if spec is not None else None
    # Filters that look at the other kind need it read too (in_use reads mims, image= reads images).
    need_images = params['images'] or spec is not None or 'image' in mim_filters
    need_mims = params['mims'] or spec is not None or 'in_use' in image_filters or 'digest' in image_filters
    api, images, mims, raw_images, raw_mims = node_listing(mcm, need_images, need_mims)
    result = dict(api_version=api)
    if desired is not None:
        result['mim_comparison'] = compare(mcm, desired, raw_images, raw_mims)
    names = params['name']
    selected_images, selected_mims = [], []
    if params['images']:
        selected_images = [i for i in images if image_selected(i, image_filters, raw_mims) and (
            not names or any(image_matches(i, n) for n in names))]
    if params['mims']:
        selected_mims = [m for m in mims if mim_selected(m, mim_filters, raw_images) and (
            not names or m.get('name') in names or m.get('id') in names)]
    if not params['unmask_secret_env']:
        selected_mims = [mask_mim(m, desired.secret_keys if desired is not None and m.get('name') == desired.name
                                  else None) for m in selected_mims]
    result.update(images=selected_images, mims=selected_mims)
    return result
