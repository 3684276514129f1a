# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: mcm_nodes
short_description: mimOE edge nodes and the mims they run, read from their MCM API
version_added: 0.1.0
description:
  - Reads the mims and images of every mimik mimOE edge node through its MCM API, all nodes concurrently, and
    makes each node a host with what it runs as host variables, so plays can target "every node still on
    hello-v1 1.2.0" with a group.
  - The nodes are a list of URLs in this configuration (O(nodes)) and/or the hosts of inventory sources loaded
    before this one that have an C(mcm_url) host variable (O(use_inventory_hosts)).
  - 'Host variables: C(mcm_url); C(mcm_api) (V(current) or V(legacy)); C(mcm_reachable); C(mcm_mims), a list of
    dictionaries with C(name), C(id), C(image), C(version), C(version_source), C(digest), C(state), C(status),
    C(labels) (the labels of the mim, a dictionary) and C(composition);
    C(mcm_images), a list with C(name), C(id), C(version), C(version_source), C(digest), C(repo_tag), C(repo_tags),
    C(size); C(mcm_mim_versions), a dictionary mim name -> version for O(keyed_groups); C(mcm_labels), the sorted
    list of the C(key=value) labels of the mims of the node (one group per label with O(keyed_groups));
    C(mcm_mim_labels), a dictionary mim name -> labels; C(mcm_unreachable_reason) for a node that could not be
    read.'
  - 'C(digest), C(version) and C(repo_tag) are normalised as M(mimoe.edge.mcm_info) returns them: a digest is
    V(sha256:) and 64 hex digits or null (a malformed one a node sends is dropped); the version comes from the
    RepoTag, else from the release marker kept in the env of the mims using the image (C(version_source) says
    which: V(repo_tag), V(release_marker) or null).'
  - The MCM API does not tell a node's architecture. Set it as a host variable (for example C(mimoe_arch)) through
    the C(vars) of a node entry or another inventory source; the plugin never overwrites it.
  - Every host goes to the group O(group). A node that cannot be read (refused or dropped connection, timeout,
    TLS error, rejected token, unexpected answer) also goes to the group C(mcm_unreachable), with the reason in
    C(mcm_unreachable_reason) and a warning on stderr; the inventory itself never fails because of a node.
  - Every value read from a node is marked unsafe, so a node cannot make Ansible evaluate Jinja.
  - Tokens are never host variables, never cached and never shown (the reason of a failure masks them). Give the
    playbooks their token another way, for example C(mcm_token) in a vault-encrypted C(group_vars) file.
  - The configuration file name must end with C(.mcm_nodes.yml) or C(.mcm_nodes.yaml).
author:
  - mimoe.edge contributors (@mimoe-edge)
extends_documentation_fragment:
  - ansible.builtin.constructed
  - ansible.builtin.inventory_cache
options:
  plugin:
    description: The name of this plugin, to tell Ansible that the file is its configuration.
    type: str
    required: true
    choices: [mimoe.edge.mcm_nodes]
  nodes:
    description:
      - The nodes to read. Each entry is the URL of a node API (V(http://192.0.2.10:8083)), or a dictionary with
        C(url) (required), C(name) (the inventory host name), C(token) (this node's token instead of O(token)) and
        C(vars) (extra host variables, for example C(mimoe_arch)).
      - The host name defaults to the URL's host, followed by C(_<port>) when the port is not 8083.
    type: list
    elements: raw
    default: []
  token:
    description:
      - MCM API key or edge access token (a JWT with the scope C(edge:mcm)) for every node that has no token of
        its own. A vault-encrypted value (C(!vault)) works.
      - Secret. It is never shown, never cached and never a host variable.
    type: str
    env:
      - name: MCM_TOKEN
  client_id:
    description: Client ID to act as (C(x-client-id) header). The node uses the client of the token if not set.
    type: str
  validate_certs:
    description: Verify the nodes' TLS certificates on V(https://) URLs. Set to V(false) only for test nodes.
    type: bool
    default: true
  ca_path:
    description: PEM file of the CA certificates to verify the nodes' certificates with.
    type: path
  timeout:
    description:
      - Seconds each call to a node may take in all, from the connection to the last byte of its answer (a node
        that trickles its answer is cut off too). A node is read with 2 calls (3 on the legacy generation) and
        O(retries) retries of each, so a node that never answers costs about O(timeout) seconds, and one that is
        slow at most about 3 x O(timeout) with the default O(retries).
    type: float
    default: 5
  retries:
    description:
      - Retries of each call on connection errors and on 5xx answers, with exponential backoff.
        The default V(0) keeps the inventory fast when nodes are down.
    type: int
    default: 0
  max_workers:
    description: How many nodes are read at the same time.
    type: int
    default: 16
  use_inventory_hosts:
    description:
      - Also read the hosts of the inventory sources loaded before this one that have the host variable
        O(inventory_url_var). Their token is the host variable O(inventory_token_var), else O(token).
      - 'Put this configuration after those sources: C(-i hosts.yml -i fleet.mcm_nodes.yml), or name the files
        so that they sort in that order in an inventory directory.'
      - Only variables of the inventory sources count (not C(host_vars)/C(group_vars) directories, which Ansible
        reads after the inventory is built).
    type: bool
    default: false
  inventory_url_var:
    description: Host variable holding the node URL, with O(use_inventory_hosts).
    type: str
    default: mcm_url
  inventory_token_var:
    description: Host variable holding the node token, with O(use_inventory_hosts).
    type: str
    default: mcm_token
  group:
    description: Group that every node read by this plugin joins (the playbooks of the collection target V(mimoe_nodes)).
    type: str
    default: mimoe_nodes
  connection:
    description:
      - C(ansible_connection) of the hosts this plugin creates. The MCM modules run on the controller, so the
        default V(local) needs no SSH to the nodes. An empty string sets nothing. Hosts of other sources keep
        their own.
    type: str
    default: local
notes:
  - 'With O(cache): true, a second run within O(cache_timeout) sends no request to the nodes; C(ansible-inventory
    --flush-cache) or C(meta: refresh_inventory) reads them again.'
seealso:
  - module: mimoe.edge.mcm_info
'''

EXAMPLES = r'''
# fleet.mcm_nodes.yml: two nodes with the shared token from the environment (MCM_TOKEN) or a vault value,
# a group per mim and version (mim_hello_v1_1_2_0), one per API generation, and a cache.
plugin: mimoe.edge.mcm_nodes
nodes:
  - http://edge-1.example.com:8083
  - url: https://edge-2.example.com:8083
    name: edge-2
    vars:
      mimoe_arch: arm64
token: !vault |
  $ANSIBLE_VAULT;1.1;AES256
  6231...
keyed_groups:
  - key: mcm_mim_versions
    prefix: mim
    default_value: unknown
  - key: mcm_api
    prefix: api
  # One group per label of the node's mims: label_tier_web, label_canary_yes...
  - key: mcm_labels
    prefix: label
groups:
  hello_outdated: "'hello-v1' in mcm_mim_versions and mcm_mim_versions['hello-v1'] is version('1.3.0', '<')"
  # Nodes whose hello-v1 mim is labelled ring=canary.
  canary_ring: "(mcm_mim_labels['hello-v1'] | default({})).ring | default('') == 'canary'"
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: ~/.cache/mimoe.edge/inventory
cache_timeout: 300

---
# edge.mcm_nodes.yml, after a static inventory (hosts.yml) whose hosts have mcm_url and mcm_token:
#   ansible-inventory -i hosts.yml -i edge.mcm_nodes.yml --graph
plugin: mimoe.edge.mcm_nodes
use_inventory_hosts: true
compose:
  hello_version: mcm_mim_versions['hello-v1'] | default('absent')
'''

from ansible.errors import AnsibleParserError
from ansible.inventory.helpers import get_group_vars
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable
from ansible.utils.vars import combine_vars

from ansible_collections.mimoe.edge.plugins.module_utils._transport import escape_control
from ansible_collections.mimoe.edge.plugins.plugin_utils._mcm_inventory import (
    NodeSpecError, mask_deep, node_labels, normalize_node, query_nodes,
)
from ansible_collections.mimoe.edge.plugins.plugin_utils._unsafe import make_unsafe

UNREACHABLE_GROUP = 'mcm_unreachable'
CACHE_FORMAT = 2  # 2: mims carry labels and composition (an older cache is read from the nodes again)


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):

    NAME = 'mimoe.edge.mcm_nodes'

    def verify_file(self, path):
        if super(InventoryModule, self).verify_file(path):
            return path.endswith(('.mcm_nodes.yml', '.mcm_nodes.yaml'))
        return False

    # ---------------------------------------------------------------- which nodes

    def _secret(self, value):
        """A token as plain text (decrypts a vault value); ``None`` when empty."""
        if value is None:
            return None
        text = to_text(value)
        return text or None

    def _configured_nodes(self, default_token):
        nodes = []
        for index, entry in enumerate(self.get_option('nodes') or []):
            try:
                node = normalize_node(entry, index, default_token)
            except NodeSpecError as exc:
                raise AnsibleParserError('%s: %s' % (self.NAME, exc))
            node['token'] = self._secret(node['token'])
            node['source'] = 'config'
            nodes.append(node)
        return nodes

    def _inventory_nodes(self, default_token):
        """Hosts of earlier sources with a node URL host variable."""
        url_var = self.get_option('inventory_url_var')
        token_var = self.get_option('inventory_token_var')
        nodes = []
        for name in sorted(self.inventory.hosts):
            host = self.inventory.hosts[name]
            host_vars = combine_vars(get_group_vars(host.get_groups()), host.get_vars())
            url = host_vars.get(url_var)
            if not url:
                continue
            try:
                url = self._resolve(url, host_vars)
                token = self._resolve(host_vars.get(token_var), host_vars)
            except Exception as exc:  # pylint: disable=broad-except
                self.display.warning('%s: host %s: cannot resolve %s or %s (%s); it is not read'
                                     % (self.NAME, name, url_var, token_var, type(exc).__name__))
                continue
            try:
                node = normalize_node({'url': to_text(url), 'name': name}, 0, default_token)
            except NodeSpecError:
                self.display.warning('%s: host %s: %s is not an http:// or https:// URL; it is not read'
                                     % (self.NAME, name, url_var))
                continue
            node['token'] = self._secret(token) or default_token
            node['source'] = 'inventory'
            nodes.append(node)
        return nodes

    def _resolve(self, value, variables):
        """Template a variable of an earlier source (``mcm_token: "{{ vault_token }}"``) with that host's vars."""
        if isinstance(value, str) and '{{' in value:
            self.templar.available_variables = variables
            return self.templar.template(value)
        return value

    def _nodes(self):
        default_token = self._secret(self.get_option('token'))
        nodes = self._configured_nodes(default_token)
        if self.get_option('use_inventory_hosts'):
            nodes.extend(self._inventory_nodes(default_token))
        unique, seen_names, seen_urls = [], set(), set()
        for node in nodes:
            if node['name'] in seen_names or node['url'] in seen_urls:
                self.display.warning('%s: node %s (%s) is listed more than once; the first entry is used'
                                     % (self.NAME, node['name'], node['url']))
                continue
            seen_names.add(node['name'])
            seen_urls.add(node['url'])
            unique.append(node)
        return unique

    # ---------------------------------------------------------------- parse

    def _query_options(self):
        return dict((key, self.get_option(key)) for key in
                    ('client_id', 'validate_certs', 'ca_path', 'timeout', 'retries', 'max_workers'))

    def parse(self, inventory, loader, path, cache=True):
        super(InventoryModule, self).parse(inventory, loader, path, cache)
        self._read_config_data(path)
        if self.get_option('max_workers') < 1:
            raise AnsibleParserError('%s: max_workers must be 1 or more' % self.NAME)
        if self.get_option('timeout') <= 0:
            raise AnsibleParserError('%s: timeout must be more than 0 seconds' % self.NAME)
        nodes = self._nodes()

        cache_key = self.get_cache_key(path)
        use_cache = self.get_option('cache')
        results = {}
        if use_cache and cache:
            try:
                cached = self._cache[cache_key]
            except KeyError:
                cached = None
            if isinstance(cached, dict) and cached.get('format') == CACHE_FORMAT:
                results = dict(cached.get('nodes') or {})
        missing = [node for node in nodes if node['url'] not in results]
        if missing:
            results.update(query_nodes(missing, self._query_options()))
            if use_cache:
                # Only what the nodes said: URLs, mims, images, reasons. No token, no env.
                self._cache[cache_key] = {'format': CACHE_FORMAT,
                                          'nodes': dict((n['url'], results[n['url']]) for n in nodes)}
        self._populate(nodes, results)

    def _populate(self, nodes, results):
        # A cache written by an older release, or a node echoing a token: masked before anything is shown.
        tokens = sorted(set(n['token'] for n in nodes if n.get('token')), key=len, reverse=True)
        results = dict((url, mask_deep(result, tokens)) for url, result in results.items())
        group = self.inventory.add_group(self.get_option('group'))
        strict = self.get_option('strict')
        for node in nodes:
            result = results[node['url']]
            name = node['name']
            created = name not in self.inventory.hosts
            self.inventory.add_host(name, group=group)
            if node['source'] == 'config':
                for key, value in node['vars'].items():
                    self.inventory.set_variable(name, key, value)
                if created and self.get_option('connection'):
                    self.inventory.set_variable(name, 'ansible_connection', self.get_option('connection'))
            mims = make_unsafe(result.get('mims') or [])
            host_vars = {
                'mcm_url': make_unsafe(node['url']),
                'mcm_api': make_unsafe(result.get('api')),
                'mcm_reachable': bool(result.get('reachable')),
                'mcm_mims': mims,
                'mcm_images': make_unsafe(result.get('images') or []),
                'mcm_mim_versions': dict((mim['name'], mim['version']) for mim in mims if mim.get('name')),
                'mcm_labels': make_unsafe(node_labels(mims)),
                'mcm_mim_labels': dict((mim['name'], mim.get('labels') or {}) for mim in mims if mim.get('name')),
            }
            if not result.get('reachable'):
                reason = make_unsafe(result.get('reason') or 'unknown error')
                host_vars['mcm_unreachable_reason'] = reason
                self.inventory.add_child(self.inventory.add_group(UNREACHABLE_GROUP), name)
                self.display.warning('%s: node %s (%s) is unreachable: %s'
                                     % (self.NAME, escape_control(name), escape_control(node['url']),
                                        escape_control(reason)))
            for key, value in host_vars.items():
                self.inventory.set_variable(name, key, value)

            all_vars = self.inventory.get_host(name).get_vars()
            self._set_composite_vars(self.get_option('compose'), all_vars, name, strict=strict)
            self._add_host_to_composed_groups(self.get_option('groups'), all_vars, name, strict=strict)
            self._add_host_to_keyed_groups(self.get_option('keyed_groups'), all_vars, name, strict=strict)
