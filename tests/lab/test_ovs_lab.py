"""The guide's Open vSwitch in the lab (examples/lab-ovs.yaml: 3 controllers, 1 compute), on
OVS's userspace datapath: deployed from nothing, `verify` passes every check, the instance's
data path among them (a DHCP lease from the controllers across a VXLAN tunnel, its router
answering), the tunnels end on br-tunnel at each node's tunnel address, and a re-run of the
deploy changes nothing.

A lab of its own (about 10 minutes), so not part of `make test`: `make test-ovs`."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from labkit import ROOT, changed_stages, hastack_json, inside, running_lab

pytestmark = [pytest.mark.lab, pytest.mark.skipif(
    not os.environ.get("HASTACK_OVS_LAB"), reason="a lab of its own: run by `make test-ovs`")]

SITE = ROOT / "examples" / "lab-ovs.yaml"
TUNNEL = {"ctl1": "198.18.2.11", "ctl2": "198.18.2.12", "ctl3": "198.18.2.13",
          "cmp1": "198.18.2.21"}


@pytest.fixture(scope="module")
def cloud() -> Iterator[None]:
    with running_lab(then=[("deploy", str(SITE))], site=SITE):
        yield


def test_verify_passes_with_an_instance_leased_and_routed_across_a_tunnel(cloud: None) -> None:
    result = hastack_json("verify", str(SITE), check=False)
    failed = [c for c in result["checks"] if not c["ok"]]
    assert result["ok"] and not failed, failed
    path = next(c for c in result["checks"] if c["name"] == "neutron-instance-path")
    assert "on cmp1: lease 198.19.254." in path["detail"], path


def test_tunnels_end_on_br_tunnel_at_each_nodes_tunnel_address(cloud: None) -> None:
    for node, address in TUNNEL.items():
        datapath = inside(node, "ovs-vsctl", "get", "Bridge", "br-int", "datapath_type")
        assert datapath.stdout.strip().strip('"') == "netdev", (node, datapath)
        held = inside(node, "ip", "-4", "-o", "addr", "show", "dev", "br-tunnel").stdout
        assert f" {address}/24 " in held, (node, held)
        # Without l2population, a tunnel to every other node's tunnel address.
        remotes = inside(node, "ovs-vsctl", "--columns=options", "find", "Interface",
                         "type=vxlan").stdout
        others = {a for n, a in TUNNEL.items() if n != node}
        assert {a for a in others if f'remote_ip="{a}"' in remotes} == others, (node, remotes)


def test_a_rerun_of_the_deploy_changes_nothing(cloud: None) -> None:
    assert changed_stages(hastack_json("deploy", str(SITE), "--format", "json")) == []
