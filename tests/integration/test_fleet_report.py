# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""playbooks/report.yml (role mimoe.edge.fleet_report) over simulator nodes in sync, drifted, with a crashed mim,
on the legacy API and unreachable: the HTML is parsed with html.parser and its cells and counts checked, and the
JSON too; once with the mcm_nodes inventory plugin, once with a static inventory (the mcm_info path)."""

from __future__ import annotations

import json
import os
from html.parser import HTMLParser

import pytest
import yaml

from inventory_it import (
    ANSIBLE_PLAYBOOK, ROOT, deploy_mim, image_bytes, parallel, run, upload_image,
)
from mimoe_sim.testing import SimFleet, SimNode, http_json

pytestmark = [pytest.mark.node, pytest.mark.ansible]

TOKEN = 'Report-Fleet-Key-3d1e'
HTML_PAYLOAD = '<img src=x onerror=alert(1)>'
COUNTER_JS = (b'mimikModule.exports = function (context, req, res) { res.end("{}"); };\n')
# node006 speaks the legacy API (no RepoTag): its image digest is the one node001 reports for hello-v1 1.3.0, which
# proves its version (it was "unverified" before the fleet_model filter).
EXPECTED_STATUS = {'node001': 'ok', 'node002': 'down', 'node003': 'ok', 'node004': 'drift', 'node005': 'drift',
                   'node006': 'ok', 'stopped': 'unreachable'}


class ReportPage(HTMLParser):
    """What a reader sees: summary cards, version bar segments, matrix rows and cells (with their text)."""

    def __init__(self):
        super().__init__()
        self.cards, self.segments, self.rows, self.cells = {}, {}, {}, {}
        self.tags = []
        self._stack = []
        self._row = None
        self._mim = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append(tag)
        target = None
        if tag == 'div' and 'card' in (attrs.get('class') or '').split():
            target = ('card', attrs['data-count'])
        elif tag == 'div' and attrs.get('class') == 'mim':
            self._mim = attrs['data-mim']
        elif tag == 'span' and 'seg' in (attrs.get('class') or '').split():
            self.segments.setdefault(self._mim, {})[attrs['data-version']] = int(attrs['data-count'])
        elif tag == 'tr' and 'data-node' in attrs:
            self._row = attrs['data-node']
            self.rows[self._row] = attrs['data-status']
        elif tag == 'td' and 'data-cell' in attrs and self._row:
            target = ('cell', (self._row, attrs.get('data-mim'), attrs['data-cell']))
        if tag not in ('meta', 'br', 'img', 'input', 'link'):
            self._stack.append([tag, target, []])

    def handle_endtag(self, tag):
        while self._stack:
            open_tag, target, text = self._stack.pop()
            if target:
                value = ' '.join(''.join(text).split())
                if target[0] == 'card':
                    self.cards[target[1]] = value
                else:
                    self.cells[target[1]] = value
            if self._stack:
                self._stack[-1][2].extend(text)
            if open_tag == tag:
                break

    def handle_data(self, data):
        if self._stack:
            self._stack[-1][2].append(data)


def parse_page(path):
    page = ReportPage()
    with open(path, encoding='utf-8') as fh:
        text = fh.read()
    page.feed(text)
    page.close()
    return page, text


@pytest.fixture(scope='module')
def nodes(tmp_path_factory):
    base = tmp_path_factory.mktemp('report')
    with SimFleet(6, data_dir=str(base / 'fleet'), api_key=TOKEN, legacy_every=6) as fleet:
        stopped = SimNode(data_dir=str(base / 'stopped'), api_key=TOKEN).start()
        stopped.stop()
        hello = {v: image_bytes('hello-v1', v) for v in ('1.2.0', '1.3.0')}

        def seed(node):
            number = int(node.name[4:])
            if number != 5:
                upload_image(node.url, TOKEN, hello['1.2.0' if number == 4 else '1.3.0'])
                deploy_mim(node.url, TOKEN, node.api, 'hello-v1', 'hello-v1', {'MCM.BASE_API_PATH': '/hello/v1'})
            if number in (2, 5):
                upload_image(node.url, TOKEN, image_bytes('counter-v1', '2.0.0', COUNTER_JS))
                deploy_mim(node.url, TOKEN, node.api, 'counter-v1', 'counter-v1', {'MCM.BASE_API_PATH': '/counter/v1'})
            if number == 3:
                upload_image(node.url, TOKEN, image_bytes('evil-v1', HTML_PAYLOAD))
                deploy_mim(node.url, TOKEN, node.api, 'evil-v1', 'evil-v1', {'MCM.BASE_API_PATH': '/evil/v1'})
        parallel(seed, fleet.nodes)
        # node002's counter-v1 crashes on its next call: state stopped, status crashed
        node2 = fleet.nodes[1]
        http_json('PUT', node2.url + '/_sim/faults', {'crash_mims': ['counter-v1']})
        assert http_json('GET', node2.url + '/api/counter/v1/x', timeout=20)[0] == 502
        http_json('DELETE', node2.url + '/_sim/faults')
        yield fleet, stopped
        stopped.close()


def report(work, inventory, extra=()):
    (work / 'desired.yml').write_text('hello-v1: 1.3.0\n')
    done = run([ANSIBLE_PLAYBOOK, '-i', str(inventory), os.path.join(ROOT, 'playbooks', 'report.yml'),
                '-e', 'report_dir=%s' % (work / 'out'), '-e', 'desired_file=%s' % (work / 'desired.yml')]
               + list(extra), work, MCM_TOKEN=TOKEN, ANSIBLE_SHOW_CUSTOM_STATS='1')
    assert done.rc == 0, done.explain()
    assert TOKEN not in done.stdout + done.stderr
    with open(work / 'out' / 'report.json', encoding='utf-8') as fh:
        data = json.load(fh)
    page, text = parse_page(work / 'out' / 'report.html')
    return done, data, page, text


def check_report(data, page, text, host_of):
    """Both paths describe the same fleet. ``host_of``: simulator node name -> inventory host name."""
    assert data['desired'] == {'hello-v1': '1.3.0'}
    assert data['mims'] == ['counter-v1', 'evil-v1', 'hello-v1']
    summary = data['summary']
    assert {k: summary[k] for k in ('nodes', 'reachable', 'unreachable', 'ok', 'drift', 'down', 'unknown')} == {
        'nodes': 7, 'reachable': 6, 'unreachable': 1, 'ok': 3, 'drift': 2, 'down': 1, 'unknown': 0}
    hello = summary['mims']['hello-v1']
    assert hello['desired'] == '1.3.0' and hello['drifted'] == 2 and hello['down'] == 0
    counts = {v['version']: v['count'] for v in hello['versions']}
    assert counts == {'1.3.0': 4, '1.2.0': 1, 'absent': 1}
    assert summary['mims']['counter-v1']['down'] == 1
    nodes = {n['name']: n for n in data['nodes']}
    assert {name: nodes[host_of[name]]['status'] for name in EXPECTED_STATUS} == EXPECTED_STATUS
    assert nodes[host_of['node004']]['drift'] == [{'mim': 'hello-v1', 'kind': 'version', 'want': '1.3.0',
                                                   'have': '1.2.0'}]
    assert nodes[host_of['node005']]['drift'] == [{'mim': 'hello-v1', 'kind': 'missing', 'want': '1.3.0',
                                                   'have': None}]
    crashed = nodes[host_of['node002']]['mims']['counter-v1']
    assert (crashed['state'], crashed['status'], crashed['cell']) == ('stopped', 'crashed', 'down')
    assert nodes[host_of['node003']]['mims']['evil-v1']['version'] == HTML_PAYLOAD
    assert nodes[host_of['node001']]['mims']['hello-v1']['digest'].startswith('sha256:')
    legacy = nodes[host_of['node006']]['mims']['hello-v1']
    assert (legacy['version'], legacy['version_source'], legacy['cell']) == ('1.3.0', 'digest', 'ok')
    assert legacy['digest'] == nodes[host_of['node001']]['mims']['hello-v1']['digest']
    assert 'connection refused' in nodes[host_of['stopped']]['reason'].lower()

    # The page: counts, bars, one row per node with its status, cells
    assert page.cards == {'nodes': '7 nodes', 'ok': '3 in sync', 'drift': '2 drift', 'down': '1 mim down',
                          'unknown': '0 unverified', 'unreachable': '1 unreachable'}
    assert page.segments['hello-v1'] == {'1.3.0': 4, '1.2.0': 1, 'absent': 1}
    assert page.segments['counter-v1'] == {'2.0.0': 2, 'absent': 4}
    assert {name: page.rows[host_of[name]] for name in EXPECTED_STATUS} == EXPECTED_STATUS
    assert list(page.rows.values())[0] == 'unreachable'  # problems first
    assert list(page.rows.values())[-1] == 'ok'
    cells = page.cells
    assert cells[(host_of['node001'], 'hello-v1', 'ok')] == '1.3.0 started / up'
    assert cells[(host_of['node004'], 'hello-v1', 'drift')] == '1.2.0 started / up'
    assert cells[(host_of['node005'], 'hello-v1', 'missing')] == 'missing want 1.3.0'
    assert cells[(host_of['node002'], 'counter-v1', 'down')] == '2.0.0 stopped / crashed'
    assert cells[(host_of['node006'], 'hello-v1', 'ok')] == '1.3.0 started'  # legacy: no status
    assert cells[(host_of['node001'], 'counter-v1', 'absent')] == '–'
    unreachable = cells[(host_of['stopped'], None, 'unreachable')]
    assert 'connection refused' in unreachable.lower()
    # Escaped, never markup: the image version is shown as text
    assert cells[(host_of['node003'], 'evil-v1', 'ok')].startswith(HTML_PAYLOAD)
    assert 'img' not in page.tags and 'script' not in page.tags
    assert '&lt;img src=x onerror=alert(1)&gt;' in text
    # Self-contained: no external asset, no script
    for marker in ('<script', '<link', 'src="http', "url(http", '@import'):
        assert marker not in text


def test_report_from_the_inventory_plugin(nodes, tmp_path):
    fleet, stopped = nodes
    config = tmp_path / 'fleet.mcm_nodes.yml'
    config.write_text(yaml.safe_dump({'plugin': 'mimoe.edge.mcm_nodes', 'timeout': 3,
                                      'nodes': [n.url for n in fleet.nodes] + [{'url': stopped.url,
                                                                                'name': 'stopped'}]}))
    host_of = {n.name: '127.0.0.1_%d' % n.port for n in fleet.nodes}
    host_of['stopped'] = 'stopped'
    done, data, page, text = report(tmp_path, config, ['-e', '{"report_title": "Edge fleet <Q4>"}'])
    check_report(data, page, text, host_of)
    assert data['title'] == 'Edge fleet <Q4>'
    assert '<title>Edge fleet &lt;Q4&gt;</title>' in text
    assert '3 ok, 2 drifted, 1 with a mim down, 0 unverified, 1 unreachable' in done.stdout
    # set_stats: what AWX keeps as the job artifact (the whole report by default)
    stats_text = done.stdout.split('CUSTOM STATS:', 1)[1]
    assert '"fleet_report"' in stats_text and '"nodes": 7' in stats_text.replace(' ', '').replace('"nodes":7', '"nodes": 7')


def test_report_from_a_static_inventory_with_mcm_info(nodes, tmp_path):
    fleet, stopped = nodes
    with open(fleet.inventory_path, encoding='utf-8') as fh:
        inventory = yaml.safe_load(fh)
    inventory['all']['children']['mimoe_nodes']['hosts']['stopped'] = {
        'mcm_url': stopped.url, 'mcm_token': TOKEN, 'ansible_connection': 'local'}
    path = tmp_path / 'hosts.yml'
    path.write_text(yaml.safe_dump(inventory))
    host_of = {name: name for name in EXPECTED_STATUS}
    dummy_done, data, page, text = report(tmp_path, path)
    check_report(data, page, text, host_of)


def test_report_fails_on_problems_when_asked(nodes, tmp_path):
    fleet, dummy_stopped = nodes
    config = tmp_path / 'two.mcm_nodes.yml'
    config.write_text(yaml.safe_dump({'plugin': 'mimoe.edge.mcm_nodes', 'nodes': [fleet.nodes[0].url,
                                                                                  fleet.nodes[3].url]}))
    base = [ANSIBLE_PLAYBOOK, '-i', str(config), os.path.join(ROOT, 'playbooks', 'report.yml'),
            '-e', 'report_dir=%s' % (tmp_path / 'out'), '-e', 'fail_on_problems=true']
    in_sync = run(base + ['-e', '{"desired": {"hello-v1": "1.3.0"}}', '--limit', 'localhost,127.0.0.1_%d'
                          % fleet.nodes[0].port, '-e', 'target_hosts=127.0.0.1_%d' % fleet.nodes[0].port],
                  tmp_path, MCM_TOKEN=TOKEN)
    assert in_sync.rc == 0, in_sync.explain()
    drifted = run(base + ['-e', '{"desired": {"hello-v1": "1.3.0"}}'], tmp_path, MCM_TOKEN=TOKEN)
    assert drifted.rc == 2, drifted.explain()
    assert '1 drifted' in drifted.stdout
    assert os.path.exists(tmp_path / 'out' / 'report.html')  # written before failing
    bad = run(base + ['-e', '{"desired": {"hello-v1": ["1.3.0"]}}'], tmp_path, MCM_TOKEN=TOKEN)
    assert bad.rc == 2 and 'must map each mim name to a version' in bad.stdout, bad.explain()
