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
