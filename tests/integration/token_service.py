# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Test PKI and a small token service for the registry (Bearer token flow, CNCF distribution ``auth.token``).

``TestPKI(directory)`` makes a CA and certificates it signs (server certificates for 127.0.0.1, client
certificates for mutual TLS). ``TokenService(pki, users, service, issuer)`` is an HTTPS token issuer on loopback
(``http.server``): ``GET /token?service=&scope=`` with Basic credentials, or ``POST /token`` with an OAuth2
refresh token (``grant_type=refresh_token``, what ``docker login`` stores as ``identitytoken``), answers
``{"token", "access_token"}``, an RS256 JWT whose header carries the signing certificate (``x5c``); the registry
trusts it through ``rootcertbundle``. Wrong credentials get 401. Every request is recorded (``requests``).
"""

from __future__ import annotations

import base64
import datetime
import ipaddress
import json
import os
import ssl
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID


def _b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b'=').decode('ascii')


class TestPKI:
    """A CA (``ca``: PEM path) and the certificates it signs, written below ``directory``."""

    __test__ = False  # not a pytest test class

    def __init__(self, directory, name='mimoe test CA'):
        self.directory = str(directory)
        os.makedirs(self.directory, exist_ok=True)
        self._now = datetime.datetime.now(datetime.timezone.utc)
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        self._name = subject
        self.ca_cert = (self._builder(subject, self._key.public_key(), subject)
                        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                        .sign(self._key, hashes.SHA256()))
        self.ca = self._write('ca.pem', self.ca_cert.public_bytes(serialization.Encoding.PEM))

    def _builder(self, subject, public_key, issuer):
        return (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(public_key)
                .serial_number(x509.random_serial_number())
                .not_valid_before(self._now - datetime.timedelta(minutes=5))
                .not_valid_after(self._now + datetime.timedelta(days=1)))

    def _write(self, name, data):
        path = os.path.join(self.directory, name)
        with open(path, 'wb') as out:
            out.write(data)
        return path

    def issue(self, name, server=True):
        """``(cert.pem, key.pem, key object, certificate)`` for ``name``: a server certificate for 127.0.0.1 and
        localhost, or a client certificate."""
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        usage = x509.oid.ExtendedKeyUsageOID.SERVER_AUTH if server else x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH
        builder = (self._builder(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]), key.public_key(),
                                 self._name)
                   .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                   .add_extension(x509.ExtendedKeyUsage([usage]), critical=False))
        if server:
            builder = builder.add_extension(x509.SubjectAlternativeName(
                [x509.DNSName('localhost'), x509.IPAddress(ipaddress.ip_address('127.0.0.1'))]), critical=False)
        cert = builder.sign(self._key, hashes.SHA256())
        cert_path = self._write('%s.pem' % name, cert.public_bytes(serialization.Encoding.PEM))
        key_path = self._write('%s.key' % name, key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
        return cert_path, key_path, key, cert


class TokenService:
    """An HTTPS token issuer on 127.0.0.1 (see the module docstring)."""

    def __init__(self, pki, users, service='mimoe-test-registry', issuer='mimoe-test-issuer', refresh_tokens=None):
        self.users = dict(users)
        self.refresh_tokens = dict(refresh_tokens or {})  # refresh token -> user
        self.service = service
        self.issuer = issuer
        self.requests = []  # (method, path, has Authorization, granted or None)
        cert, key, _key, _cert = pki.issue('token-service')
        # The signing certificate is self-signed and given to the registry as its rootcertbundle.
        signing_dir = os.path.join(pki.directory, 'signing')
        self.signing = TestPKI(signing_dir, name='mimoe token signer')
        self.rootcertbundle = self.signing.ca
        service_ref = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _answer(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header('Content-Type', 'application/json')
                self.send_header('Content-Length', str(len(data)))
                if status == 401:
                    self.send_header('WWW-Authenticate', 'Basic realm="token"')
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                query = parse_qs(urlsplit(self.path).query)
                user = service_ref._basic_user(self.headers.get('Authorization'))
                self._issue(user, query, 'GET')

            def do_POST(self):
                length = int(self.headers.get('Content-Length') or 0)
                form = parse_qs(self.rfile.read(length).decode('utf-8')) if length else {}
                user = None
                if form.get('grant_type') == ['refresh_token']:
                    user = service_ref.refresh_tokens.get((form.get('refresh_token') or [''])[0])
                self._issue(user, form, 'POST')

            def _issue(self, user, query, method):
                if user is None:
                    service_ref.requests.append((method, self.path, bool(self.headers.get('Authorization')), None))
                    self._answer(401, {'errors': [{'code': 'UNAUTHORIZED', 'message': 'bad credentials'}]})
                    return
                scopes = []
                for value in query.get('scope', []):
                    scopes.extend(value.split(' '))
                token = service_ref.token(user, scopes)
                service_ref.requests.append((method, self.path, bool(self.headers.get('Authorization')), user))
                self._answer(200, {'token': token, 'access_token': token, 'expires_in': 300})

        self.server = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.server.daemon_threads = True
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={'poll_interval': 0.05}, daemon=True)
        self.thread.start()
        self.realm = 'https://127.0.0.1:%d/token' % self.server.server_address[1]

    def _basic_user(self, header):
        if not header or not header.lower().startswith('basic '):
            return None
        try:
            user, _sep, password = base64.b64decode(header[6:]).decode('utf-8').partition(':')
        except ValueError:
            return None
        return user if self.users.get(user) == password else None

    def token(self, user, scopes):
        """An RS256 JWT granting ``user`` every action of each scope (``type:name:actions``)."""
        access = []
        for scope in scopes:
            parts = scope.split(':')
            if len(parts) >= 3:
                access.append({'type': parts[0], 'name': ':'.join(parts[1:-1]), 'actions': parts[-1].split(',')})
        now = int(time.time())
        der = self.signing.ca_cert.public_bytes(serialization.Encoding.DER)
        header = {'typ': 'JWT', 'alg': 'RS256', 'x5c': [base64.b64encode(der).decode('ascii')]}
        claims = {'iss': self.issuer, 'sub': user, 'aud': self.service, 'exp': now + 300, 'nbf': now - 10,
                  'iat': now, 'jti': uuid.uuid4().hex, 'access': access}
        signing_input = '%s.%s' % (_b64url(json.dumps(header).encode()), _b64url(json.dumps(claims).encode()))
        signature = self.signing._key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return '%s.%s' % (signing_input, _b64url(signature))

    def registry_auth(self):
        """The ``auth`` section of the registry configuration, as YAML lines."""
        return ['auth:', '  token:', '    realm: %s' % self.realm, '    service: %s' % self.service,
                '    issuer: %s' % self.issuer, '    rootcertbundle: %s' % self.rootcertbundle]

    def close(self):
        self.server.shutdown()
        self.server.server_close()
