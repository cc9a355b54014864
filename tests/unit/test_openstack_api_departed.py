"""What nova and neutron forget of nodes taken out of the site: every record of a node the
site no longer lists (a removed controller's scheduler and conductor too, which would stay
listed as down and fail verify's nova-services check), and nothing of a node it lists, by
short or full host name. Run on the real agent's functions with a stand-in connection."""

from __future__ import annotations

import types
from typing import Any

from hastack.agents import agent_text


def agent() -> Any:
    module = types.ModuleType("openstack_api")
    exec(compile(agent_text("openstack_api.py"), "openstack_api.py", "exec"),
         module.__dict__)
    return module


class Records:
    """nova's services, placement's providers and neutron's agents, with what was deleted."""

    def __init__(self, services: list[tuple[str, str]], providers: list[str],
                 agents: list[tuple[str, str]]) -> None:
        self.deleted: list[str] = []
        ns = types.SimpleNamespace
        self.compute = ns(
            services=lambda binary=None: [ns(binary=b, host=h, status="enabled")
                                          for b, h in services if binary in (None, b)],
            delete_service=lambda s, ignore_missing: self.deleted.append(f"{s.binary}@{s.host}"))
        self.placement = ns(
            resource_providers=lambda: [ns(name=p) for p in providers],
            delete_resource_provider=lambda p, ignore_missing: self.deleted.append(
                f"provider {p.name}"))
        self.network = ns(
            agents=lambda: [ns(binary=b, host=h) for b, h in agents],
            delete_agent=lambda a, ignore_missing: self.deleted.append(f"{a.binary}@{a.host}"))


SITE = "ctl1,ctl2,ctl3,cmp1"


def test_a_removed_controllers_and_computes_nova_records_go_and_no_listed_nodes() -> None:
    api = agent()
    conn = Records(
        services=[("nova-scheduler", "ctl1"), ("nova-conductor", "ctl2.lab.example"),
                  ("nova-scheduler", "ctl4"), ("nova-conductor", "ctl4"),
                  ("nova-compute", "cmp1"), ("nova-compute", "cmp2")],
        providers=["cmp1", "cmp2.lab.example", "ctl4-unrelated"], agents=[])
    ens = api.Ensure(True)
    api.op_compute_forget_departed(conn, ens, {"keep": SITE})
    assert sorted(conn.deleted) == ["nova-compute@cmp2", "nova-conductor@ctl4",
                                    "nova-scheduler@ctl4", "provider cmp2.lab.example"]
    assert len(ens.changes) == 4


def test_without_ensure_nothing_is_deleted_and_every_change_is_named() -> None:
    api = agent()
    conn = Records(services=[("nova-scheduler", "ctl4")], providers=[],
                   agents=[("Open vSwitch agent", "ctl4"), ("L3 agent", "ctl1")])
    ens = api.Ensure(False)
    api.op_compute_forget_departed(conn, ens, {"keep": SITE})
    api.op_network_forget_departed_agents(conn, ens, {"keep": SITE})
    assert conn.deleted == []
    assert ens.changes == ["nova-scheduler@ctl4 deleted", "Open vSwitch agent@ctl4 deleted"]
