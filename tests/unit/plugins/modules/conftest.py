# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fixtures to run a module's ``main()`` in-process against :class:`fake_mcm.FakeNode`."""

from __future__ import annotations

import json

import pytest

from compat import patch_module_args

from ansible_collections.mimoe.edge.plugins.module_utils import _mcm_module

from fake_mcm import TOKEN, FakeNode


@pytest.fixture
def node():
    return FakeNode()


@pytest.fixture
def legacy_node():
    return FakeNode(api='legacy')


@pytest.fixture
def run_module(monkeypatch, capsys, tmp_path):
    """``run_module(module, fake_node, args, check=False, diff=False)`` -> (result dict, failed bool)."""

    def run(module, fake, args, check=False, diff=False):
        def factory(**kwargs):
            fake.init_kwargs = kwargs
            return fake
        monkeypatch.setattr(_mcm_module, 'MCMClient', factory)
        full = dict(mcm_url=fake.base_url, mcm_token=TOKEN, _ansible_check_mode=check, _ansible_diff=diff)
        if module.__name__.rsplit('.', 1)[-1] in ('mcm_mim', 'mcm_composition'):
            full['fingerprint_file'] = str(tmp_path / 'fingerprints.json')
        full.update(args)
        with patch_module_args(full):
            with pytest.raises(SystemExit):
                module.main()
        out = capsys.readouterr().out
        result = json.loads(out)
        result['_raw'] = out
        return result

    return run
