# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Mim specs: validation, env normalisation, comparison with the node, masking, deployment, and the manager that
converges one mim to a ``state`` (M(mimoe.edge.mcm_mim)).

Private to the collection; the interface can change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import json
import os
import traceback

try:
    import jsonschema
except ImportError:
    HAS_JSONSCHEMA = False
    JSONSCHEMA_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_JSONSCHEMA = True
    JSONSCHEMA_IMPORT_ERROR = None

from ansible_collections.mimoe.edge.plugins.module_utils._errors import InputError, MimoeError, WaitTimeout
from ansible_collections.mimoe.edge.plugins.module_utils._http import MASK
from ansible_collections.mimoe.edge.plugins.module_utils._image_archive import (
    ImageArchiveError,
    image_matches,
    inspect_image_tar,
)
from ansible_collections.mimoe.edge.plugins.module_utils._mcm_client import MCMError
from ansible_collections.mimoe.edge.plugins.module_utils._markers import (
    LABELS_KEY,
    RESERVED_KEYS,
    SECRET_KEYS_KEY,
    decode_labels,
    decode_secret_keys,
    encode_labels,
    encode_secret_keys,
)
from ansible_collections.mimoe.edge.plugins.module_utils._wait import poll_until

BASE_API_PATH = 'MCM.BASE_API_PATH'
MAX_EXECUTION_TIME = 'MCM.MAX_EXECUTION_TIME_SEC'
RUNNING_STATES = ('started', 'running')
# A ``status`` that says the process is not serving, whatever ``state`` says (current API: a crashed mim reads
# ``{"state": "stopped", "status": "crashed"}``; a mim may also read ``started`` while its status is bad).
UNHEALTHY_STATUSES = ('crashed', 'error', 'down', 'failed', 'exited', 'dead', 'unhealthy')
LEGACY_ENV_UNKNOWN = '(not readable: the legacy API does not return env)'

_ENV_SCHEMA = {'type': 'object', 'additionalProperties': {'type': 'string'}}
_LABELS_SCHEMA = {'type': 'object', 'propertyNames': {'minLength': 1}, 'additionalProperties': {'type': 'string'}}

MIM_SPEC_SCHEMA = {
    'type': 'object',
    'required': ['name', 'image'],
    'additionalProperties': False,
    'properties': {
        'name': {'type': 'string', 'minLength': 1, 'pattern': '^[^/?#%\\s]+$'},
        'image': {'type': 'string', 'minLength': 1},
        'env': _ENV_SCHEMA,
        'secret_env': _ENV_SCHEMA,
    },
}
_LABELS_ONLY_SCHEMA = {'type': 'object', 'properties': {'labels': _LABELS_SCHEMA}}

START_JSON_SCHEMA = {
    'type': 'object',
    'required': ['name', 'image'],
    'additionalProperties': False,
    'properties': {
        'name': MIM_SPEC_SCHEMA['properties']['name'],
        'image': MIM_SPEC_SCHEMA['properties']['image'],
        'env': _ENV_SCHEMA,
    },
}


class SpecError(InputError):
    """Bad user input; the message names the field and the fix."""


def _path_text(prefix, path):
    text = prefix
    for part in path:
        if isinstance(part, int):
            text += '[%d]' % part
        else:
            text += ('.%s' % part) if text else str(part)
    return text


def validate(instance, schema, prefix=''):
    """Validate with jsonschema; returns a sorted list of messages like ``mims[2].env.PORT: 8080 is not of type 'string'``.

    Values under ``secret_env`` are never quoted in a message.
    """
    if not HAS_JSONSCHEMA:
        raise SpecError('the Python library jsonschema is required to validate mim specs')
    validator = jsonschema.Draft7Validator(schema)
    messages = []
    for error in validator.iter_errors(instance):
        path = list(error.absolute_path)
        where = _path_text(prefix, path) or '(top level)'
        if 'secret_env' in path and len(path) > path.index('secret_env') + 1:
            message = 'the value is not of type \'string\' (value hidden); quote it'
        else:
            message = error.message
            if error.validator == 'type' and error.validator_value == 'string' and path and path[-2:-1] in (
                    ['env'], ['secret_env']):
                message += '; quote it, env values are strings'
            elif error.validator == 'type' and error.validator_value == 'string' and path[-2:-1] == ['labels']:
                message += '; quote it, label values are strings'
            elif error.validator == 'additionalProperties' and not path:
                message += '; allowed keys: %s' % ', '.join(sorted(schema.get('properties', {})))
            elif error.validator == 'additionalProperties':
                message += '; allowed keys: %s' % ', '.join(sorted(schema.get('properties', {})))
        messages.append((path_sort_key(path), '%s: %s' % (where, message)))
    return [m for dummy, m in sorted(messages)]


def path_sort_key(path):
    return [(0, p, '') if isinstance(p, int) else (1, 0, str(p)) for p in path]


def spec_from_start_json(payload, source):
    """A seed-style start.json ``{"name", "image", "env"}`` taken as is (validated)."""
    if isinstance(payload, str):
        try:
            payload = json.loads(payload)
        except ValueError as exc:
            raise SpecError('%s is not valid JSON: %s' % (source, exc))
    errors = validate(payload, START_JSON_SCHEMA, source)
    if errors:
        raise SpecError('; '.join(errors))
    return dict(name=payload['name'], image=payload['image'], env=dict(payload.get('env') or {}))


def merge_env(env, secret_env, where=''):
    """env + secret_env (a key in both is an error); returns (merged, secret_keys).

    The reserved keys (:mod:`._markers`) may not be set, with one exception: ``MIMOE_SECRET_KEYS`` in ``env``
    (an env read back from a node, e.g. to redeploy a previous version) marks the keys it lists as secret and is
    dropped, so such an env redeploys with its secrets still masked and still marked.
    """
    env = dict(env or {})
    secret_env = dict(secret_env or {})
    reserved = ['%ssecret_env.%s' % (where, key) for key in sorted(set(secret_env) & set(RESERVED_KEYS))]
    reserved += ['%senv.%s' % (where, key) for key in sorted(set(env) & set(RESERVED_KEYS)) if key != SECRET_KEYS_KEY]
    if reserved:
        raise SpecError('; '.join('%s: this key is reserved, the collection sets it itself; remove it' % key
                                  for key in reserved))
    marked = decode_secret_keys(env) & set(env)
    env.pop(SECRET_KEYS_KEY, None)
    both = sorted(set(env) & set(secret_env))
    if both:
        raise SpecError('%senv and %ssecret_env both set %s; set each key in only one of them'
                        % (where, where, ', '.join(both)))
    env.update(secret_env)
    return env, set(secret_env) | marked


def env_as_dict(env):
    """A node's env as a dict; accepts an object or a legacy list of ``VAR=value``."""
    if env is None:
        return None
    if isinstance(env, dict):
        return dict((str(k), v if isinstance(v, str) else json.dumps(v)) for k, v in env.items())
    if isinstance(env, list):
        result = {}
        for item in env:
            if isinstance(item, str) and '=' in item:
                key, value = item.split('=', 1)
                result[key] = value
        return result
    return None


def normalize_base_path(path):
    """``hello/v1/`` -> ``/hello/v1`` (what the node does to the requested base path)."""
    return '/' + '/'.join(part for part in str(path).split('/') if part)


def node_view_env(env, client_id):
    """The env as the current generation stores it: ``MCM.BASE_API_PATH`` prefixed with ``/<clientId>``."""
    result = dict(env or {})
    base = result.get(BASE_API_PATH)
    if base is not None and client_id:
        base = normalize_base_path(base)
        prefix = '/' + client_id
        if not (base == prefix or base.startswith(prefix + '/')):
            base = prefix + base
        result[BASE_API_PATH] = base
    return result


def node_spec_env(env, client_id):
    """Inverse of :func:`node_view_env`: the env to POST to redeploy a mim as the node reports it."""
    result = dict(env or {})
    base = result.get(BASE_API_PATH)
    prefix = '/' + (client_id or '')
    if client_id and base is not None and base.startswith(prefix + '/'):
        result[BASE_API_PATH] = base[len(prefix):]
    return result


def spec_env(node_env, client_id):
    """A node mim's env in spec form, as it would be written in M(mimoe.edge.mcm_mim) ``env``: ``MCM.BASE_API_PATH``
    without the ``/<clientId>`` prefix (:func:`node_spec_env`), the ``MCM.*`` flags the node fills with ``"false"``
    dropped (equal to absent for :func:`env_changes`), and the reserved ``MIMOE_*`` keys the collection keeps on
    the node dropped. ``MCM.MAX_EXECUTION_TIME_SEC`` is kept: a node default cannot be told from a value the user
    set, and keeping it redeploys the same. None when the node returns no env (legacy API)."""
    env = env_as_dict(node_env)
    if env is None:
        return None
    result = node_spec_env(env, client_id)
    for key in list(result):
        if key in RESERVED_KEYS or (key.startswith('MCM.') and key != BASE_API_PATH and result[key] == 'false'):
            del result[key]
    return result


def env_changes(desired, node_env, client_id, name=None):
    """Keys whose value differs, as ``{key: (on_node, desired)}`` (``None`` = absent).

    Equal modulo what the node does to env:

    * ``MCM.BASE_API_PATH`` is stored prefixed with ``/<clientId>`` (and defaults to ``/<clientId>/<name>``);
    * ``MCM.*`` flags absent from the request are stored as ``"false"``;
    * ``MCM.MAX_EXECUTION_TIME_SEC`` absent from the request is stored with the node's default, not compared.
    """
    desired = dict(desired or {})
    want = node_view_env(desired, client_id)
    have = dict(node_env or {})
    changes = {}
    for key in sorted(set(want) | set(have)):
        w, h = want.get(key), have.get(key)
        if w == h:
            continue
        if key not in desired:
            if key == BASE_API_PATH and name and client_id and h == '/%s/%s' % (client_id, name):
                continue
            if key == MAX_EXECUTION_TIME:
                continue
            if key.startswith('MCM.') and h == 'false':
                continue
        else:
            if key == BASE_API_PATH and h is not None and h == normalize_base_path(desired[key]):
                continue  # a node that does not prefix
            if key.startswith('MCM.') and w == 'false' and h is None:
                continue
        changes[key] = (h, desired.get(key))
    return changes


def secret_names(env, secret_keys=None):
    """The env keys whose values are secret: ``secret_keys`` plus those the env's own ``MIMOE_SECRET_KEYS`` lists."""
    return set(secret_keys or ()) | decode_secret_keys(env)


def mask_env(env, secret_keys=None):
    """``env`` with the values of secret keys (``secret_keys`` and the env's own marker) shown as ``********``.

    The one place that decides what is masked in an env; the modules, mcm_info and the rollout use it.
    """
    if env is None:
        return None
    names = secret_names(env, secret_keys)
    return dict((k, MASK if k in names else v) for k, v in env.items())


def masked_env_diff(changes, secret_keys=None):
    """``{key: (on_node, desired)}`` (see :func:`env_changes`) as a masked ``(before, after)`` pair of dicts.

    A key is masked when it is secret now (``secret_keys``) or was deployed as secret (the node's marker, to be
    merged into ``secret_keys`` by the caller): a key removed from ``secret_env`` shows as removed, value masked.
    """
    names = set(secret_keys or ())
    before, after = {}, {}
    for key, (old, new) in changes.items():
        secret = key in names
        if old is not None:
            before[key] = MASK if secret else old
        if new is not None:
            after[key] = (MASK + ' (changed)' if old is not None else MASK) if secret else new
    return before, after


def mask_mim(mim, secret_keys=None):
    """A node's mim with the values of secret env keys (given, or marked on the node) replaced by ``********``.

    The labels the env keeps in ``MIMOE_LABELS`` are shown as ``labels``, never as an ordinary env key.
    """
    if not isinstance(mim, dict):
        return mim
    result = dict(mim)
    env = env_as_dict(result.get('env'))
    if env is not None:
        if LABELS_KEY in env:
            result['labels'] = decode_labels(env)
            env = dict((k, v) for k, v in env.items() if k != LABELS_KEY)
            result['env'] = env
            if isinstance(result.get('spec_env'), dict):
                result['spec_env'] = dict((k, v) for k, v in result['spec_env'].items() if k != LABELS_KEY)
        names = secret_names(env, secret_keys)
        if names:
            result['env'] = mask_env(env, names)
            # mcm_info adds the spec form of the same env: the same keys are secret there.
            if isinstance(result.get('spec_env'), dict):
                result['spec_env'] = mask_env(result['spec_env'], names)
    return result


def timestamp(value):
    """Epoch seconds from epoch seconds, epoch milliseconds or an ISO 8601 string; ``None`` if unknown."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return value / 1000.0 if value > 1e11 else float(value)
    if isinstance(value, str):
        text = value.strip()
        if text.replace('.', '', 1).isdigit():
            return timestamp(float(text))
        if text.endswith('Z'):
            text = text[:-1] + '+00:00'
        try:
            parsed = datetime.datetime.fromisoformat(text)
        except ValueError:
            return None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=datetime.timezone.utc)
        return parsed.timestamp()
    return None


def image_replaced(mim, image):
    """A reason if ``image`` (as the node reports it now) is newer content than the one ``mim`` was deployed from.

    Legacy nodes name images by content (``imageId`` = ``sha256:...``), so a different ``imageId`` tells.
    Current nodes keep the id ``<clientId>-<name>``; there the image ``created`` time later than the mim's
    ``created`` time tells that the image was replaced after the mim was deployed.
    """
    if not image or not mim:
        return None
    mim_image_id, image_id = mim.get('imageId'), image.get('id')
    if mim_image_id and image_id and str(mim_image_id).startswith('sha2') and mim_image_id != image_id:
        return 'the image %s was replaced on the node since the mim was deployed (imageId differs)' % image.get('name')
    image_created, mim_created = timestamp(image.get('created')), timestamp(mim.get('created'))
    if image_created is not None and mim_created is not None and image_created > mim_created:
        return 'the image %s was replaced on the node since the mim was deployed' % image.get('name')
    return None


def is_running(mim):
    """Running AND healthy: ``state`` says started/running and ``status`` (when given) is not a failure."""
    if not isinstance(mim, dict) or str(mim.get('state', '')).lower() not in RUNNING_STATES:
        return False
    return str(mim.get('status') or '').lower() not in UNHEALTHY_STATUSES


def run_state(mim):
    """``state/status`` as the node reports them, for messages (``stopped/crashed``)."""
    if not isinstance(mim, dict):
        return 'absent'
    if mim.get('status'):
        return '%s/%s' % (mim.get('state'), mim.get('status'))
    return str(mim.get('state'))


class Desired(object):
    """A desired mim: name, image, merged env, which env keys are secret, and its labels.

    ``labels`` ``None`` means "as they are on the node": not compared, and kept by a redeploy (see
    :meth:`MimManager.compare`); ``{}`` means no labels.
    """

    def __init__(self, name, image, env=None, secret_keys=None, labels=None):
        self.name = name
        self.image = image
        self.env = dict(env or {})
        self.env.pop(SECRET_KEYS_KEY, None)
        # An env read back from a node carries its labels in the reserved key: they become labels again.
        marked = self.env.pop(LABELS_KEY, None)
        if labels is None and marked is not None:
            labels = decode_labels({LABELS_KEY: marked})
        self.labels = None if labels is None else dict((str(k), str(v)) for k, v in labels.items())
        self.secret_keys = set(secret_keys or ()) & set(self.env)

    @classmethod
    def from_node(cls, mim, client_id):
        """The spec that redeploys a node's mim as it is (current API: env readable), secrets still marked and
        labels kept (``labels`` is the node's, ``{}`` when it has none)."""
        env = node_spec_env(env_as_dict(mim.get('env')) or {}, mim.get('clientId') or client_id)
        return cls(mim.get('name'), mim.get('image'), env, decode_secret_keys(env), decode_labels(env))

    def node_env(self):
        """The env to deploy: the user's env plus the ``MIMOE_SECRET_KEYS`` marker when some keys are secret and
        the ``MIMOE_LABELS`` marker when the mim has labels."""
        env = dict(self.env)
        if self.secret_keys:
            env[SECRET_KEYS_KEY] = encode_secret_keys(self.secret_keys)
        if self.labels:
            env[LABELS_KEY] = encode_labels(self.labels)
        return env

    def fingerprint_env(self):
        """What a legacy fingerprint covers: the env, and the labels when there are some (a fingerprint taken
        before labels existed still matches a mim without labels)."""
        env = dict(self.env)
        if self.labels:
            env[LABELS_KEY] = encode_labels(self.labels)
        return env

    def spec(self):
        return dict(name=self.name, image=self.image, env=self.node_env())

    def masked(self):
        result = dict(name=self.name, image=self.image, env=mask_env(self.env, self.secret_keys))
        if self.labels is not None:
            result['labels'] = dict(self.labels)
        return result


class Comparison(object):
    def __init__(self):
        self.equal = True
        self.reasons = []
        self.before = {}
        self.after = {}

    def differ(self, reason):
        self.equal = False
        self.reasons.append(reason)


class MimNotRunning(WaitTimeout, MCMError):
    """A mim did not run (and stay healthy) in time; ``last`` is the last mim seen.

    A :class:`WaitTimeout` raised by the one waiter; also an ``MCMError`` because the composition's rollback and the
    image's redeploys still catch ``MCMError`` around the waits they do through :class:`MimManager`.
    """


def remove_mim(client, recorder, mim):
    """Remove one mim of the node through ``recorder`` (check mode: only recorded). The one ``removed mim`` action."""
    return recorder.change('removed mim %s' % mim.get('name'), client.delete_mim, mim.get('id') or mim.get('name'),
                           mim.get('name'))


class MimManager(object):
    """Compare and converge mims of one node.

    ``mcm`` is an :class:`MCMModule` (only its ``client``, ``client_id``, ``params``, ``client_as`` and ``recorder``
    are used); every write goes through the recorder, so check mode is decided in these primitives.
    """

    def __init__(self, mcm, store=None, recorder=None):
        self.mcm = mcm
        self.client = mcm.client
        self.recorder = recorder if recorder is not None else mcm.recorder
        self.store = store
        self._images = None
        self._mims = None

    # -------------------------------------------------------------- reading

    def use_listing(self, images, mims):
        """Take images and mims already read from the node (one read serves a listing and a comparison)."""
        self._images = list(images)
        self._mims = list(mims)

    def images(self, refresh=False):
        if self._images is None or refresh:
            self._images = self.client.list_images()
        return self._images

    def mims(self, refresh=False):
        if self._mims is None or refresh:
            self._mims = self.client.list_mims()
        return self._mims

    def find_mim(self, name, refresh=False):
        for mim in self.mims(refresh):
            if mim.get('name') == name:
                return mim
        return None

    def find_image(self, name):
        for image in self.images():
            if image_matches(image, name):
                return image
        return None

    def missing_images_message(self, names):
        """Why ``names`` are not found, naming the client they are under when that is the token's own client.

        Every MCM call is scoped to a client ID; images uploaded under another one are invisible. With
        ``client_id`` set, one more read without it tells whether the images are under the token's own client.
        """
        names = sorted(names)
        what = 'The image %s is' % names[0] if len(names) == 1 else 'The images %s are' % ', '.join(names)
        message = '%s not on the node for client %s' % (what, self.mcm.client_id)
        if self.mcm.params.get('client_id'):
            try:
                other = self.mcm.client_as(None)
                found = [n for n in names if any(image_matches(i, n) for i in other.list_images())]
            except MCMError:
                found = []
            if found:
                return ('%s; %s %s there under the token\'s own client (client_id unset, %s for an API key), not '
                        'under client_id %s: remove client_id (or set it to that client), or upload %s under %s'
                        % (message, ', '.join(found), 'is' if len(found) == 1 else 'are', 'api',
                           self.mcm.client_id, 'it' if len(found) == 1 else 'them', self.mcm.client_id))
        return ('%s; upload %s first with mimoe.edge.mcm_image (with the same client_id: every MCM call is scoped '
                'to one client)' % (message, 'it' if len(names) == 1 else 'them'))

    def store_key(self, name):
        return self.store.key(self.client.base_url, self.mcm.client_id, name)

    def node_client_id(self, mim):
        return (mim or {}).get('clientId') or self.mcm.client_id

    # -------------------------------------------------------------- comparing

    def compare(self, desired, mim):
        """Compare a :class:`Desired` with the node's mim (or ``None``); fills diff with masked values.

        ``desired.labels`` ``None`` takes the node's labels (not compared; a redeploy keeps them).
        """
        cmp = Comparison()
        node_env = env_as_dict(mim.get('env')) if mim is not None else None
        if desired.labels is None and node_env is not None:
            desired.labels = decode_labels(node_env)
        elif desired.labels is None and mim is not None and self.store is not None:
            desired.labels = self.recorded_labels(desired.name)  # legacy: the node does not return env
        if mim is None:
            cmp.differ('the mim %s is not deployed' % desired.name)
            cmp.before = {'state': 'absent'}
            cmp.after = {'state': 'present', 'image': desired.image,
                         'env': mask_env(desired.env, desired.secret_keys)}
            if desired.labels:
                cmp.after['labels'] = dict(desired.labels)
            return cmp
        if mim.get('image') != desired.image:
            cmp.differ('image %s -> %s' % (mim.get('image'), desired.image))
            cmp.before['image'] = mim.get('image')
            cmp.after['image'] = desired.image
        else:
            replaced = image_replaced(mim, self.find_image(desired.image))
            if replaced:
                cmp.differ(replaced)
                cmp.before['image'] = '%s (content replaced since the mim was deployed)' % mim.get('image')
                cmp.after['image'] = desired.image

        if self.client.legacy or node_env is None:
            matches, reason = self.store.matches(self.store_key(desired.name), desired.image,
                                                 desired.fingerprint_env(), mim)
            if not matches:
                cmp.differ(reason)
                cmp.before['env'] = LEGACY_ENV_UNKNOWN
                cmp.after['env'] = mask_env(desired.env, desired.secret_keys)
                if desired.labels:
                    cmp.after['labels'] = dict(desired.labels)
        else:
            changes = env_changes(desired.node_env(), node_env, self.node_client_id(mim), desired.name)
            marker = changes.pop(SECRET_KEYS_KEY, None)
            if marker is not None and marker[0] is not None:
                # Which keys are secret changed: redeploy so the node's marker (what mcm_info masks) is right.
                # A node deployed before the marker existed (marker[0] is None) is not redeployed for it alone:
                # the marker comes with its next real change (or state=restarted); see docs/modules.md.
                cmp.differ('the env keys deployed as secret differ')
                cmp.before['secret_env_keys'] = sorted(decode_secret_keys(node_env))
                cmp.after['secret_env_keys'] = sorted(desired.secret_keys)
            if changes.pop(LABELS_KEY, None) is not None:
                old, new = decode_labels(node_env), desired.labels or {}
                if old != new:
                    keys = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
                    cmp.differ('labels differ in %s' % ', '.join(keys))
                    cmp.before['labels'] = old
                    cmp.after['labels'] = dict(new)
            if changes:
                cmp.differ('env differs in %s' % ', '.join(sorted(changes)))
                before, after = masked_env_diff(changes, secret_names(node_env, desired.secret_keys))
                cmp.before['env'] = before
                cmp.after['env'] = after
        return cmp

    # -------------------------------------------------------------- writing (through the recorder)

    def deploy(self, desired, existing=None):
        """Redeploy: DELETE the existing mim (if any), then POST the spec. Returns the node's mim ({} in check
        mode)."""
        if existing is not None:
            self.remove(existing)
        mim = self.recorder.change('deployed mim %s from image %s' % (desired.name, desired.image),
                                   self.client.deploy_mim, desired.spec())
        self._mims = None
        return mim if isinstance(mim, dict) else {}

    def remove(self, mim):
        remove_mim(self.client, self.recorder, mim)
        self._mims = None
        if self.store is not None and self.client.legacy and not self.recorder.check_mode:
            self.store.forget(self.store_key(mim.get('name')))

    def record(self, desired, mim):
        """Remember the fingerprint of what was deployed (legacy generation only; never in check mode), and its
        labels (not secret), so that a later task without ``labels`` keeps them."""
        if self.store is None or not self.client.legacy or self.recorder.check_mode:
            return
        key = self.store_key(desired.name)
        self.store.record(key, desired.image, desired.fingerprint_env(), mim)
        if desired.labels:
            labels = dict(desired.labels)

            def keep(data):
                entry = (data.get('mims') or {}).get(key)
                if isinstance(entry, dict):
                    entry['labels'] = labels
            self.store.update(keep)

    def recorded_labels(self, name):
        """The labels recorded with a legacy mim's fingerprint, or None."""
        if not self.client.legacy:
            return None
        entry = (self.store.load().get('mims') or {}).get(self.store_key(name))
        labels = entry.get('labels') if isinstance(entry, dict) else None
        if isinstance(labels, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in labels.items()):
            return labels
        return None

    def set_running(self, mim, running, name=None):
        """Start or stop a mim (legacy generation); ``name`` when ``mim`` is not deployed yet (check mode)."""
        name = (mim or {}).get('name') or name
        self.recorder.change('%s mim %s' % ('started' if running else 'stopped', name),
                             self.client.set_container_state, (mim or {}).get('id') or name,
                             'start' if running else 'stop', name)
        self._mims = None

    def wait_running(self, name, timeout, sleep, fallback=None):
        """Poll until the mim is running; raises :class:`MimNotRunning` carrying the last mim seen."""
        try:
            return poll_until(lambda: self.find_mim(name, refresh=True), is_running, timeout, sleep,
                              what='the mim %s to run' % name)
        except WaitTimeout as exc:
            last = exc.last if exc.last is not None else fallback
            raise MimNotRunning('the mim %s was not running and healthy after %s seconds (last state/status: %s)'
                                % (name, timeout, run_state(last)),
                                hint='raise wait_timeout, or check the mim log on the node', last=last)


# ------------------------------------------------------------------ mcm_mim: from the options to a Desired

def resolve_start_image(image, source, base_dir):
    """The image of a start.json, where seed 000 may name it by its archive (``"image": "hello-v1-1.0.0.tar"``):
    a value ending in ``.tar`` is read as a docker-save archive (relative to ``base_dir``, the start.json's
    directory) and replaced by the image inside it, the name the node gives it (its first RepoTag)."""
    if not isinstance(image, str) or not image.lower().endswith('.tar'):
        return image
    path = os.path.expanduser(image)
    if not os.path.isabs(path):
        path = os.path.join(base_dir or os.getcwd(), path)
    if not os.path.isfile(path):
        raise SpecError('%s: image %s names an image archive, but %s does not exist' % (source, image, path),
                        hint='put the archive there (a path is relative to the directory of the start.json, on the '
                             'host that runs the task), or set image to the image name as uploaded with '
                             'mimoe.edge.mcm_image (for example %s)' % os.path.basename(image).split('-')[0])
    try:
        return inspect_image_tar(path)['name']
    except ImageArchiveError as exc:
        raise SpecError('%s: image %s: %s' % (source, image, exc.message), hint=exc.hint)


def desired_from_params(params):
    """Build a :class:`Desired` from the mcm_mim options; raises :class:`SpecError` (``Invalid mim spec: ...``)."""
    try:
        return _desired_from_params(params)
    except SpecError as exc:
        raise SpecError('Invalid mim spec: %s' % exc.message, hint=exc.hint)


def _desired_from_params(params):
    if params.get('start_file'):
        path = params['start_file']
        try:
            with open(path, 'r') as handle:
                text = handle.read()
        except (IOError, OSError) as exc:
            raise SpecError('start_file: cannot read %s (%s); it is read on the host that runs the task' % (path, exc))
        spec = spec_from_start_json(text, 'start_file')
        spec['image'] = resolve_start_image(spec['image'], 'start_file', os.path.dirname(os.path.abspath(path)))
    elif params.get('payload') is not None:
        spec = spec_from_start_json(params['payload'], 'payload')
        spec['image'] = resolve_start_image(spec['image'], 'payload', None)
    else:
        spec = dict(name=params['name'], image=params['image'], env=params.get('env') or {})
        checked = dict(spec)
        if checked['image'] is None:
            checked['image'] = 'unset'
        errors = validate(checked, MIM_SPEC_SCHEMA)
        if errors:
            raise SpecError('; '.join(errors))
    secret_env = params.get('secret_env') or {}
    labels = params.get('labels')
    errors = validate({'name': spec['name'], 'image': spec['image'] or 'unset', 'secret_env': secret_env},
                      MIM_SPEC_SCHEMA)
    if labels is not None:
        errors += validate({'labels': labels}, _LABELS_ONLY_SCHEMA)
    if errors:
        raise SpecError('; '.join(errors))
    env, secret_keys = merge_env(spec['env'], secret_env)
    return Desired(spec['name'], spec['image'], env, secret_keys, labels)


# ------------------------------------------------------------------ mcm_mim: the state machine

class MimStateManager(object):
    """Converges one mim to ``state`` (``state_present()``, ``state_absent()``...), for M(mimoe.edge.mcm_mim).

    ``mims`` is a :class:`MimManager` (its recorder decides check mode); ``options`` holds ``state``, ``wait``,
    ``wait_timeout``, ``wait_sleep``, ``health`` (None or the options of :mod:`._health`) and
    ``restart_on_failure``. :meth:`run` returns the module result; failures are :class:`MimoeError`.
    """

    def __init__(self, mims, desired, options):
        self.mims = mims
        self.client = mims.client
        self.recorder = mims.recorder
        self.desired = desired
        self.opts = options
        self.state = options['state']
        self.mim = None
        self.reasons = []
        self.diff = dict(before={}, after={})
        self.health = None

    # -------------------------------------------------------------- entry points

    def run(self):
        if self.state == 'stopped' and not self.client.legacy:
            raise InputError('state=stopped is not possible on this node: the current MCM API generation has no stop '
                             'call (a mim runs while it is deployed). Use state=absent to remove the mim, or '
                             'state=restarted to restart it')
        self.mim = self.mims.find_mim(self.desired.name)
        getattr(self, 'state_%s' % self.state)()
        return self.result()

    def failure_result(self, exc):
        """What a failed run returns next to ``msg``: whether it changed the node, the last mim seen."""
        result = dict(changed=self.recorder.changed, reasons=self.reasons)
        last = exc.last if isinstance(exc, WaitTimeout) else self.mim
        if isinstance(last, dict):
            result['mim'] = mask_mim(last, self.desired.secret_keys)
        if self.health is not None:
            result['health'] = self.health
        return result

    def result(self):
        result = dict(changed=self.recorder.changed, reasons=self.reasons,
                      diff=self.diff if self.recorder.changed else dict(before={}, after={}))
        if self.mim is not None:
            result['mim'] = mask_mim(self.mim, self.desired.secret_keys)
            # The labels after the task: as the node stores them, or as they would be (check mode, legacy API).
            node_env = env_as_dict(self.mim.get('env'))
            labels = self.desired.labels
            if node_env is not None and (labels is None or not self.recorder.check_mode):
                labels = decode_labels(node_env)
            result['labels'] = dict(labels or {})
        if self.health is not None:
            result['health'] = self.health
        return result

    # -------------------------------------------------------------- states

    def state_absent(self):
        mim, name = self.mim, self.desired.name
        if mim is not None:
            self.reasons.append('the mim %s is deployed' % name)
            before = {'state': 'present', 'image': mim.get('image')}
            labels = decode_labels(env_as_dict(mim.get('env')))
            if labels:
                before['labels'] = labels
            self.diff = dict(before=before, after={'state': 'absent'})
            self.mims.remove(mim)
        elif self.client.legacy and self.mims.store is not None and not self.recorder.check_mode:
            self.mims.store.forget(self.mims.store_key(name))
        self.mim = None

    def state_present(self):
        self._converge()

    def state_started(self):
        self._converge()

    def state_restarted(self):
        self._converge()

    def state_stopped(self):
        self._converge()

    # -------------------------------------------------------------- the steps

    def _compare(self):
        desired = self.desired
        if desired.image is None:  # state=stopped without a spec: stop the mim as it is
            if self.mim is None:
                raise InputError('The mim %s is not deployed; give image (and env) to deploy it stopped'
                                 % desired.name)
            return Comparison()
        if self.mims.find_image(desired.image) is None:
            message = self.mims.missing_images_message([desired.image])
            if not self.recorder.check_mode:
                raise InputError(message)
            self.recorder.warn(message + ' (check mode: assuming an earlier task uploads it)')
        return self.mims.compare(desired, self.mim)

    def _converge(self):
        desired, state, legacy, mim = self.desired, self.state, self.client.legacy, self.mim
        cmp = self._compare()
        # The current API has no start call: a stopped or crashed mim is brought back by redeploying it.
        revive = state == 'started' and not legacy and mim is not None and cmp.equal and not is_running(mim)
        redeploy = not cmp.equal or (state == 'restarted' and not legacy) or revive
        self.reasons.extend(cmp.reasons)
        self.diff = dict(before=cmp.before, after=cmp.after)
        if revive:
            self.reasons.append('state=started and the mim is %s: redeploying it (the current API generation '
                                'has no start call)' % run_state(mim))
            self.diff = dict(before={'state': run_state(mim)}, after={'state': 'started'})
        if redeploy:
            if state == 'restarted' and cmp.equal:
                self.reasons.append('state=restarted: the current API generation restarts by redeploying')
            self._redeploy()
            if state == 'stopped':
                self.mims.set_running(self.mim, False, desired.name)
                self._refresh()
        elif legacy and mim is not None:
            self._legacy_steps()
        if state != 'stopped':
            self._check_health()

    def _redeploy(self):
        deployed = self.mims.deploy(self.desired, self.mim)
        if self.recorder.check_mode:
            return  # the result shows the mim as it is before the task
        self.mim = deployed or self.mim
        if self.opts['wait']:
            self.mim = self.mims.wait_running(self.desired.name, self.opts['wait_timeout'], self.opts['wait_sleep'],
                                              self.mim)
        else:
            self._refresh()
        self.mims.record(self.desired, self.mim)

    def _legacy_steps(self):
        """Start and stop calls of the legacy generation, for a mim whose spec is up to date."""
        state, mim = self.state, self.mim
        running = is_running(mim)
        steps = []
        if state == 'restarted':
            steps = [False, True] if running else [True]
        elif state == 'started' and not running:
            steps = [True]
        elif state == 'stopped' and running:
            steps = [False]
        if not steps:
            return
        self.reasons.append('state=%s and the mim is %s' % (state, run_state(mim)))
        if state != 'restarted':
            self.diff = dict(before={'state': run_state(mim)}, after={'state': 'started' if steps[-1] else 'stopped'})
        for step in steps:
            self.mims.set_running(mim, step)
        if self.recorder.check_mode:
            return
        if steps[-1] and self.opts['wait']:
            self.mim = self.mims.wait_running(self.desired.name, self.opts['wait_timeout'], self.opts['wait_sleep'],
                                              mim)
        else:
            self._refresh()

    def _refresh(self):
        if not self.recorder.check_mode:
            self.mim = self.mims.find_mim(self.desired.name, refresh=True) or self.mim

    def _restart(self):
        """Restart the mim once (health failed and restart_on_failure): stop and start on the legacy generation,
        a redeploy of the same spec on the current one."""
        if self.client.legacy:
            if is_running(self.mim):
                self.mims.set_running(self.mim, False)
            self.mims.set_running(self.mim, True)
            self.mim = self.mims.wait_running(self.desired.name, self.opts['wait_timeout'], self.opts['wait_sleep'],
                                              self.mim)
        else:
            self._redeploy()

    def _check_health(self):
        """The health check through the node (``health``), after the mim runs; never in check mode."""
        health = self.opts.get('health')
        if not health or not health.get('enabled', True) or self.recorder.check_mode or self.mim is None:
            return
        # Imported here: _health builds on this module (the base path rules).
        from ansible_collections.mimoe.edge.plugins.module_utils import _health
        env = self.desired.env or env_as_dict(self.mim.get('env')) or {}
        url = _health.health_url(self.client.base_url, self.mims.node_client_id(self.mim), env, self.desired.name,
                                 health.get('base_path'), health.get('path'))
        verify = _health.client_verify(self.client)
        try:
            answer = _health.check_health(url, health, verify, cert=_health.client_cert(self.client))
        except _health.HealthError as first:
            if not self.opts.get('restart_on_failure') or first.url is None:  # url None: the options are wrong
                raise self._unhealthy(first, restarted=False)
            self.reasons.append('the health check failed (%s): restarting the mim once (restart_on_failure)'
                                % first.message)
            self._restart()
            try:
                answer = _health.check_health(url, health, verify, cert=_health.client_cert(self.client))
            except _health.HealthError as second:
                raise self._unhealthy(second, restarted=True)
            self.health = dict(url=url, status=answer['status'], healthy=True, restarted=True)
            return
        self.health = dict(url=url, status=answer['status'], healthy=True, restarted=False)

    def _unhealthy(self, exc, restarted):
        answer = exc.answer or {}
        self.health = dict(url=exc.url, status=answer.get('status'), healthy=False, restarted=restarted)
        hint = exc.hint or ('check the mim log on the node; if the check itself is wrong, fix health.path, '
                            'health.status or health.body_regex')
        after = ' after a restart (restart_on_failure)' if restarted else ''
        return MimUnhealthy('The mim %s on %s is not healthy%s: %s' % (
            self.desired.name, self.client.base_url, after, exc.message), hint=hint, url=exc.url)


class MimUnhealthy(MimoeError):
    """The mim runs but its health check failed (through the node)."""

    def __init__(self, message, hint=None, url=None):
        super(MimUnhealthy, self).__init__(message, hint=hint, method='GET', url=url)
