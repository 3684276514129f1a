# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The rules of the mim_rollout role, exposed by its filters in plugins/filter/: which serial batch a host is in,
the per-node lines, the report and its table.

The role only sequences; what a batch is, how an outcome reads and what the report holds is decided here, once.

Private to the collection; the interface can change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import tempfile

from ansible.errors import AnsibleActionFail, AnsibleFilterError

STATUSES = ('upgraded', 'unchanged', 'rolled_back', 'failed')
REPORT_FIELDS = ('status', 'summary', 'mim', 'api_version', 'backup', 'data_restored', 'resumed', 'rolled_back',
                 'touched', 'failed_step', 'error', 'rollback_error', 'rollback_source', 'plan', 'steps', 'history',
                 'revision_target')


def serial_batches(serial, total):
    """Sizes of the batches Ansible makes of ``total`` hosts with ``serial`` (an int, ``"N%"`` or a list of those;
    the last item repeats), as ``PlaybookExecutor`` does."""
    total = int(total)
    items = serial if isinstance(serial, (list, tuple)) else [serial]
    items = [i for i in items if i not in (None, '')] or [0]
    sizes = []
    left = total
    index = 0
    while left > 0:
        item = items[min(index, len(items) - 1)]
        text = str(item).strip()
        if text.endswith('%'):
            size = int(float(text[:-1]) / 100.0 * total)
        else:
            try:
                size = int(text)
            except ValueError:
                raise AnsibleFilterError('serial items must be integers or "N%%" strings, got %r' % (item,))
        if size <= 0:
            size = left if not text.endswith('%') and size == 0 else max(1, size)
        size = min(size, left)
        sizes.append(size)
        left -= size
        index += 1
    return sizes


def rollout_batch(hosts, host, serial):
    """``{number, count, hosts}``: the serial batch of ``host`` among the play's ``hosts`` (in play order)."""
    hosts = list(hosts)
    if host not in hosts:
        raise AnsibleFilterError('%s is not one of the play hosts' % host)
    position = hosts.index(host)
    start = 0
    sizes = serial_batches(serial, len(hosts))
    for number, size in enumerate(sizes, 1):
        if position < start + size:
            return dict(number=number, count=len(sizes), hosts=hosts[start:start + size])
        start += size
    return dict(number=len(sizes), count=len(sizes), hosts=[host])


def _result_of(hostvars, host, var):
    try:
        result = hostvars[host].get(var)
    except (KeyError, AttributeError):
        return None
    return result if isinstance(result, dict) and result.get('status') else None


def rollout_line(result, host):
    """``node007 hello-v1 1.0.0 -> 1.1.0 upgraded, data restored`` (one line per node and outcome)."""
    if not isinstance(result, dict) or not result.get('status'):
        return '%s not reached' % host
    return '%s %s' % (host, result.get('summary') or result['status'])


def rollout_lines(report, hosts):
    """The lines of ``hosts`` (one per node) from a report made by :func:`rollout_report`."""
    return [rollout_line(report['nodes'].get(host), host) for host in hosts]


def rollout_batch_state(report, batch, canaries, max_fail_percentage=0, canary_gate=True):
    """What a batch's outcome means for the run: ``failed`` (nodes failed or rolled back), ``failed_canaries``
    (the canary gate: any failed canary stops the run), ``stops`` (the run ends after this batch: the gate, or more
    failed nodes than ``max_fail_percentage`` of the batch, as Ansible counts them) and ``final`` (last batch, or
    stops)."""
    failed = [h for h in batch['hosts'] if (report['nodes'].get(h) or {'status': 'failed'}).get('status')
              in ('failed', 'rolled_back')]
    failed_canaries = [h for h in failed if h in canaries] if canary_gate and batch['number'] == 1 else []
    # Ansible itself ends the play when every host of a batch failed: the gate is for the canaries that did not.
    if failed_canaries and len(failed) == len(batch['hosts']):
        failed_canaries = []
    too_many = bool(failed) and len(failed) * 100.0 / max(1, len(batch['hosts'])) > float(max_fail_percentage or 0)
    stops = bool(failed_canaries) or too_many or (bool(failed) and len(failed) == len(batch['hosts']))
    return dict(failed=failed, failed_canaries=failed_canaries, stops=stops,
                final=stops or batch['number'] == batch['count'])


def _node_entry(result, host, canary):
    status = result['status'] if result['status'] in STATUSES else 'failed'
    node = dict((key, result.get(key)) for key in REPORT_FIELDS)
    before, after = result.get('from') or {}, result.get('to') or {}
    node.update(host=host, status=status, api=result.get('api_version') or '',
                from_version=before.get('version') or '', from_digest=before.get('digest') or '',
                from_revision=before.get('revision'), to_version=after.get('version') or '',
                to_digest=after.get('digest') or '', revision=after.get('revision'), error=result.get('error') or '',
                rollback_error=result.get('rollback_error') or '', canary=host in canary)
    return node


def _report(nodes, hosts, image):
    counts = dict((status, 0) for status in STATUSES)
    counts['not_reached'] = 0
    for host in hosts:
        counts[nodes[host]['status'] if host in nodes else 'not_reached'] += 1
    return dict(image=image, counts=counts, nodes=nodes)


def rollout_report(hostvars, hosts, var, image='', canary=()):
    """The JSON report of a rollout: counts by status (``not_reached`` for hosts without a result) and each node."""
    nodes = {}
    for host in hosts:
        result = _result_of(hostvars, host, var)
        if result is not None:
            nodes[host] = _node_entry(result, host, canary)
    return _report(nodes, hosts, image)


def plan_covers(plan, hosts):
    """Whether ``plan`` (what :func:`rollout_plan_report` made, kept on localhost as ``mim_rollout_plan``) is the
    plan of a play with these ``hosts``: it planned every one of them (the play rolls out its pending nodes)."""
    return isinstance(plan, dict) and isinstance(plan.get('report'), dict) and set(hosts) <= set(plan.get('hosts') or ())


def rollout_plan_report(results, hosts, image=''):
    """The report right after the plan (``mimoe.edge.rollout_plan``), before any batch: the nodes that already run
    the release with their result ``{host: result}``, every other host not reached yet; and its lines (the plan,
    one line per unchanged node, and the table when no node needs the release: no batch follows)."""
    hosts = list(hosts)
    nodes = dict((h, _node_entry(r, h, ())) for h, r in (results or {}).items()
                 if h in hosts and isinstance(r, dict) and r.get('status'))
    report = _report(nodes, hosts, image)
    pending = [h for h in hosts if h not in nodes]
    named = ', '.join(pending[:10]) + (', ...' if len(pending) > 10 else '')
    lines = ['plan: %d of %d nodes already run %s, %d to release%s' % (
        len(nodes), len(hosts), image or 'the release', len(pending), ': %s' % named if pending else '')]
    if pending:
        lines += rollout_lines(report, [h for h in hosts if h in nodes])
    else:
        lines += ['', 'summary of %s' % image] + rollout_table(report, hosts)
    return dict(report=report, hosts=hosts, pending=pending, unchanged=[h for h in hosts if h in nodes], lines=lines)


def rollout_summary(previous, results, hosts, batch_hosts, serial, canary_count=1, max_fail_percentage=0,
                    canary_gate=True, image='', plan=None):
    """The end of one serial batch, computed once: ``report`` (the report so far: ``previous``, the report of the
    earlier batches of this run, with this batch's ``results`` {host: registered result} merged in), ``batch``,
    ``failed``, ``failed_canaries``, ``stops``, ``final`` (see :func:`rollout_batch_state`) and ``lines`` (``batch
    n/m``, one line per node, and on the final batch the table).

    With the ``plan`` of the run (:func:`rollout_plan_report`, when it covers ``hosts``), the play's ``hosts`` are
    the nodes that needed the release: the batches and canaries are made of them, and the report and the table
    cover every planned node, the unchanged ones from the plan."""
    hosts = list(hosts)
    batch_hosts = [h for h in hosts if h in set(batch_hosts)] or list(batch_hosts)
    if not batch_hosts:
        raise AnsibleFilterError('the batch has no hosts')
    batch = rollout_batch(hosts, batch_hosts[0], serial)
    batch['hosts'] = batch_hosts
    canaries = hosts[:int(canary_count)]
    report_hosts, nodes = hosts, {}
    if plan_covers(plan, hosts):
        report_hosts = list(plan['hosts'])
        nodes = dict((h, n) for h, n in (plan['report'].get('nodes') or {}).items() if h not in batch_hosts)
    if previous and batch['number'] > 1:
        # Only hosts of this play that are not in this batch: a report of another play or run is never mixed in.
        nodes.update((h, n) for h, n in (previous.get('nodes') or {}).items()
                     if h in report_hosts and h not in batch_hosts)
    for host in batch_hosts:
        result = (results or {}).get(host)
        if isinstance(result, dict) and result.get('status'):
            nodes[host] = _node_entry(result, host, canaries)
    report = _report(nodes, report_hosts, image)
    state = rollout_batch_state(report, batch, canaries, max_fail_percentage, canary_gate)
    lines = ['batch %d/%d' % (batch['number'], batch['count'])] + rollout_lines(report, batch_hosts)
    if state['final']:
        lines += ['', 'summary of %s' % image] + rollout_table(report, report_hosts)
    if state['failed_canaries']:
        lines.append('mim_rollout: canary node(s) %s failed: the rollout stops here, no other node is touched'
                     % ', '.join(state['failed_canaries']))
    return dict(state, report=report, batch=dict(number=batch['number'], count=batch['count']), lines=lines)


def rollout_table(report, hosts):
    """The end-of-run table (a list of lines), in play order, hosts not reached included."""
    rows = [('node', 'status', 'from', 'to', 'note')]
    for host in hosts:
        node = report['nodes'].get(host)
        if node is None:
            rows.append((host, 'not reached', '', '', ''))
            continue
        note = node['error'] or ('data restored' if node.get('data_restored') else '')
        if node.get('rollback_error'):
            note += '; rollback failed: %s' % node['rollback_error']
        if len(note) > 70:
            note = note[:67] + '...'
        rows.append((host, node['status'].replace('_', ' '), node['from_version'] or '-', node['to_version'] or '-',
                     note))
    widths = [max(len(str(row[i])) for row in rows) for i in range(4)]
    lines = ['  '.join(str(row[i]).ljust(widths[i]) for i in range(4)) + '  ' + row[4] for row in rows]
    counts = report['counts']
    lines.append(', '.join('%s %d' % (key.replace('_', ' '), counts[key]) for key in
                           STATUSES + ('not_reached',) if counts.get(key)))
    return [line.rstrip() for line in lines]


def rollout_stats(report):
    """The run's custom stats (``ansible_stats`` of a task result, as ``set_stats`` sets them): AWX keeps them as the
    job's artifacts, which a following workflow node gets as ``mim_rollout_summary``. Compact: the release, the counts
    and each node's status; the full report is the JSON file."""
    summary = dict(image=report.get('image') or '', counts=dict(report.get('counts') or {}),
                   nodes=dict((host, node.get('status')) for host, node in (report.get('nodes') or {}).items()))
    return dict(data=dict(mim_rollout_summary=summary), per_host=False, aggregate=False)


def write_report(path, report):
    """Write the JSON report atomically (a reader never sees half a report): a temporary file in the same
    directory, then rename. Raises ``AnsibleActionFail`` naming the path and the fix."""
    directory = os.path.dirname(os.path.abspath(path))
    try:
        if not os.path.isdir(directory):
            os.makedirs(directory)
        handle, tmp = tempfile.mkstemp(prefix='.report-', dir=directory)
        try:
            with os.fdopen(handle, 'w') as out:
                out.write(json.dumps(report, indent=4, sort_keys=True) + '\n')
            os.chmod(tmp, 0o644)
            os.rename(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
    except (IOError, OSError) as exc:
        raise AnsibleActionFail('cannot write the rollout report %s: %s; set report_file to a writable path'
                                % (path, exc))
