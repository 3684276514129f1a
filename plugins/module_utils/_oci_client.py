# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Client of an OCI (Registry V2) registry, for the mim catalog.

Private to the collection (note the ``_`` prefix): the interface can change without notice.

The protocol parts that the ``oras`` package does correctly are delegated to it: URL building
(``oras.container.Container``), blob existence checks and the monolithic blob upload (POST then PUT with a
relative or absolute ``Location``), paginated tag lists (a ``null`` tag list is empty) and blob GETs.

What this module does itself, and why:

* transport: ``oras`` retries every failed request five times with sleeps up to 83 seconds and has no
  timeout; a task must fail fast and clearly. Our ``do_request`` replaces the one of the ``oras`` registry
  object: the sessions of ``_http`` (shared with the node client: urllib3 retries of idempotent methods only,
  TLS options with an optional client certificate) and the whole-answer deadlines of ``_transport``.
* authentication: the scheme is picked from the registry's ``WWW-Authenticate`` challenge. ``Basic`` (htpasswd
  registries: CNCF distribution, Izuma) sends the credentials; ``Bearer`` runs the token flow (realm, service,
  scope, credentials optional) with one token per scope, because a pull token does not allow a push.
  ``oras``'s default token backend treats a Basic realm as a URL, and reuses one token for every scope.
  An ``identitytoken`` (Docker auth file) is exchanged with the OAuth2 refresh-token grant.
* credentials: given, or read for the registry's exact host from a Docker / Podman auth file
  (:func:`registry_credentials`).
* manifests: pushed as the exact bytes we serialised (so that the digest is known before the push, which is
  what makes a re-publish a no-op) and pulled with OCI ``Accept`` headers (a registry answers 404 without them).

Every failure is raised as :class:`OCIError`; the password never appears in a message.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import binascii
import hashlib
import json
import os
import re
import shutil
import tempfile
import traceback

from ansible.module_utils.basic import env_fallback

from ansible_collections.mimoe.edge.plugins.module_utils._errors import MimoeError
from ansible_collections.mimoe.edge.plugins.module_utils._http import (  # noqa: F401 pylint: disable=unused-import
    DEFAULT_TIMEOUT, HAS_REQUESTS, REQUESTS_IMPORT_ERROR, Sessions, TLSOptions, build_retry, mask_secret,
)
from ansible_collections.mimoe.edge.plugins.module_utils._transport import (
    MAX_ANSWER_BYTES, AnswerError, deadline, escape_control, read_answer, refuse_url_credentials,
)

try:
    import requests
except ImportError:  # HAS_REQUESTS (from _http) says so
    pass

try:
    import oras.container
    import oras.provider
except ImportError:
    HAS_ORAS = False
    ORAS_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_ORAS = True
    ORAS_IMPORT_ERROR = None


MEDIA_MANIFEST = 'application/vnd.oci.image.manifest.v1+json'
MEDIA_INDEX = 'application/vnd.oci.image.index.v1+json'
MEDIA_EMPTY = 'application/vnd.oci.empty.v1+json'
EMPTY_CONFIG = b'{}'
EMPTY_DIGEST = 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a'
MANIFEST_ACCEPT = ', '.join([
    MEDIA_MANIFEST, MEDIA_INDEX,
    'application/vnd.docker.distribution.manifest.v2+json',
    'application/vnd.docker.distribution.manifest.list.v2+json',
])

REPOSITORY_RE = re.compile(r'^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$')
TAG_RE = re.compile(r'^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$')
DIGEST_RE = re.compile(r'^sha256:[0-9a-f]{64}$')

_CHUNK = 1024 * 1024


class OCIError(MimoeError):
    """Every failure of a registry call.

    :ivar status: HTTP status, or ``None`` when there was no HTTP answer.
    :ivar code: the first OCI error code of the answer (``MANIFEST_UNKNOWN``, ``UNAUTHORIZED``...), if any.
    """

    def __init__(self, message, status=None, code=None, hint=None, method=None, url=None):
        self.code = code
        super(OCIError, self).__init__(message, hint=hint, status=status, method=method, url=url)

    def to_dict(self):
        result = super(OCIError, self).to_dict()
        result['code'] = self.code
        return result


def canonical_json(value):
    """The bytes we push for a manifest or index: sorted keys, no spaces (stable, so the digest is too)."""
    return json.dumps(value, sort_keys=True, separators=(',', ':')).encode('utf-8')


def sha256_digest(data):
    return 'sha256:' + hashlib.sha256(data).hexdigest()


def parse_challenge(header):
    """``Bearer realm="x",service="y",scope="z"`` -> ``('bearer', {'realm': 'x', ...})``."""
    if not header:
        return None, {}
    scheme, _sep, rest = header.strip().partition(' ')
    params = dict((k.lower(), v) for k, v in re.findall(r'([A-Za-z]+)="([^"]*)"', rest))
    return scheme.lower(), params


def oci_error_of(response):
    """``(code, message)`` of an OCI error body ``{"errors": [{"code", "message", "detail"}]}``."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get('errors'), list) and body['errors']:
        first = body['errors'][0] if isinstance(body['errors'][0], dict) else {}
        return first.get('code'), first.get('message') or first.get('code')
    text = (response.text or '').strip()
    return None, (text[:300] or response.reason or '')


def split_registry_url(url):
    """``https://reg.example.com:5000`` -> ``('https', 'reg.example.com:5000')``; no path allowed."""
    refuse_url_credentials('registry.url', url, OCIError)
    match = re.match(r'^(https?)://([^/\s@]+)/*$', url or '')
    if not match:
        raise OCIError('registry url must be http(s)://host[:port] without a path or credentials, got %s'
                       % escape_control(repr(url)),
                       hint='for example https://registry.example.com or http://127.0.0.1:5000')
    return match.group(1), match.group(2)


def _origin(url):
    """``(scheme, host, port)`` of a URL, the port defaulted, to tell whether two URLs are the same server."""
    match = re.match(r'^([a-zA-Z]+)://([^/?#]*)', url or '')
    if not match:
        return None
    scheme, netloc = match.group(1).lower(), match.group(2).rsplit('@', 1)[-1].lower()
    host, _sep, port = netloc.rpartition(':') if not netloc.endswith(']') else (netloc, '', '')
    if not host or not port.isdigit():
        host, port = netloc, ''
    return scheme, host, int(port) if port else (443 if scheme == 'https' else 80)


def check_repository(name):
    if not REPOSITORY_RE.match(name or '') or len(name) > 255:
        raise OCIError('%r is not a valid OCI repository name' % (name,),
                       hint='lowercase letters, digits and separators (. _ __ -), path components joined by /')


def check_tag(tag):
    if not TAG_RE.match(tag or ''):
        raise OCIError('%r is not a valid OCI tag (it is the catalog version)' % (tag,),
                       hint='letters, digits, _ . -; at most 128 characters, not starting with . or -')


class OCIClient(object):
    """A client of one registry.

    :param url: ``http(s)://host[:port]``.
    :param username: with ``password``, for a Basic challenge or a Bearer token request.
    :param identity_token: an OAuth2 refresh token (``identitytoken`` of a Docker auth file), exchanged at the token
                           service for access tokens; used when no username is given.
    :param client_cert: PEM client certificate (with ``client_key`` unless the file holds the key) for mutual TLS.
    """

    def __init__(self, url, username=None, password=None, validate_certs=True, ca_path=None,
                 timeout=DEFAULT_TIMEOUT, retries=3, client_cert=None, client_key=None, identity_token=None):
        if not HAS_REQUESTS or not HAS_ORAS:
            raise OCIError('The Python libraries requests and oras are required on the host that runs the task')
        self.scheme, self.host = split_registry_url(url)
        self.url = '%s://%s' % (self.scheme, self.host)
        if bool(username) != bool(password):
            raise OCIError('registry username and password go together: give both or neither')
        self.username = username
        self._password = password
        self._identity_token = None if username else identity_token
        self.credentials_from = None  # the auth file the credentials were read from (client_from_params), if any
        self.timeout = float(timeout)
        self.tls = TLSOptions(validate_certs, ca_path, client_cert, client_key, prefix='registry.', peer='registry',
                              error=OCIError)
        self.verify = self.tls.verify
        self.requests = []  # (method, url, status) of every call, for counters and tests
        self._basic = None
        self._tokens = {}
        self._last_token = None

        try:
            retry = build_retry(retries)
        except ValueError as exc:
            raise OCIError(str(exc))
        self.sessions = Sessions(retry, self.tls)

        self.oras = oras.provider.Registry(hostname=self.host, insecure=self.scheme == 'http',
                                           tls_verify=self.verify, auth_backend='basic')
        # Every oras call goes through our transport (auth from the challenge, timeouts, bounded retries).
        self.oras.do_request = self.do_request

    # ---------------------------------------------------------------- transport

    def _mask(self, text):
        secrets = [self._password, self._basic, self._identity_token]
        secrets.extend(self._tokens.values())
        return escape_control(mask_secret(text, secrets))

    def _auth_header(self):
        if self._basic:
            return 'Basic %s' % self._basic
        if self._last_token:
            return 'Bearer %s' % self._last_token
        return None

    def _send(self, method, url, data=None, headers=None, json_body=None, stream=False, auth=None, params=None):
        headers = dict(headers or {})
        if auth:
            headers['Authorization'] = auth
        # A whole-answer deadline per attempt (see _transport); a streamed blob re-arms it per MiB received.
        guard = deadline(self.timeout)
        dog = guard.__enter__()
        detached = False
        try:
            response = self.sessions.request(method, url, data=data, json=json_body, headers=headers, stream=True,
                                             params=params, timeout=(self.timeout, self.timeout),
                                             allow_redirects=True)
            if stream and response.status_code < 300:
                response.watchdog = guard.detach()
                detached = True
            else:
                read_answer(response, dog, MAX_ANSWER_BYTES)
        except AnswerError as exc:
            raise OCIError('%s %s: %s' % (method, url, exc), method=method, url=url,
                           hint='check registry.url and that the registry is up, or raise registry.timeout'
                           if exc.timed_out else 'check registry.url: a registry answer is far smaller')
        except requests.exceptions.SSLError as exc:
            raise OCIError('TLS error talking to the registry %s: %s' % (self.url, self._mask(exc)),
                           method=method, url=url, hint=self.tls.hint(exc))
        except (requests.exceptions.Timeout, requests.exceptions.ConnectionError,
                requests.exceptions.RetryError) as exc:
            raise OCIError('Cannot reach the registry %s (%s %s, timeout %s s): %s'
                           % (self.url, method, url, self.timeout, self._mask(exc)), method=method, url=url,
                           hint='check registry.url and that the registry is up and reachable from the host '
                                'that runs the task')
        finally:
            if not detached:
                guard.__exit__(None, None, None)
        self.requests.append((method, url, response.status_code))
        return response

    def _credentials_b64(self):
        raw = '%s:%s' % (self.username, self._password)
        return base64.b64encode(raw.encode('utf-8')).decode('ascii')

    def _fetch_token(self, params, method, url):
        realm = params.get('realm')
        if not realm or not re.match(r'^https?://', realm):
            raise OCIError('The registry asked for a Bearer token without a usable realm URL (%s)'
                           % escape_control(repr(realm)), status=401, method=method, url=url)
        if _origin(realm) != _origin(self.url) and not realm.lower().startswith('https://'):
            # The token request carries the credentials: only to the registry itself, or to another host over TLS.
            raise OCIError('The registry %s asks for a token from %s, on another host or scheme and over plain '
                           'http: refused, the credentials would go in clear to a host that is not the registry'
                           % (self.url, escape_control(realm.split('?', 1)[0])), status=401, method=method,
                           url=url, hint='a token service on another host must use https; check the registry '
                                         'configuration (auth.token.realm) and registry.url')
        query = dict((k, params[k]) for k in ('service', 'scope') if params.get(k))
        if self._identity_token:
            # OAuth2 refresh-token grant (what docker login stored as identitytoken), never a Basic password.
            form = dict(query, grant_type='refresh_token', refresh_token=self._identity_token, client_id='mimoe.edge')
            response = self._send('POST', realm, headers={'Accept': 'application/json'}, data=form)
        else:
            auth = 'Basic %s' % self._credentials_b64() if self.username else None
            response = self._send('GET', realm, headers={'Accept': 'application/json'}, auth=auth, params=query)
        if response.status_code in (401, 403):
            raise self._auth_failed(response.status_code, 'GET', realm, 'the token service refused the credentials')
        if response.status_code != 200:
            raise OCIError('The token service %s answered %s' % (realm, response.status_code),
                           status=response.status_code, method='GET', url=realm)
        try:
            body = response.json()
        except ValueError:
            body = {}
        token = (body.get('token') or body.get('access_token')) if isinstance(body, dict) else None
        if not token:
            raise OCIError('The token service %s answered without a token' % realm, status=200, url=realm)
        return token

    def _auth_failed(self, status, method, url, detail):
        if self.username or self._identity_token:
            message = ('The registry %s answered %s: authentication failed for %s (%s)'
                       % (self.url, status, 'user %s' % self.username if self.username else 'the identity token',
                          detail))
            hint = 'check registry.username and registry.password'
            if self.credentials_from:
                hint = ('check the entry of %s in %s (log in again), or give registry.username and registry.password'
                        % (self.host, self.credentials_from))
        else:
            message = 'The registry %s answered %s: it requires credentials (%s)' % (self.url, status, detail)
            hint = 'set registry.username and registry.password'
        return OCIError(self._mask(message), status=status, code='UNAUTHORIZED', method=method, url=url, hint=hint)

    def do_request(self, url, method='GET', data=None, headers=None, json=None, stream=False):
        """One call with authentication: replaces ``oras.provider.Registry.do_request`` (same signature).

        A 401 is answered once per challenge: Basic -> credentials; Bearer -> a token for the challenge's scope.
        A second 401 (or a 403 after authenticating) raises :class:`OCIError` naming the user, never the password.
        """
        method = method.upper()
        response = self._send(method, url, data=data, headers=headers, json_body=json, stream=stream,
                              auth=self._auth_header())
        if response.status_code != 401:
            return response
        scheme, params = parse_challenge(response.headers.get('WWW-Authenticate'))
        response.close()  # a streamed 401 would otherwise keep its connection
        if getattr(response, 'watchdog', None) is not None:
            response.watchdog.cancel()
        if scheme == 'basic':
            if not self.username:
                raise self._auth_failed(401, method, url, 'WWW-Authenticate: Basic')
            if self._basic:
                raise self._auth_failed(401, method, url, 'Basic credentials rejected')
            self._basic = self._credentials_b64()
            auth = 'Basic %s' % self._basic
        elif scheme == 'bearer':
            # A token is scoped (pull, or pull+push of one repository) and may have expired: a 401 always gets
            # a fresh token for the scope the challenge names.
            token = self._fetch_token(params, method, url)
            self._tokens[params.get('scope', '')] = token
            self._last_token = token
            auth = 'Bearer %s' % token
        else:
            raise self._auth_failed(401, method, url, 'unsupported challenge %r' % (scheme,))
        response = self._send(method, url, data=data, headers=headers, json_body=json, stream=stream, auth=auth)
        if response.status_code == 401:
            raise self._auth_failed(401, method, url, 'credentials rejected')
        return response

    def check(self, response, method, what, ok=(200, 201, 202)):
        """Raise a clear :class:`OCIError` unless the answer's status is in ``ok``."""
        if response.status_code in ok:
            return response
        code, message = oci_error_of(response)
        status = response.status_code
        hint = None
        if status == 403:
            hint = 'the registry user may not do this (check its permissions for the repository)'
        elif status == 404:
            hint = '%s does not exist in the registry' % what
        elif status in (400, 405) and method == 'DELETE':
            hint = 'the registry does not allow deletes (distribution: storage.delete.enabled: true)'
        elif status == 429:
            hint = 'the registry rate-limits this client; try again later'
        raise OCIError(self._mask('%s %s: the registry %s answered %s %s%s'
                                  % (method, what, self.url, status, code or '', (': %s' % message) if message else '')),
                       status=status, code=code, hint=hint, method=method, url=response.url)

    # ---------------------------------------------------------------- URLs

    def container(self, repository, ref=None):
        check_repository(repository)
        name = '%s/%s' % (self.host, repository)
        if ref:
            name += ('@' if ref.startswith('sha256:') else ':') + ref
        return oras.container.Container(name)

    def blob_url(self, repository, digest):
        return '%s://%s' % (self.scheme, self.container(repository).get_blob_url(digest))

    def manifest_url(self, repository, ref):
        return '%s://%s' % (self.scheme, self.container(repository).manifest_url(ref))

    # ---------------------------------------------------------------- API

    def blob_exists(self, repository, digest):
        return self.oras.blob_exists({'digest': digest}, self.container(repository))

    def push_blob_file(self, repository, path, digest, size, media_type='application/octet-stream'):
        """Push a file unless the repository has the blob already. Returns ``True`` when it was pushed."""
        layer = {'digest': digest, 'size': size, 'mediaType': media_type}
        container = self.container(repository)
        if self.oras.blob_exists(layer, container):
            return False
        try:
            response = self.oras.put_upload(path, container, layer)
        except ValueError as exc:  # oras: no Location in the POST answer
            raise OCIError('Cannot start a blob upload to %s in %s: %s' % (repository, self.url, self._mask(exc)))
        self.check(response, 'PUT', 'blob %s of %s' % (digest, repository), ok=(201, 202, 204))
        return True

    def push_blob_bytes(self, repository, data, media_type='application/octet-stream'):
        digest = sha256_digest(data)
        handle, path = tempfile.mkstemp(prefix='mimoe-oci-')
        try:
            with os.fdopen(handle, 'wb') as out:
                out.write(data)
            return self.push_blob_file(repository, path, digest, len(data), media_type)
        finally:
            os.unlink(path)

    def mount_blob(self, repository, digest, source_repository):
        """Cross-repository mount (``POST ...?mount=&from=``).

        :returns: ``False`` when the repository has the blob already, ``'mounted'`` when the registry linked it
                  (no bytes sent), ``True`` when it had to be copied (downloaded and uploaded).
        """
        if self.blob_exists(repository, digest):
            return False
        url = '%s://%s?mount=%s&from=%s' % (self.scheme, self.container(repository).upload_blob_url(), digest,
                                            source_repository)
        response = self.do_request(url, 'POST')
        if response.status_code == 201:
            return 'mounted'
        if response.status_code == 202:  # the registry started an upload instead of mounting: copy the bytes
            with tempfile.TemporaryDirectory(prefix='mimoe-oci-') as tmp:
                path = os.path.join(tmp, 'blob')
                size = self.download_blob(source_repository, digest, path)
                self.push_blob_file(repository, path, digest, size)
            return True
        self.check(response, 'POST', 'mount of blob %s from %s into %s' % (digest, source_repository, repository))
        return True

    def get_manifest(self, repository, ref):
        """``(manifest dict, digest, raw bytes)`` or ``None`` when the tag or digest does not exist."""
        response = self.do_request(self.manifest_url(repository, ref), 'GET', headers={'Accept': MANIFEST_ACCEPT})
        if response.status_code == 404:
            return None
        self.check(response, 'GET', 'manifest %s:%s' % (repository, ref), ok=(200,))
        raw = response.content
        digest = sha256_digest(raw)
        if ref.startswith('sha256:') and ref != digest:
            raise OCIError('The registry answered manifest %s@%s with content of digest %s' % (repository, ref, digest))
        try:
            manifest = json.loads(raw.decode('utf-8'))
        except ValueError as exc:
            raise OCIError('Manifest %s:%s is not JSON: %s' % (repository, ref, exc))
        if not isinstance(manifest, dict):
            raise OCIError('Manifest %s:%s is not a JSON object' % (repository, ref))
        return manifest, digest, raw

    def head_manifest(self, repository, ref):
        """Digest of a tag or digest (``HEAD`` with OCI Accept), or ``None`` when missing."""
        response = self.do_request(self.manifest_url(repository, ref), 'HEAD', headers={'Accept': MANIFEST_ACCEPT})
        if response.status_code == 404:
            return None
        self.check(response, 'HEAD', 'manifest %s:%s' % (repository, ref), ok=(200,))
        return response.headers.get('Docker-Content-Digest')

    def put_manifest(self, repository, ref, raw, media_type):
        """PUT the exact bytes; returns the digest (checked against the registry's ``Docker-Content-Digest``)."""
        response = self.do_request(self.manifest_url(repository, ref), 'PUT', data=raw,
                                   headers={'Content-Type': media_type})
        self.check(response, 'PUT', 'manifest %s:%s' % (repository, ref), ok=(201, 200))
        digest = sha256_digest(raw)
        answered = response.headers.get('Docker-Content-Digest')
        if answered and answered != digest:
            raise OCIError('The registry stored manifest %s:%s as %s, not %s (it changed the bytes)'
                           % (repository, ref, answered, digest))
        return digest

    def delete_manifest(self, repository, digest):
        response = self.do_request(self.manifest_url(repository, digest), 'DELETE')
        if response.status_code == 404:
            return False
        self.check(response, 'DELETE', 'manifest %s@%s' % (repository, digest), ok=(202, 200))
        return True

    def tags(self, repository):
        """Tags of a repository; an unknown repository or ``"tags": null`` is an empty list."""
        try:
            return sorted(self.oras.get_tags(self.container(repository)))
        except ValueError as exc:  # oras: an answer other than 2xx; our transport recorded which
            status = self.requests[-1][2] if self.requests else None
            if status == 404:
                return []
            raise OCIError('Cannot list the tags of %s in %s: %s' % (repository, self.url, self._mask(exc)),
                           status=status)

    def repositories(self):
        """Every repository (``GET /v2/_catalog``, paginated)."""
        found = []

        def collect(response):
            try:
                names = response.json().get('repositories') or []
            except (ValueError, AttributeError):
                names = []
            found.extend(names)
            return bool(names)

        try:
            self.oras._do_paginated_request('%s/v2/_catalog' % self.url, callable=collect)
        except ValueError as exc:  # oras: any answer but 2xx (401/403 were raised by do_request already)
            raise OCIError('The registry %s does not list its repositories (GET /v2/_catalog: %s)'
                           % (self.url, self._mask(exc)),
                           hint='give the catalog item name, so that no listing is needed')
        return sorted(set(found))

    def download_blob(self, repository, digest, dest):
        """Stream a blob to ``dest`` (tmp file + rename), verifying its sha256. Returns its size."""
        response = self.oras.get_blob(self.container(repository), digest, stream=True)
        self.check(response, 'GET', 'blob %s of %s' % (digest, repository), ok=(200,))
        directory = os.path.dirname(os.path.abspath(dest))
        handle, tmp = tempfile.mkstemp(prefix='.download-', dir=directory)
        hasher = hashlib.sha256()
        size = 0
        watchdog = getattr(response, 'watchdog', None)
        try:
            with os.fdopen(handle, 'wb') as out:
                try:
                    for chunk in response.iter_content(chunk_size=_CHUNK):
                        if chunk:
                            if watchdog is not None:
                                watchdog.arm()  # progress: a MiB arrived, the next one gets a full timeout
                            hasher.update(chunk)
                            out.write(chunk)
                            size += len(chunk)
                except (requests.exceptions.RequestException, IOError, OSError) as exc:
                    if watchdog is not None and watchdog.fired:
                        raise OCIError('Blob %s of %s: no MiB arrived within the timeout of %s seconds'
                                       % (digest, repository, self.timeout),
                                       hint='check that the registry is up, or raise registry.timeout')
                    raise OCIError('Blob %s of %s: the download broke (%s)'
                                   % (digest, repository, self._mask(exc)))
            got = 'sha256:' + hasher.hexdigest()
            if got != digest:
                raise OCIError('Blob %s of %s downloaded with the digest %s: refused (corrupt or tampered)'
                               % (digest, repository, got))
            os.chmod(tmp, 0o600)
            shutil.move(tmp, dest)
        finally:
            if watchdog is not None:
                watchdog.cancel()
            response.close()
            if os.path.exists(tmp):
                os.unlink(tmp)
        return size

    def anonymous_blob_access(self, repository, digest):
        """Whether the blob can be read without credentials (what a node pulling by URL needs)."""
        response = self._send('HEAD', self.blob_url(repository, digest))
        return response.status_code == 200


# ---------------------------------------------------------------- the registry option and its credentials

def registry_argument_spec(apply_defaults=True):
    """The ``registry`` option (documented in the ``mimoe.edge.registry`` doc fragment)."""
    return dict(registry=dict(type='dict', apply_defaults=apply_defaults, options=dict(
        url=dict(type='str', required=True, fallback=(env_fallback, ['MIMOE_REGISTRY_URL'])),
        username=dict(type='str', fallback=(env_fallback, ['MIMOE_REGISTRY_USERNAME'])),
        password=dict(type='str', no_log=True, fallback=(env_fallback, ['MIMOE_REGISTRY_PASSWORD'])),
        auth_file=dict(type='path', fallback=(env_fallback, ['MIMOE_REGISTRY_AUTH_FILE'])),
        namespace=dict(type='str', default='', fallback=(env_fallback, ['MIMOE_REGISTRY_NAMESPACE'])),
        validate_certs=dict(type='bool', default=True),
        ca_path=dict(type='path'),
        client_cert=dict(type='path', fallback=(env_fallback, ['MIMOE_REGISTRY_CLIENT_CERT'])),
        client_key=dict(type='path', no_log=False, fallback=(env_fallback, ['MIMOE_REGISTRY_CLIENT_KEY'])),
        timeout=dict(type='float', default=30.0),
    )))


def client_from_params(registry):
    """An :class:`OCIClient` from the ``registry`` option (a dict).

    Without ``username`` and ``password``, the credentials of the registry's host are read from an auth file
    (:func:`registry_credentials`), as ``docker login``, ``podman login`` or ``helm registry login`` left them.
    """
    username, password, identity_token, source = registry.get('username'), registry.get('password'), None, None
    if not username and not password:
        scheme_host = split_registry_url(registry['url'])
        found = registry_credentials(scheme_host[1], registry.get('auth_file'))
        if found:
            username, password, identity_token, source = found
    client = OCIClient(registry['url'], username=username, password=password, identity_token=identity_token,
                       validate_certs=registry.get('validate_certs', True), ca_path=registry.get('ca_path'),
                       client_cert=registry.get('client_cert'), client_key=registry.get('client_key'),
                       timeout=registry.get('timeout') or 30.0)
    client.credentials_from = source
    return client


def auth_files(auth_file=None):
    """The auth files to read, in order: ``auth_file`` alone when given; else ``$REGISTRY_AUTH_FILE`` (podman,
    skopeo, buildah), ``$DOCKER_CONFIG/config.json`` or else ``~/.docker/config.json`` (docker, helm)."""
    if auth_file:
        return [auth_file]
    found = []
    if os.environ.get('REGISTRY_AUTH_FILE'):
        found.append(os.environ['REGISTRY_AUTH_FILE'])
    if os.environ.get('DOCKER_CONFIG'):
        found.append(os.path.join(os.environ['DOCKER_CONFIG'], 'config.json'))
    else:
        found.append(os.path.join(os.path.expanduser('~'), '.docker', 'config.json'))
    return found


def _auth_key_host(key):
    """``https://reg.example:5000/v2/`` -> ``reg.example:5000``: how auth files name a registry."""
    key = re.sub(r'^[a-zA-Z]+://', '', str(key).strip())
    return key.split('/', 1)[0].lower()


def registry_credentials(host, auth_file=None):
    """``(username, password, identity_token, file)`` for ``host`` (``name[:port]``, exactly: the credentials of
    one host are never sent to another) from the first auth file that has an entry for it, or ``None``.

    An entry holds ``auth`` (base64 of ``user:password``), or ``username`` and ``password``, and may hold an
    ``identitytoken`` (an OAuth2 refresh token, used with the registry's token service). ``credsStore`` and
    ``credHelpers`` (credentials kept by an external program) are not read.

    :raises OCIError: for an unreadable ``auth_file`` given explicitly, or an unreadable entry for ``host``; the
                      message names the file and the host, never the content.
    """
    for path in auth_files(auth_file):
        path = os.path.expanduser(path)
        if not os.path.isfile(path):
            if auth_file:
                raise OCIError('registry.auth_file %s is not a readable file' % path,
                               hint='give the auth file docker login / podman login wrote, for example '
                                    '~/.docker/config.json')
            continue
        try:
            with open(path, 'rb') as handle:
                config = json.loads(handle.read(MAX_ANSWER_BYTES).decode('utf-8'))
        except (IOError, OSError, ValueError, UnicodeDecodeError) as exc:
            raise OCIError('Cannot read the registry auth file %s: %s' % (path, type(exc).__name__),
                           hint='fix or remove the file, or give registry.username and registry.password')
        auths = config.get('auths') if isinstance(config, dict) else None
        entries = [v for k, v in (auths.items() if isinstance(auths, dict) else []) if _auth_key_host(k) == host.lower()]
        if not entries:
            continue
        entry = entries[0] if isinstance(entries[0], dict) else {}
        username, password = entry.get('username'), entry.get('password')
        if entry.get('auth'):
            try:
                decoded = base64.b64decode(str(entry['auth']), validate=True).decode('utf-8')
            except (binascii.Error, ValueError, UnicodeDecodeError):
                decoded = ''
            if ':' not in decoded:
                raise OCIError('The entry of %s in the registry auth file %s has an auth value that is not the base64 '
                               'of user:password' % (host, path), hint='log in again (docker login %s)' % host)
            username, password = decoded.split(':', 1)
        token = entry.get('identitytoken') or None
        if (username and password) or token:
            return (username or None) if password else None, password or None, token, path
    return None
