"""The instance HA agents as Pacemaker and the catalog see them: metadata the real schemas
accept and that declares every parameter the CIB sets, and the files catalog/compute.py
ships to every controller (scripts 0755, credentials 0600 holding only a SecretRef)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from lxml import etree

from hastack import catalog
from hastack.agents import EVACUATE, agent_text
from hastack.agents import evacuate as ev
from hastack.catalog import compute
from hastack.catalog import openstack as os_
from hastack.catalog.cib_model import Clone, Primitive, resource_id
from hastack.catalog.contract import ServiceContext
from hastack.catalog.platform import platform_info
from hastack.site.load import LoadedSite

ROOT = Path(__file__).resolve().parents[2]
# The schemas fence-agents and resource-agents validate their own agents' metadata with.
FENCE_RNG = Path("/usr/share/cluster/relaxng/metadata.rng")
OCF_RNG = Path("/usr/share/resource-agents/metadata.rng")


def _xml(text: str) -> etree._Element:
    return etree.fromstring(text.encode())


@pytest.mark.parametrize(("text", "rng"), [(ev.fence_metadata(), FENCE_RNG),
                                           (ev.ocf_metadata(), OCF_RNG)],
                         ids=["fence", "ocf"])
def test_metadata_passes_the_agents_schema(text: str, rng: Path) -> None:
    if not rng.exists():
        pytest.skip(f"{rng} absent (fence-agents / resource-agents not installed)")
    schema = etree.RelaxNG(etree.parse(str(rng)))
    assert schema.validate(_xml(text)), schema.error_log


def test_fence_metadata_shape() -> None:
    root = _xml(ev.fence_metadata())
    assert root.tag == "resource-agent" and root.get("name") == "fence_hastack_evacuate"
    assert root.get("shortdesc") and (root.findtext("longdesc") or "").strip()
    params = {p.get("name"): p for p in root.iterfind("parameters/parameter")}
    # plug: Pacemaker then passes the victim as plug= (pcmk_host_argument's default choice).
    assert {"action", "plug", "record_only", "clouds", "cloud"} <= set(params)
    assert all(p.find("getopt") is not None and p.find("content") is not None
               for p in params.values())
    actions = {a.get("name"): a for a in root.iterfind("actions/action")}
    assert {"off", "reboot", "on", "status", "monitor", "list", "metadata",
            "validate-all"} <= set(actions)
    assert actions["on"].get("automatic") == "0"  # never unfence on its own


def test_ocf_metadata_shape() -> None:
    root = _xml(ev.ocf_metadata())
    assert root.get("name") == "NovaEvacuate" and root.findtext("version") == "1.1"
    params = {p.get("name"): p.find("content").get("default")  # type: ignore[union-attr]
              for p in root.iterfind("parameters/parameter")}
    assert params == {"clouds": compute.CLOUDS, "cloud": compute.CLOUD}
    actions = {a.get("name"): a.attrib for a in root.iterfind("actions/action")}
    assert set(actions) == {"start", "stop", "monitor", "validate-all", "meta-data"}
    assert all(a.get("timeout") for a in actions.values())


def _compute_ctx(name: str) -> tuple[LoadedSite, ServiceContext]:
    loaded = catalog.load(ROOT / "examples" / f"{name}.yaml")
    return loaded, ServiceContext(loaded.site, loaded.placement, "compute",
                                  platform_info(loaded.site.platform.value))


EXAMPLES = ("collapsed", "lab", "mixed", "segregated")


@pytest.mark.parametrize("name", EXAMPLES)
def test_cib_sets_only_parameters_the_agents_declare(name: str) -> None:
    _, ctx = _compute_ctx(name)
    primitives = {r.id: r for r in compute.resources(ctx) if isinstance(r, Primitive)}
    fence = primitives[compute.FENCE_NOVA]
    declared = {p.get("name") for p in _xml(ev.fence_metadata()).iterfind(".//parameter")}
    assert fence.agent == f"stonith:{ev.FENCE_NAME}"
    assert {k for k, _ in fence.params if not k.startswith("pcmk_")} <= declared
    assert dict(fence.params)["record_only"] == "1"
    evacuate = primitives[resource_id("nova", "evacuate")]
    root = _xml(ev.ocf_metadata())
    assert evacuate.agent == f"ocf:hastack:{ev.OCF_NAME}"
    assert {k for k, _ in evacuate.params} <= {p.get("name")
                                              for p in root.iterfind(".//parameter")}
    monitor = next(op for op in evacuate.ops if op.name == "monitor")
    advertised = root.find("actions/action[@name='monitor']")
    assert advertised is not None
    assert (monitor.interval, monitor.timeout) == (advertised.get("interval"),
                                                   advertised.get("timeout"))


@pytest.mark.parametrize("name", EXAMPLES)
def test_every_controller_gets_the_agents_and_credentials(name: str) -> None:
    _, ctx = _compute_ctx(name)
    files = {(f.node, f.path): f for f in compute.config(ctx)}
    script = agent_text(EVACUATE)
    keystone = f"{os_.keystone_public_url(ctx)}/v3"
    for node in ctx.members:
        for path in (compute.FENCE_AGENT, compute.OCF_AGENT):
            agent = files[(node.name, path)]
            assert agent.mode == 0o755 and agent.owner == "root"
            assert agent.text is not None and agent.text.masked() == script
            assert agent.service == compute.AGENT_FILES  # restarts nothing
        clouds = files[(node.name, compute.CLOUDS)]
        assert (clouds.mode, clouds.owner, clouds.group) == (0o600, "root", "root")
        assert clouds.secrets() == (os_.admin_password(),)
        text = clouds.text.masked() if clouds.text else ""
        assert "password: '{{secret:admin-keystone}}'" in text
        assert f"auth_url: {keystone}\n" in text
        assert ev.check_clouds(yaml.safe_load(text), compute.CLOUD) is None
    assert {n for n, p in files if p == compute.CLOUDS} == {n.name for n in ctx.members}
    assert not any(p == compute.CLOUDS for n, p in files
                   if n in {r.name for r in ctx.remotes})


@pytest.mark.parametrize(("agents", "l2", "first"), [
    (False, "openvswitch", "compute-nova-clone"),
    (True, "openvswitch", "compute-neutron-agent-clone"),
    (True, "linuxbridge", "compute-neutron-agent-clone")])
def test_compute_chain_follows_the_neutron_agents_choice(tmp_path: Path, agents: bool, l2: str,
                                                         first: str) -> None:
    site = yaml.safe_load((ROOT / "examples" / "lab.yaml").read_text())
    site["services"].update(neutron_agents=agents, neutron_l2=l2)
    (tmp_path / "site.yaml").write_text(yaml.safe_dump(site))
    loaded = catalog.load(tmp_path / "site.yaml")
    ctx = ServiceContext(loaded.site, loaded.placement, "compute",
                         platform_info(loaded.site.platform.value))
    clones = {r.id: r for r in compute.resources(ctx) if isinstance(r, Clone)}
    assert next(iter(clones)) == first
    remote_files = {f.path for f in compute.config(ctx)
                    if f.node in {n.name for n in ctx.remotes}}
    agent_ini = f"/etc/neutron/plugins/ml2/{l2}_agent.ini"
    assert (agent_ini in remote_files) is agents
    assert ("/etc/neutron/neutron.conf" in remote_files) is agents
    if agents:
        assert clones[first].primitive.agent == f"systemd:neutron-{l2}-agent"
