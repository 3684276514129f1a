# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""HTTP client for the MCM API (``/mcm/v1``) of a mimik mimOE edge node.

This is private to the collection (note the ``_`` prefix): its interface can change
between minor releases without notice.

One client object talks to one node, through the sessions of ``_http`` (shared with the registry client), with:

* ``Authorization: Bearer <token>`` and, when a client ID is given, ``x-client-id``;
* a deadline of ``timeout`` seconds for each attempt as a whole (connection, headers, body: see ``_transport``)
  and answers capped at ``max_answer_bytes``;
* retries with exponential backoff on connection errors and on 5xx answers,
  for idempotent methods (GET, HEAD, PUT, DELETE, OPTIONS). A POST (upload, deploy, datastore) is retried only
  when that is safe: after a 5xx or a connection that broke without an answer, the client first reads
  the node's state (``verify``) and sends the POST again only if it did not take effect, so a write is never
  applied twice. A POST that timed out is not retried (the node may still be applying it);
* TLS verification on by default (``validate_certs``, ``ca_path``) and an optional client certificate
  (``client_cert``, ``client_key``) for nodes behind mutual TLS.

Reading image archives is in ``_image_archive``; digest rules in ``_digest``.

Every failure (HTTP error, connection error, timeout, unreadable answer) is raised as
:class:`MCMError`, whose message never contains the token.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import time

from ansible_collections.mimoe.edge.plugins.module_utils._digest import is_digest, node_image_digest, same_digest
from ansible_collections.mimoe.edge.plugins.module_utils._errors import MimoeError
from ansible_collections.mimoe.edge.plugins.module_utils._http import (  # noqa: F401 pylint: disable=unused-import
    DEFAULT_RETRIES, DEFAULT_TIMEOUT, HAS_REQUESTS, IDEMPOTENT_METHODS, REQUESTS_IMPORT_ERROR, RETRY_STATUSES,
    Sessions, TLSOptions, build_retry, mask_secret,
)
from ansible_collections.mimoe.edge.plugins.module_utils._image_archive import (
    file_digest, image_matches,
)
from ansible_collections.mimoe.edge.plugins.module_utils._transport import (
    MAX_ANSWER_BYTES, AnswerError, deadline, escape_control, read_answer, refuse_url_credentials,
)

try:
    import requests
except ImportError:  # HAS_REQUESTS (from _http) says so
    pass


API_PREFIX = '/mcm/v1'
API_CURRENT = 'current'
API_LEGACY = 'legacy'


class MCMError(MimoeError):
    """Every failure of an MCM call.

    :ivar status: the HTTP status, or ``None`` when there was no HTTP answer.
    :ivar server_message: what the node said (token masked), or ``None``.
    :ivar hint: what the user can do about it.
    :ivar method: HTTP method of the failed call, if any.
    :ivar url: URL of the failed call, if any.
    """

    def __init__(self, message, status=None, server_message=None, hint=None, method=None, url=None,
                 unanswered=False):
        # True when the connection broke before any answer (not a timeout): the node may or may not have
        # handled the request; a write is then retried only after checking the node's state.
        self.unanswered = unanswered
        self.server_message = server_message
        super(MCMError, self).__init__(message, hint=hint, status=status, method=method, url=url)

    @property
    def write_retryable(self):
        """Whether a POST that failed like this may be sent again once the node's state shows it did not apply."""
        return self.unanswered or self.status in RETRY_STATUSES

    def to_dict(self):
        """What modules return next to ``msg`` when a call failed."""
        result = super(MCMError, self).to_dict()
        result['server_message'] = self.server_message
        return result


def _strip_html(text):
    text = re.sub(r'(?is)<(script|style).*?</\1>', ' ', text)
    text = re.sub(r'<[^>]+>', ' ', text)
    return re.sub(r'\s+', ' ', text).strip()


def server_message(response):
    """The node's error text, parsed defensively.

    Understands ``{"error": {"code", "message"}}``, ``{"error": "text"}``, ``{"message": "text"}``,
    plain text and HTML. Long text is cut at 500 characters.
    """
    text = response.text or ''
    message = None
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        error = body.get('error')
        if isinstance(error, dict):
            message = error.get('message') or error.get('msg') or error.get('reason')
        elif isinstance(error, str):
            message = error
        if not message and isinstance(body.get('message'), str):
            message = body['message']
        if not message and isinstance(body.get('msg'), str):
            message = body['msg']
        if message is not None and not isinstance(message, str):
            message = json.dumps(message, sort_keys=True)  # a node answering {"error": {"message": 1}}
        if not message:
            message = json.dumps(body, sort_keys=True)
    elif body is not None:
        message = json.dumps(body)
    else:
        message = _strip_html(text) if '<' in text else text.strip()
    if not message:
        message = response.reason or ''
    if len(message) > 500:
        message = message[:500] + '...'
    return message


def status_hint(status, resource=None, conflict=None):
    if status in (401, 403):
        return ('check the MCM API key or edge access token (mcm_token / MCM_TOKEN); an edge access token '
                'must carry the scope edge:mcm, and x-client-id (client_id) must be a client the token may act for')
    if status == 404:
        return '%s was not found on the node' % (resource or 'the resource')
    if status == 409:
        return conflict or ('the request conflicts with the state of the node (%s)' % (resource or 'resource'))
    if status == 400:
        return 'the node rejected the request body; check the image archive and the mim spec'
    if status == 413:
        return 'the image archive is too large for the node'
    if status in (502, 503, 504):
        return 'the node or a proxy in front of it is unavailable; idempotent calls were retried (option retries)'
    if status is not None and status >= 500:
        return 'the node failed to handle the request (reads were retried, option retries); see its log'
    return None


class MCMClient(object):
    """A client of one node's MCM API.

    :param url: base URL of the node (``https://node:8083``); a trailing ``/mcm/v1`` is accepted.
    :param token: MCM API key or edge access token (sent as ``Authorization: Bearer``).
    :param client_id: sent as ``x-client-id`` when set.
    :param api_version: ``auto`` (detect once), ``current`` or ``legacy``.
    """

    def __init__(self, url, token, client_id=None, validate_certs=True, ca_path=None,
                 timeout=DEFAULT_TIMEOUT, retries=DEFAULT_RETRIES, api_version='auto',
                 max_answer_bytes=MAX_ANSWER_BYTES, client_cert=None, client_key=None):
        if not HAS_REQUESTS:
            raise MCMError('The Python library requests is required on the host that runs the task')
        if not url:
            raise MCMError('mcm_url is empty', hint='set mcm_url or the environment variable MCM_URL')
        refuse_url_credentials('mcm_url', url, MCMError)
        if not re.match(r'^https?://', url):
            raise MCMError('mcm_url must start with http:// or https://, got %s' % escape_control(url))
        if not token:
            raise MCMError('mcm_token is empty', hint='set mcm_token or the environment variable MCM_TOKEN')
        _check_header_value('mcm_token', token, secret=True)
        if client_id:
            _check_header_value('client_id', client_id)
        base = url.rstrip('/')
        if base.endswith(API_PREFIX):
            base = base[:-len(API_PREFIX)]
        self.base_url = base
        self.token = token
        self.client_id = client_id
        try:
            self.timeout = float(timeout)
        except (TypeError, ValueError):
            raise MCMError('timeout must be a number of seconds, got %r' % (timeout,))
        if not 0 < self.timeout <= 86400:
            raise MCMError('timeout must be more than 0 and at most 86400 seconds, got %s' % timeout)
        self._api_version = None if api_version in (None, 'auto') else api_version
        if self._api_version not in (None, API_CURRENT, API_LEGACY):
            raise MCMError('api_version must be one of auto, current, legacy; got %s' % api_version)
        try:
            retry = build_retry(retries)
        except ValueError as exc:
            raise MCMError(str(exc))
        self.retry = retry

        headers = {'Authorization': 'Bearer %s' % token, 'Accept': 'application/json'}
        if client_id:
            headers['x-client-id'] = client_id
        self.tls = TLSOptions(validate_certs, ca_path, client_cert, client_key, peer='node', error=MCMError)
        self.max_answer_bytes = max_answer_bytes
        # Idempotent calls: retried per self.retry; POSTs without any retry (see _http).
        self.sessions = Sessions(retry, self.tls, headers)

    @property
    def _session(self):
        # Callers that reach the node outside the MCM API (a mim's health URL) read its TLS settings here.
        return self.sessions.retrying

    # ---------------------------------------------------------------- low level

    def url_for(self, path):
        return '%s%s%s' % (self.base_url, API_PREFIX, path)

    def _mask(self, text):
        return escape_control(mask_secret(text, [self.token]))

    def request(self, method, path, json_body=None, files=None, params=None, resource=None, conflict=None,
                ok_missing=False):
        """Send one call and return the decoded JSON answer (``None`` for an empty body).

        :param resource: human description of the target, used in the 404 hint.
        :param conflict: human description of what may conflict, used in the 409 hint.
        :param ok_missing: return ``None`` on 404 instead of raising.
        :raises MCMError: for any failure.
        """
        method = method.upper()
        url = self.url_for(path)
        # One deadline per attempt for the whole answer (connect, headers, body): see _transport.
        with deadline(self.timeout) as dog:
            try:
                response = self.sessions.request(method, url, json=json_body, files=files, params=params,
                                                 timeout=(self.timeout, self.timeout), allow_redirects=False,
                                                 stream=True)
                read_answer(response, dog, self.max_answer_bytes)
            except AnswerError as exc:
                if exc.timed_out:
                    raise MCMError('No answer from %s within the timeout of %s seconds (%s %s: %s)'
                                   % (url, self.timeout, method, 'WholeAnswerTimeout', exc), method=method,
                                   url=url, hint=_timeout_hint(method))
                if exc.broken:
                    raise MCMError('%s %s: %s' % (method, url, exc), method=method, url=url, unanswered=True,
                                   hint='check that the node is running and the network between it and this host')
                raise MCMError('%s %s: %s' % (method, url, exc), method=method, url=url,
                               hint='the node answered far more than an MCM answer holds; check mcm_url')
            except requests.exceptions.SSLError as exc:
                raise MCMError('TLS error talking to %s: %s' % (url, self._mask(exc)), method=method, url=url,
                               hint=self.tls.hint(exc))
            except (requests.exceptions.ConnectTimeout, requests.exceptions.ReadTimeout) as exc:
                raise MCMError('No answer from %s within the timeout of %s seconds (%s %s)'
                               % (url, self.timeout, method, type(exc).__name__), method=method, url=url,
                               hint=_timeout_hint(method))
            except requests.exceptions.RetryError as exc:
                raise MCMError('%s %s failed after retries: %s' % (method, url, self._mask(exc)),
                               method=method, url=url, hint=status_hint(503))
            except (requests.exceptions.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
                if dog.fired or _is_read_timeout(exc):
                    raise MCMError('No answer from %s within the timeout of %s seconds (%s ReadTimeout)'
                                   % (url, self.timeout, method), method=method, url=url,
                                   hint=_timeout_hint(method))
                raise MCMError('Cannot connect to %s (timeout %s seconds): %s'
                               % (url, self.timeout, self._mask(exc)), method=method, url=url, unanswered=True,
                               hint='check mcm_url (scheme, host and port: the node API listens on 8083 by '
                                    'default) and that the node is running')
            except requests.exceptions.RequestException as exc:
                raise MCMError('%s %s failed: %s' % (method, url, self._mask(exc)), method=method, url=url)

        if response.status_code == 404 and ok_missing:
            return None
        if response.status_code >= 300:
            message = self._mask(server_message(response))
            raise MCMError('%s %s answered %s: %s' % (method, url, response.status_code, message),
                           status=response.status_code, server_message=message,
                           hint=status_hint(response.status_code, resource, conflict), method=method, url=url)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise MCMError('%s %s answered %s with a body that is not JSON: %s'
                           % (method, url, response.status_code, self._mask(response.text[:200])),
                           status=response.status_code, method=method, url=url,
                           hint='check that mcm_url points to the node API port, not to the mim port or a proxy page')

    def write_with_verify(self, send, verify, what):
        """Send a write (``send()``) and retry it only when that is safe.

        After a 5xx answer or a connection that broke without an answer, ``verify()`` reads the node:
        it returns the resource when the write did take effect (the answer was lost), else ``None``; only then is
        the write sent again, up to ``retries`` times with exponential backoff. Timeouts and other errors are
        raised at once. If the node cannot be read either, the first error is raised.
        """
        attempts = self.retry.total if isinstance(self.retry.total, int) and self.retry.total > 0 else 0
        backoff = self.retry.backoff_factor or 0
        attempt = 0
        while True:
            try:
                return send()
            except MCMError as exc:
                if attempt >= attempts or not exc.write_retryable:
                    if attempt:
                        exc.message = '%s (after %d attempts to %s)' % (exc.message, attempt + 1, what)
                    raise
                try:
                    done = verify()
                except MCMError:
                    raise exc
                if done is not None:
                    return done
            time.sleep(min(backoff * (2 ** attempt), 10))
            attempt += 1

    @staticmethod
    def unwrap(body):
        """``{"data": X}`` -> X; anything else unchanged."""
        if isinstance(body, dict) and 'data' in body and len(body) <= 2:
            return body['data']
        return body

    def _list(self, path):
        data = self.unwrap(self.request('GET', path))
        if data is None:
            return []
        if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
            raise MCMError('GET %s answered %s, expected a list of objects (or {"data": [...]})'
                           % (self.url_for(path), _describe(data)),
                           hint='check that mcm_url points to the MCM API of a mimOE node')
        return data

    # ---------------------------------------------------------------- generation

    @property
    def api_version(self):
        """``current`` or ``legacy``: detected once (GET /mims 200 -> current, 404 -> legacy)."""
        if self._api_version is None:
            body = self.request('GET', '/mims', ok_missing=True)
            if body is not None:
                self._api_version = API_CURRENT
            else:
                legacy = self.request('GET', '/containers', ok_missing=True)
                if legacy is None:
                    raise MCMError('%s answers neither /mcm/v1/mims nor /mcm/v1/containers' % self.base_url,
                                   status=404, hint='check mcm_url: it must be the node API (port 8083 by default)')
                self._api_version = API_LEGACY
        return self._api_version

    @property
    def known_api_version(self):
        """The generation when it is known already (given, or detected by an earlier call), else ``None``:
        reading it never calls the node."""
        return self._api_version

    @property
    def legacy(self):
        return self.api_version == API_LEGACY

    @property
    def _mims_path(self):
        return '/containers' if self.legacy else '/mims'

    # ---------------------------------------------------------------- images

    def list_images(self):
        """The node's images; a ``digest`` that is not ``sha256:<64 hex>`` is reported as ``None``, because callers
        turn digests into controller paths (the image cache) and names."""
        images = self._list('/images')
        for image in images:
            if image.get('digest') is not None and not is_digest(image['digest']):
                image['digest'] = None
        return images

    def find_image(self, name):
        """The image called ``name`` (or whose id is ``name``), or ``None``."""
        for image in self.list_images():
            if image_matches(image, name):
                return image
        return None

    def upload_image(self, path, filename=None, digest=None):
        """Multipart upload (field ``image``, ``application/x-tar``); never sends ``Expect: 100-continue``.

        Retried (see :meth:`write_with_verify`) only when the node does not list an image with the archive's
        ``digest`` (computed when not given) after a failed attempt.
        """
        try:
            handle = open(path, 'rb')
        except (IOError, OSError) as exc:
            # An MCMError: the upload failed (a release reports the step), the archive was checked before.
            raise MCMError('Cannot read image archive %s: %s' % (path, exc))
        expected = []

        def send():
            handle.seek(0)
            files = {'image': (filename or os.path.basename(path), handle, 'application/x-tar')}
            return self.unwrap(self.request('POST', '/images', files=files, resource='image upload',
                                            conflict='an image with this name already exists on the node'))

        def uploaded():
            if not expected:
                expected.append(digest or file_digest(path))
            for image in self.list_images():
                if same_digest(image_digest(image), expected[0]):
                    return image
            return None

        try:
            return self.write_with_verify(send, uploaded, 'upload %s' % os.path.basename(path))
        finally:
            handle.close()

    def pull_image(self, url):
        """Ask the node to fetch the image from ``url``."""
        return self.unwrap(self.request('POST', '/images', json_body={'url': url},
                                        params={'mode': 'reference'} if self.legacy else None,
                                        resource='image at %s' % url,
                                        conflict='an image with this name already exists on the node'))

    def delete_image(self, image_id, name=None, users=None):
        conflict = 'image %s is still used by a mim' % (name or image_id)
        if users:
            conflict = 'image %s is used by the mims %s; remove them first' % (name or image_id, ', '.join(users))
        return self.unwrap(self.request('DELETE', '/images/%s' % quote(image_id),
                                        resource='image %s' % (name or image_id), conflict=conflict,
                                        ok_missing=True))

    # ---------------------------------------------------------------- mims

    def list_mims(self):
        """Mims (current) or containers (legacy), in the node's shape."""
        return self._list(self._mims_path)

    def find_mim(self, name):
        for mim in self.list_mims():
            if mim.get('name') == name or mim.get('id') == name:
                return mim
        return None

    def deploy_mim(self, spec):
        """POST a MimSpec ``{"name", "image", "env"}``; returns the node's mim."""
        body = dict(name=spec['name'], image=spec['image'], env=dict(spec.get('env') or {}))

        def send():
            return self.unwrap(self.request('POST', self._mims_path, json_body=body,
                                            resource='image %s' % spec['image'],
                                            conflict='a mim called %s already exists' % spec['name']))

        def deployed():
            mim = self.find_mim(spec['name'])
            return mim if mim is not None and mim.get('image') == spec['image'] else None

        return self.write_with_verify(send, deployed, 'deploy the mim %s' % spec['name'])

    def delete_mim(self, mim_id, name=None):
        return self.unwrap(self.request('DELETE', '%s/%s' % (self._mims_path, quote(mim_id)),
                                        resource='mim %s' % (name or mim_id), ok_missing=True))

    def set_container_state(self, mim_id, action, name=None):
        """Legacy only: ``PUT /containers/{id}`` ``{"action": "start"|"stop"}``."""
        if not self.legacy:
            raise MCMError('Starting and stopping a mim needs the legacy MCM API; this node runs the current one')
        return self.unwrap(self.request('PUT', '/containers/%s' % quote(mim_id), json_body={'action': action},
                                        resource='mim %s' % (name or mim_id)))

    # ---------------------------------------------------------------- compositions and datastore

    def deploy_composition(self, specs):
        """Current only: ``POST /compositions {"mims": [...]}`` -> list of mims."""
        body = {'mims': [dict(name=s['name'], image=s['image'], env=dict(s.get('env') or {})) for s in specs]}

        def send():
            return self.unwrap(self.request('POST', '/compositions', json_body=body,
                                            resource='compositions endpoint',
                                            conflict='a mim of the composition already exists'))

        def deployed():  # the node deploys a composition all or nothing
            mims = dict((m.get('name'), m) for m in self.list_mims() if isinstance(m, dict))
            found = [mims.get(s['name']) for s in specs]
            if all(m is not None and m.get('image') == s['image'] for m, s in zip(found, specs)):
                return found
            return None

        result = self.write_with_verify(send, deployed, 'deploy the composition')
        if isinstance(result, dict) and isinstance(result.get('mims'), list):
            result = result['mims']
        return result if isinstance(result, list) else []

    def datastore(self, mim_id, action=None, path=None, name=None):
        """Start a datastore backup/restore (``action`` given) or read its progress (no action)."""
        resource = 'mim %s' % (name or mim_id)
        if action is None:
            return self.unwrap(self.request('GET', '/mims/%s/dataStore' % quote(mim_id), resource=resource))

        def send():
            return self.unwrap(self.request('POST', '/mims/%s/dataStore' % quote(mim_id),
                                            json_body={'action': action, 'path': path}, resource=resource,
                                            conflict='a datastore operation is already running for %s' % resource))

        def started():
            # Our operation runs if the node's latest one is this action on this path, in progress. A completed
            # one may be older: repeating a backup or a restore of the same path is harmless, so send it again.
            latest = self.unwrap(self.request('GET', '/mims/%s/dataStore' % quote(mim_id), ok_missing=True))
            if isinstance(latest, dict) and latest.get('status') == 'inProgress' \
                    and latest.get('action') == action and latest.get('path') == path:
                return latest
            return None

        return self.write_with_verify(send, started, '%s the datastore of %s' % (action, resource))


def _check_header_value(option, value, secret=False):
    """Values sent in HTTP headers: printable ASCII without spaces, else a clear error (never the secret itself)."""
    bad = [c for c in str(value) if not 33 <= ord(c) <= 126]
    if bad:
        shown = '' if secret else ' (%r)' % (value,)
        raise MCMError('%s%s holds %d character(s) that cannot be sent in an HTTP header (spaces, line breaks or '
                       'non-ASCII characters)' % (option, shown, len(bad)),
                       hint='check that %s is copied whole and alone, without quotes or a "Bearer " prefix' % option)


def _describe(value):
    """A short description of an unexpected JSON value, for error messages (never the whole value)."""
    if isinstance(value, list):
        kinds = sorted(set(type(item).__name__ for item in value))
        return 'a list of %s' % (', '.join(kinds) or 'nothing')
    return 'a %s' % type(value).__name__


def _timeout_hint(method):
    hint = 'check that the node is up and reachable, or raise timeout'
    if method not in IDEMPOTENT_METHODS:
        hint += ('; this write was not retried as the node may still apply it: re-running the task is safe '
                 '(it reads the node first)')
    return hint


def _is_read_timeout(exc):
    """Whether a requests ConnectionError wraps a urllib3 read timeout (after retries were used up)."""
    reason = exc.args[0] if exc.args else None
    reason = getattr(reason, 'reason', reason)
    return type(reason).__name__ == 'ReadTimeoutError'


def quote(value):
    try:
        from urllib.parse import quote as _quote
    except ImportError:  # pragma: no cover
        from urllib import quote as _quote
    return _quote(str(value), safe='')


def image_digest(image):
    """The normalised content digest a node reports for an image (``sha256:`` + 64 hex, or None): see
    ``_digest.node_image_digest``, the one rule shared by every module, the inventory plugin and the fleet report."""
    return node_image_digest(image)
