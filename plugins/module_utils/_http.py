# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What the MCM client and the OCI registry client share: sessions, retry policy, TLS options, secret masking.

Private to the collection (note the ``_`` prefix): the interface can change without notice.

Both clients talk through :class:`Sessions`: one ``requests`` session whose adapter retries idempotent methods
(``retries`` option, :func:`build_retry`), and one that never retries, for POSTs (urllib3 retries connection errors
for every method, which would apply a write twice). Every connection obeys the whole-answer deadline of
``_transport``, the lower layer. TLS settings (``validate_certs``, ``ca_path``, client certificate) are checked once
here, with the error class and the option names of the caller, so that a bad file is an error naming the option.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import traceback

from ansible_collections.mimoe.edge.plugins.module_utils._errors import MimoeError
from ansible_collections.mimoe.edge.plugins.module_utils._transport import DeadlineAdapter, escape_control

try:
    import requests
    from urllib3.util.retry import Retry
except ImportError:
    HAS_REQUESTS = False
    REQUESTS_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_REQUESTS = True
    REQUESTS_IMPORT_ERROR = None


IDEMPOTENT_METHODS = frozenset(['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS'])
# Reads are retried on any 5xx; a write on a 5xx only once the node shows it did not apply (write_with_verify).
RETRY_STATUSES = tuple(range(500, 600))
MASK = '********'

# Keys of a urllib3 Retry that the ``retries`` option may set. ``allowed_methods`` is
# deliberately absent: a POST is never retried, whatever the user asks for.
RETRY_KEYS = frozenset([
    'total', 'connect', 'read', 'status', 'other', 'backoff_factor', 'backoff_max',
    'status_forcelist', 'respect_retry_after_header',
])

DEFAULT_TIMEOUT = 30.0
DEFAULT_RETRIES = 3
DEFAULT_BACKOFF = 0.5


def mask_secret(text, secrets):
    """Replace every occurrence of each non-empty secret in ``text`` with ``********``."""
    if text is None:
        return None
    if not isinstance(text, str):
        text = str(text)
    for secret in secrets:
        if secret:
            text = text.replace(secret, MASK)
    return text


def _checked_retry_settings(retries):
    """The ``retries`` dictionary with each value checked, so that a bad one is an error now, not a traceback at the
    first retry (urllib3 only uses ``backoff_factor`` when it sleeps)."""
    checked = {}
    for key, value in retries.items():
        if key in ('total', 'connect', 'read', 'status', 'other'):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
                raise ValueError('retries.%s must be an integer 0 or more (or null), got %s'
                                 % (key, escape_control(repr(value))))
        elif key in ('backoff_factor', 'backoff_max'):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 3600:
                raise ValueError('retries.%s must be a number of seconds from 0 to 3600, got %s'
                                 % (key, escape_control(repr(value))))
        elif key == 'status_forcelist':
            if isinstance(value, (list, tuple)):  # "503" from a template is a status too
                value = tuple(int(s) if isinstance(s, str) and s.strip().isdigit() else s for s in value)
            if not isinstance(value, tuple) or not all(
                    isinstance(s, int) and not isinstance(s, bool) and 100 <= s <= 599 for s in value):
                raise ValueError('retries.status_forcelist must be a list of HTTP statuses (100-599), got %s'
                                 % escape_control(repr(value)))
        elif key == 'respect_retry_after_header' and not isinstance(value, bool):
            raise ValueError('retries.respect_retry_after_header must be true or false, got %s'
                             % escape_control(repr(value)))
        checked[key] = value
    return checked


def build_retry(retries):
    """A urllib3 ``Retry`` for idempotent methods from the ``retries`` option (int or dict)."""
    settings = dict(
        total=DEFAULT_RETRIES,
        backoff_factor=DEFAULT_BACKOFF,
        status_forcelist=RETRY_STATUSES,
    )
    if retries is None:
        pass
    elif isinstance(retries, bool):
        raise ValueError('retries must be an integer or a dictionary, not a boolean')
    elif isinstance(retries, int):
        if retries < 0:
            raise ValueError('retries must be 0 or more, got %d' % retries)
        settings['total'] = retries
    elif isinstance(retries, dict):
        unknown = sorted(set(retries) - RETRY_KEYS)
        if unknown:
            raise ValueError('retries has unsupported keys %s; supported: %s'
                             % (', '.join(unknown), ', '.join(sorted(RETRY_KEYS))))
        settings.update(_checked_retry_settings(retries))
    else:
        raise ValueError('retries must be an integer or a dictionary of urllib3 Retry settings, got %r' % (retries,))
    settings['allowed_methods'] = IDEMPOTENT_METHODS
    settings['raise_on_status'] = False
    try:
        return Retry(**settings)
    except TypeError as exc:
        raise ValueError('retries: %s' % exc)


def _no_retry():
    return Retry(total=0, connect=0, read=0, status=0, other=0, redirect=0,
                 raise_on_status=False, raise_on_redirect=False)


class TLSOptions(object):
    """The TLS settings of one client, checked: what ``requests`` takes as ``verify`` and ``cert``.

    :param prefix: how the options are named in messages (``''`` for a node, ``'registry.'`` for a registry).
    :param peer: what the certificate belongs to, for hints (``node``, ``registry``).
    :param error: the exception class raised for a bad option.
    """

    def __init__(self, validate_certs=True, ca_path=None, client_cert=None, client_key=None, prefix='', peer='node',
                 error=MimoeError):
        self.prefix = prefix
        self.peer = peer
        if validate_certs and ca_path and not os.path.isfile(ca_path):
            raise error('%sca_path %s is not a readable file' % (prefix, ca_path),
                        hint='give the PEM file of the CA that signed the %s certificate' % peer)
        self.verify = ca_path if (validate_certs and ca_path) else bool(validate_certs)
        if client_key and not client_cert:
            raise error('%sclient_key is set without %sclient_cert' % (prefix, prefix),
                        hint='give the client certificate (PEM) in %sclient_cert with its key' % prefix)
        for option, path in (('client_cert', client_cert), ('client_key', client_key)):
            if path and not os.path.isfile(path):
                raise error('%s%s %s is not a readable file' % (prefix, option, path),
                            hint='give a PEM file on the host that runs the task')
        # requests: a path (certificate and key in one PEM file) or a (certificate, key) pair.
        self.cert = (client_cert, client_key) if client_key else (client_cert or None)

    def hint(self, exc):
        """What to do about a TLS failure: a peer certificate we do not trust, or a client certificate the peer
        wants (a peer that requires one closes the handshake or answers with an alert, whatever it lacks)."""
        text = str(exc).lower()
        if 'certificate verify failed' in text or "doesn't match" in text or 'hostname' in text:
            return ('set %sca_path to the CA bundle that signed the %s certificate, or %svalidate_certs: false for a '
                    'test %s' % (self.prefix, self.peer, self.prefix, self.peer))
        if 'wrong version number' in text or 'unknown protocol' in text or 'record layer' in text:
            return 'the %s does not speak TLS on this port: check the scheme (http/https) and the port' % self.peer
        if self.cert:
            return ('the %s refused the TLS connection with the client certificate %sclient_cert: check that it is '
                    'signed by a CA the %s trusts, that %sclient_key is its key, and that it has not expired'
                    % (self.peer, self.prefix, self.peer, self.prefix))
        return ('the %s ended the TLS handshake: it may require a client certificate (mutual TLS); set %sclient_cert '
                'and %sclient_key' % (self.peer, self.prefix, self.prefix))


def _session(adapter, tls, headers):
    session = requests.Session()
    if headers:
        session.headers.update(headers)
    session.verify = tls.verify
    session.cert = tls.cert
    session.mount('http://', adapter)
    session.mount('https://', adapter)
    return session


class Sessions(object):
    """The two sessions of a client: ``retrying`` (idempotent methods, ``retry``) and ``single`` (POST, no retry)."""

    def __init__(self, retry, tls, headers=None):
        self.tls = tls
        self.retrying = _session(DeadlineAdapter(max_retries=retry), tls, headers)
        self.single = _session(DeadlineAdapter(max_retries=_no_retry()), tls, headers)

    def request(self, method, url, **kwargs):
        """``requests`` call on the session for ``method``, with the TLS settings passed per call: a session's own
        ``verify`` loses against REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE in the environment (psf/requests#3829), which
        would silently ignore ca_path."""
        session = self.retrying if method in IDEMPOTENT_METHODS else self.single
        kwargs.setdefault('verify', self.tls.verify)
        kwargs.setdefault('cert', self.tls.cert)
        return session.request(method, url, **kwargs)
