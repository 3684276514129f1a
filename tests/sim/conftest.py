"""Fixtures for the simulator suite: real node subprocesses on free loopback ports (xdist safe)."""

import pytest
from sim_support import COUNTER_JS, Mcm

from mimoe_sim.imagetar import build_image_tar
from mimoe_sim.testing import SimFleet, SimNode


@pytest.fixture(scope="session")
def counter_js():
    with open(COUNTER_JS, encoding="utf-8") as fh:
        return fh.read()


@pytest.fixture(scope="session")
def counter_tar(counter_js):
    """The fixture mim packaged in the exact layout of @mimik/edge-ms-packager (name counter-v1)."""
    return build_image_tar("counter-v1", "1.0.0", counter_js)


@pytest.fixture
def node_factory(tmp_path):
    nodes = []

    def make(name="node", **kw):
        node = SimNode(data_dir=str(tmp_path / name), **kw)
        nodes.append(node)
        return node.start()

    yield make
    for node in nodes:
        node.stop()


@pytest.fixture
def sim_node(node_factory):
    return node_factory()


@pytest.fixture
def legacy_node(node_factory):
    return node_factory("legacy", api="legacy")


@pytest.fixture
def mcm(sim_node):
    return Mcm(sim_node)


@pytest.fixture
def legacy(legacy_node):
    return Mcm(legacy_node)


@pytest.fixture
def deployed(mcm, counter_tar):
    """A node with the counter image uploaded and mim counter-v1 started at /api/counter/v1."""
    assert mcm.upload(counter_tar).status_code == 201
    answer = mcm.deploy()
    assert answer.status_code == 201, answer.text
    return mcm


@pytest.fixture
def sim_fleet(tmp_path):
    fleet = SimFleet(5, data_dir=str(tmp_path / "fleet"), legacy_every=4)
    yield fleet.start()
    fleet.stop()
