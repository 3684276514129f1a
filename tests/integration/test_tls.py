# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""TLS: simulator nodes (one SimNode, one fleet node) served over HTTPS with a certificate of a CA made here.
The modules refuse it by default with an error that says what to do, accept it with ca_path, and accept it with
validate_certs: false; a certificate of another CA is refused even with ca_path."""

from __future__ import annotations

import datetime
import ipaddress
import os

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from mcm_it import Ansible
from mimoe_sim.testing import SimFleet, SimNode

pytestmark = [pytest.mark.node, pytest.mark.ansible]


def _write(path, data):
    with open(path, 'wb') as fh:
        fh.write(data)
    return str(path)


def make_ca(directory, name):
    """A self-signed CA and a server certificate for 127.0.0.1 / localhost: (ca.pem, cert.pem, key.pem)."""
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    ca_cert = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
               .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
               .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                            content_commitment=False, key_encipherment=False, data_encipherment=False,
                                            key_agreement=False, encipher_only=False, decipher_only=False),
                              critical=True)
               .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, 'mimoe-sim node')]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName('localhost'),
                                                        x509.IPAddress(ipaddress.ip_address('127.0.0.1'))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(ca_key, hashes.SHA256()))
    os.makedirs(str(directory), exist_ok=True)
    return (
        _write(directory / 'ca.pem', ca_cert.public_bytes(serialization.Encoding.PEM)),
        _write(directory / 'cert.pem', cert.public_bytes(serialization.Encoding.PEM)),
        _write(directory / 'key.pem', key.private_bytes(serialization.Encoding.PEM,
                                                        serialization.PrivateFormat.PKCS8,
                                                        serialization.NoEncryption())),
    )


INFO = {'name': 'info', 'mimoe.edge.mcm_info': {}, 'ignore_errors': True}


@pytest.fixture
def pki(tmp_path):
    return {'ours': make_ca(tmp_path / 'pki', 'mimoe test CA'), 'other': make_ca(tmp_path / 'other', 'other CA')}


def outcome(run, host):
    return [r for r in run.host(host) if r['_task'] == 'info'][0]


def test_https_node_refused_by_default_accepted_with_ca_path(tmp_path, pki):
    ca, cert, key = pki['ours']
    with SimNode(data_dir=str(tmp_path / 'node'), tls_cert=cert, tls_key=key) as node:
        assert node.url.startswith('https://127.0.0.1:')
        ansible = Ansible(tmp_path, {'edge1': node})
        defaults = {'mcm_url': '{{ node_url }}', 'mcm_token': '{{ node_token }}', 'timeout': 20, 'retries': 0}

        refused = outcome(ansible.run([INFO], defaults=defaults), 'edge1')
        assert refused['_status'] == 'failed', refused
        assert refused['msg'].startswith('TLS error talking to %s/mcm/v1/mims' % node.url), refused
        assert 'CERTIFICATE_VERIFY_FAILED' in refused['msg'] and 'set ca_path' in refused['msg'], refused
        assert node.api_key not in ansible.run([INFO], defaults=defaults).stdout

        accepted = outcome(ansible.run([INFO], defaults=dict(defaults, ca_path=ca)), 'edge1')
        assert accepted['_status'] == 'ok' and accepted['api_version'] == 'current', accepted

        unverified = outcome(ansible.run([INFO], defaults=dict(defaults, validate_certs=False)), 'edge1')
        assert unverified['_status'] == 'ok', unverified

        wrong_ca = outcome(ansible.run([INFO], defaults=dict(defaults, ca_path=pki['other'][0])), 'edge1')
        assert wrong_ca['_status'] == 'failed' and 'CERTIFICATE_VERIFY_FAILED' in wrong_ca['msg'], wrong_ca

        plain_http = outcome(ansible.run([INFO], defaults=dict(defaults, mcm_url=node.url.replace('https', 'http'))),
                             'edge1')
        assert plain_http['_status'] == 'failed', plain_http


def test_https_fleet_inventory_and_ca_path(tmp_path, pki):
    ca, cert, key = pki['ours']
    with SimFleet(1, data_dir=str(tmp_path / 'fleet'), tls_cert=cert, tls_key=key) as fleet:
        with open(fleet.inventory_path, encoding='utf-8') as fh:
            assert 'mcm_url: "https://127.0.0.1:%d"' % fleet.nodes[0].port in fh.read()
        ansible = Ansible(tmp_path, {'fleet1': fleet.nodes[0]})
        defaults = {'mcm_url': '{{ node_url }}', 'mcm_token': '{{ node_token }}', 'timeout': 20, 'retries': 0}
        refused = outcome(ansible.run([INFO], defaults=defaults), 'fleet1')
        assert refused['_status'] == 'failed' and 'set ca_path' in refused['msg'], refused
        accepted = outcome(ansible.run([INFO], defaults=dict(defaults, ca_path=ca)), 'fleet1')
        assert accepted['_status'] == 'ok', accepted
