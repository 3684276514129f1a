# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    # Connection options of every MCM module.
    DOCUMENTATION = r'''
options:
  mcm_url:
    description:
      - Base URL of the node API, for example V(http://192.0.2.10:8083). A trailing C(/mcm/v1) is accepted.
      - If not set, the value of the E(MCM_URL) environment variable is used.
    type: str
    required: true
  mcm_token:
    description:
      - 'The node''s MCM API key (C(MCM_API_KEY) in C(<workDir>/mimoe-api-key.env)), or an edge access token
        (a JWT with the scope C(edge:mcm)). Sent as C(Authorization: Bearer <token>).'
      - If not set, the value of the E(MCM_TOKEN) environment variable is used.
      - The token is never part of a module's output or error messages, even if the node echoes it.
    type: str
    required: true
  client_id:
    description:
      - Client ID to act as, sent in the C(x-client-id) header. Every MCM operation is scoped to a client ID.
      - If not set, the node uses the client of the credentials (V(api) for the MCM API key).
    type: str
  validate_certs:
    description:
      - Verify the node's TLS certificate on V(https://) URLs. Set to V(false) only for test nodes.
    type: bool
    default: true
  ca_path:
    description:
      - PEM file of the CA certificates to verify the node's certificate with, instead of the system bundle.
    type: path
  client_cert:
    description:
      - PEM file of the client certificate sent to a node that requires mutual TLS (a node behind a TLS proxy that
        checks client certificates). The file may hold the private key too; else give O(client_key).
      - If not set, the value of the E(MCM_CLIENT_CERT) environment variable is used.
    type: path
  client_key:
    description:
      - PEM file of the private key of O(client_cert), when the key is not in that file. The key must not be
        encrypted.
      - If not set, the value of the E(MCM_CLIENT_KEY) environment variable is used.
    type: path
  timeout:
    description:
      - Seconds each attempt of a call may take in all, from the connection to the last byte of the answer (a node
        that trickles its answer is cut off). An upload gets this time again for the answer once its body is sent.
    type: float
    default: 30
  retries:
    description:
      - Retries of idempotent calls (GET, HEAD, PUT, DELETE) on connection errors and on 5xx answers, with
        exponential backoff. A POST that writes (image upload, mim or composition deploy, datastore backup or
        restore) is sent again only after a 5xx answer or a connection that broke without an answer, and only once
        a read of the node shows that it did not take effect (if it did, that answer is used), so a write is never
        applied twice. A POST that timed out is not retried (the node may still be applying it), nor is a pull from
        a URL (legacy C(POST /images) with a URL).
      - An integer (the total number of retries, V(0) disables them), or a dictionary of C(urllib3) C(Retry)
        settings among C(total), C(connect), C(read), C(status), C(other), C(backoff_factor), C(backoff_max),
        C(status_forcelist) and C(respect_retry_after_header). The default backoff factor is V(0.5).
    type: raw
    default: 3
  api_version:
    description:
      - Generation of the MCM API the node runs.
      - V(current) has C(/mcm/v1/mims), compositions and datastore; V(legacy) (edgeEngine) has
        C(/mcm/v1/containers) with start and stop calls.
      - V(auto) detects it once per task (C(GET /mcm/v1/mims) answers 200 on V(current), 404 on V(legacy)).
    type: str
    choices: [auto, current, legacy]
    default: auto
requirements:
  - requests (Python library, on the host that runs the task)
notes:
  - 'The modules talk to the node over HTTP from the host that runs the task. Run them on the controller
    (C(delegate_to: localhost) or C(connection: local)); the edge node needs no SSH and no Python.'
  - Set the connection options once for every MCM module with C(module_defaults) and the action group
    C(group/mimoe.edge.mcm).
'''
