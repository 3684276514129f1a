# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    # The OCI registry that holds the mim catalog.
    DOCUMENTATION = r'''
options:
  registry:
    description:
      - The OCI (Registry V2) registry that holds the catalog, for example CNCF distribution, Harbor, GHCR or the
        Izuma Edge registry. See C(docs/catalog.md) for the layout of the catalog in it.
      - The authentication scheme is picked from the registry's C(WWW-Authenticate) challenge, C(Basic)
        (htpasswd) or C(Bearer) (token service; the credentials are sent to the token service only).
      - Without O(registry.username) and O(registry.password), the credentials of the registry's host are read from
        the auth file that C(docker login), C(podman login) or C(helm registry login) wrote (see
        O(registry.auth_file)); with none there, the registry is used anonymously.
      - Name the registry once for every task of a play with C(module_defaults), for example
        C(group/mimoe.edge.catalog) (catalog modules) and C(mimoe.edge.mcm_image) / C(mimoe.edge.mim_release) set to
        the same dictionary (a YAML anchor), or with the E(MIMOE_REGISTRY_URL) and E(MIMOE_REGISTRY_AUTH_FILE)
        environment variables.
    type: dict
    suboptions:
      url:
        description:
          - V(https://host[:port]) (or V(http://) for a test registry on loopback), without a path.
          - If not set, the value of the E(MIMOE_REGISTRY_URL) environment variable is used.
        type: str
        required: true
      username:
        description:
          - User name. Give it with O(registry.password), or neither for anonymous access.
          - If not set, the value of the E(MIMOE_REGISTRY_USERNAME) environment variable is used.
        type: str
      password:
        description:
          - Password or access token of O(registry.username). Never part of the output or of error messages.
          - If not set, the value of the E(MIMOE_REGISTRY_PASSWORD) environment variable is used.
        type: str
      auth_file:
        description:
          - Auth file to read the credentials of the registry's host from, when O(registry.username) and
            O(registry.password) are not given. Its C(auths) entry for exactly C(host[:port]) of O(registry.url) is
            used (an C(auth) value, the base64 of C(user:password), or C(username) and C(password), and an
            C(identitytoken), which is exchanged at the registry's token service); the credentials of one host are
            never sent to another.
          - If not set, the value of the E(MIMOE_REGISTRY_AUTH_FILE) environment variable is used; else the first of
            E(REGISTRY_AUTH_FILE), C($DOCKER_CONFIG/config.json) (or C(~/.docker/config.json)) that has an entry
            for the host. Credentials kept by a C(credsStore) or C(credHelpers) program are not read.
        type: path
      namespace:
        description:
          - Repository path prefix of the catalog, for example V(acme/mims) (the catalog item C(hello) is then
            the repository C(acme/mims/hello)). Empty means the top level of the registry.
          - If not set, the value of the E(MIMOE_REGISTRY_NAMESPACE) environment variable is used.
        type: str
        default: ''
      validate_certs:
        description:
          - Verify the registry's TLS certificate. Set to V(false) only for test registries.
        type: bool
        default: true
      ca_path:
        description:
          - PEM file of the CA certificates to verify the registry's certificate with.
        type: path
      client_cert:
        description:
          - PEM file of the client certificate sent to a registry that requires mutual TLS (for example CNCF
            distribution with C(http.tls.clientcas)). The file may hold the private key too; else give
            O(registry.client_key).
          - If not set, the value of the E(MIMOE_REGISTRY_CLIENT_CERT) environment variable is used.
        type: path
      client_key:
        description:
          - PEM file of the private key of O(registry.client_cert), when the key is not in that file (not encrypted).
          - If not set, the value of the E(MIMOE_REGISTRY_CLIENT_KEY) environment variable is used.
        type: path
      timeout:
        description:
          - Seconds to wait to connect to the registry, and for each read of its answer.
        type: float
        default: 30
requirements:
  - requests and oras (Python libraries, on the host that runs the task)
notes:
  - The modules talk to the registry from the host that runs the task (normally the controller).
'''

    # Should be used together with the standard attributes fragment (mimoe.edge._attributes).
    ACTIONGROUP_CATALOG = r'''
options: {}
attributes:
  action_group:
    description: Use C(group/mimoe.edge.catalog) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - mimoe.edge.catalog
'''
