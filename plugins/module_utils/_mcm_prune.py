# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Prune and purge for ``mimoe.edge.mcm_prune``: the images no mim uses, and optionally a node's mims first.

Every removal goes through the :class:`Recorder` (one path for real and check-mode runs), with the write primitives
of :class:`ImageManager`.

Private to the collection; the interface can change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fnmatch
import re
import time

from ansible_collections.mimoe.edge.plugins.module_utils._errors import InputError
from ansible_collections.mimoe.edge.plugins.module_utils._image_identity import mim_uses_image
from ansible_collections.mimoe.edge.plugins.module_utils._markers import COMPOSITION_KEY, decode_labels
from ansible_collections.mimoe.edge.plugins.module_utils._mcm_client import image_digest
from ansible_collections.mimoe.edge.plugins.module_utils._mcm_image import ImageManager
from ansible_collections.mimoe.edge.plugins.module_utils._mcm_mim import env_as_dict, timestamp

_DURATION = re.compile(r'^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$')


def parse_duration(value, field):
    """Seconds from ``90``, ``'90'``, ``'30m'``, ``'1h30m'``, ``'7d'``; raises :class:`InputError` naming ``field``."""
    if value is None:
        return None
    text = str(value).strip().lower()
    if text.isdigit():
        return int(text)
    found = _DURATION.match(text)
    if not text or not found or not any(found.groups()):
        raise InputError('%s must be a duration such as 3600, 30m, 24h or 7d (got %r)' % (field, value),
                         hint='use whole numbers with the units d, h, m and s, largest first (1h30m)')
    days, hours, minutes, seconds = (int(g or 0) for g in found.groups())
    return ((days * 24 + hours) * 60 + minutes) * 60 + seconds


def parse_labels(selectors, field='mims_filters.label'):
    """``['tier=web', 'canary']`` -> ``{'tier': 'web', 'canary': None}`` (``None``: the key only must exist)."""
    wanted = {}
    for item in selectors or []:
        key, sep, value = str(item).partition('=')
        if not key.strip():
            raise InputError('%s has the entry %r without a key' % (field, item), hint='write key or key=value')
        wanted[key.strip()] = value if sep else None
    return wanted


def matches_any(name, patterns):
    return any(fnmatch.fnmatchcase(str(name or ''), pattern) for pattern in patterns or [])


def older_than(obj, seconds, now):
    """Whether ``obj`` (an image or a mim) was created at least ``seconds`` ago; unknown ages never match."""
    if seconds is None:
        return True
    created = timestamp(obj.get('created'))
    return created is not None and now - created >= seconds


class PruneManager(object):
    """Select and remove; :meth:`run` returns the module's result."""

    def __init__(self, client, recorder, client_id='api', clock=time.time):
        self.client = client
        self.recorder = recorder
        self.images = ImageManager(client, recorder, client_id)
        self.clock = clock

    def select_mims(self, mims, filters):
        filters = filters or {}
        labels = parse_labels(filters.get('label'))
        until = parse_duration(filters.get('until'), 'mims_filters.until')
        if (labels or filters.get('composition')) and self.client.legacy:
            raise InputError('mims_filters.label and mims_filters.composition need the current API generation: a '
                             'legacy node does not return the env where labels and the composition are kept',
                             hint='select the mims by mims_filters.name on this node')
        now = self.clock()
        selected = []
        for mim in mims:
            name = mim.get('name')
            env = env_as_dict(mim.get('env')) or {}
            if filters.get('name') and not matches_any(name, filters['name']):
                continue
            if matches_any(name, filters.get('keep')):
                continue
            if filters.get('composition') and env.get(COMPOSITION_KEY) != filters['composition']:
                continue
            have = decode_labels(env)
            if any(key not in have or (value is not None and have[key] != value) for key, value in labels.items()):
                continue
            if not older_than(mim, until, now):
                continue
            selected.append(mim)
        return selected

    def select_images(self, images, mims, filters, only=None, removed=()):
        """Images no mim in ``mims`` uses, that pass ``filters`` (and, when ``only`` is given, are among it);
        ``removed``: the mims this run removed (still counted in a legacy image's ``containers``)."""
        filters = filters or {}
        until = parse_duration(filters.get('until'), 'filters.until')
        now = self.clock()
        selected = []
        for image in images:
            name = image.get('name')
            if only is not None and not any(image is other for other in only):
                continue
            if any(mim_uses_image(mim, image) for mim in mims):
                continue
            containers = image.get('containers')
            if isinstance(containers, int) and not isinstance(containers, bool):
                # A legacy node counts users we may not see (another client's containers), as listed before this
                # run removed any: what is left after the removed mims is still in use.
                if containers - sum(1 for mim in removed if mim_uses_image(mim, image)) > 0:
                    continue
            if filters.get('name') and not matches_any(name, filters['name']):
                continue
            if matches_any(name, filters.get('keep')) or matches_any(image.get('id'), filters.get('keep')):
                continue
            if not older_than(image, until, now):
                continue
            selected.append(image)
        return selected

    def run(self, params, diff=False):
        images = self.client.list_images()
        mims = self.client.list_mims()
        removed_mims = []
        only = None
        if params['mims']:
            removed_mims = self.select_mims(mims, params['mims_filters'])
            for mim in removed_mims:
                self.images.remove_mim(mim)
            mims = [m for m in mims if not any(m is r for r in removed_mims)]
            # A purge takes the images of the mims it removed, never other unused images (a separate prune).
            only = [i for i in images if any(mim_uses_image(m, i) for m in removed_mims)]
        removed_images = []
        if params['images']:
            removed_images = self.select_images(images, mims, params['filters'], only, removed_mims)
            for image in removed_images:
                self.images.remove_image(image)
        sizes = [i.get('size') for i in removed_images]
        known = all(isinstance(s, int) and not isinstance(s, bool) for s in sizes)
        result = dict(
            changed=bool(removed_mims or removed_images),
            images=[i.get('name') for i in removed_images],
            mims=[m.get('name') for m in removed_mims],
            image_details=[dict(name=i.get('name'), id=i.get('id'), digest=image_digest(i), size=i.get('size'))
                           for i in removed_images],
            bytes_freed=sum(sizes) if known else None,
        )
        if diff:
            result['diff'] = dict(
                before=dict(images=sorted(str(i.get('name')) for i in images),
                            mims=sorted(str(m.get('name')) for m in mims + removed_mims)),
                after=dict(images=sorted(str(i.get('name')) for i in images
                                         if not any(i is r for r in removed_images)),
                           mims=sorted(str(m.get('name')) for m in mims)))
        return result
