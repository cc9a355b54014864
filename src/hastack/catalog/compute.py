"""Compute nodes and instance HA: pacemaker_remote nodes, fenced and evacuated on failure.

Guide: Compute nodes. Each compute joins the cluster as a pacemaker_remote node (never a
full member: no quorum vote, no corosync limit), running its networking agent, then its
telemetry agent, then nova-compute, in that order (Optional: a restart of one restarts no
other), nova-compute only where its L2 agent can run. When one fails, the cluster
powers it off through its BMC (or, when the BMC fails, its PDU outlet: fencing level 2)
and then, as the second device of the same fencing level, records it for evacuation
(fence-nova); nova-evacuate (one instance, A/P) marks its nova service forced-down and
evacuates its instances at once, instead of waiting for nova's service_down_time. Debian
12's fence_compute/fence_evacuate crash and NovaEvacuate is not packaged (lab-notes), so
both agents are hastack's own (ARCHITECTURE: Instance HA).
"""

from __future__ import annotations

from dataclasses import replace

from hastack.agents import EVACUATE, agent_text
from hastack.catalog import neutron_agents, tls
from hastack.catalog import openstack as os_
from hastack.catalog.cib_model import (
    REMOTE_AGENT,
    CibSetting,
    Colocation,
    Constraint,
    FencingLevel,
    Location,
    NodeAttribute,
    Op,
    Order,
    Primitive,
    Resource,
    chain,
    clone,
    clone_id,
    pairs,
    resource_id,
    stonith_id,
    systemd,
    vip_id,
)
from hastack.catalog.cluster import fencing_levels
from hastack.catalog.contract import HAMode, Service, ServiceContext
from hastack.catalog.nova import api_db_holds, nova_conf
from hastack.catalog.platform import L2_AGENT
from hastack.catalog.secret_text import Text, compose
from hastack.catalog.steps import Action, ApiCall, Check, Command, ConfigFile, ini_file, text_file
from hastack.site.model import Role

SERVICE = Service(
    name="compute",
    ha_mode=HAMode.ACTIVE_PASSIVE,
    packages=("openstack-client",),
    remote_packages=("pacemaker-remote", "nova-compute", L2_AGENT),
    requires=("nova", "neutron-server"),
    after=("neutron-agents", "ceilometer"),
    toggle="compute",
    summary="pacemaker_remote compute nodes; fencing + evacuation (nova-evacuate A/P)",
)

# A compute that loses power sends nothing: the controller notices only when a monitor of
# its connection gets no answer. The guide's 20 s monitor with a 30 s timeout meant ~30 s
# before fencing (compute-loss drill); 2 s with a 3 s timeout finds it within 5 s. A monitor
# is one message to pacemaker_remoted, which runs in the failover tier (render/priority.py).
REMOTE_MONITOR = "2s"
REMOTE_MONITOR_TIMEOUT = "3s"
RECONNECT = "15s"  # how often a lost compute is tried again: back in service sooner
# nova-evacuate's monitor is what starts an evacuation once fencing recorded the node; when
# nothing is recorded it reads one node attribute (no network, no openstacksdk).
EVACUATE_MONITOR = "3s"
FENCE_NOVA = "fence-nova"
CLOUDS = "/etc/hastack/clouds.yaml"  # admin credentials for the evacuation agents (0600)
CLOUD = "hastack"  # the agents' default cloud name in CLOUDS
FENCE_AGENT = "/usr/sbin/fence_hastack_evacuate"  # where Pacemaker looks for stonith agents
OCF_AGENT = "/usr/lib/ocf/resource.d/hastack/NovaEvacuate"  # provider "hastack"
# Pacemaker runs an agent afresh for every operation, and the agents read CLOUDS each time:
# their files restart nothing. Filed under their own name, since a changed "compute" file on
# a controller would restart the compute resources running there, remote connections included.
AGENT_FILES = "instance-ha"
API_TIMEOUT = 20  # seconds per keystone/nova request: the fence action's calls fit in 60 s
COMPUTE_RULE = (("osprole", "eq", "compute"),)
# Evacuation waits on the VIPs of every API an evacuated instance needs (guide step 2).
EVACUATE_AFTER_VIPS = ("keystone", "nova", "neutron", "glance", "db")
DISCOVER_WAIT = 300



def _compute_side(ctx: ServiceContext) -> list[Primitive]:
    # Without neutron agents the chain starts at ceilometer or at nova-compute itself.
    chain_ = []
    if ctx.has("neutron-agents"):
        chain_.append(systemd(resource_id("compute", "neutron-agent"),
                              neutron_agents.l2_unit(ctx), runs_on="compute"))
    if ctx.has("ceilometer"):
        chain_.append(systemd(resource_id("compute", "ceilometer"),
                              ctx.unit("ceilometer-compute"), runs_on="compute"))
    chain_.append(systemd(resource_id("compute", "nova"), ctx.unit("nova-compute"),
                          start="300s", runs_on="compute"))
    return chain_


def _clouds_yaml(ctx: ServiceContext) -> Text:
    """The site's admin credentials for openstacksdk, through the keystone VIP."""
    return compose(
        "# hastack: admin credentials of fence_hastack_evacuate and NovaEvacuate\n",
        f"clouds:\n  {CLOUD}:\n    auth:\n",
        f"      auth_url: {os_.keystone_public_url(ctx)}/v3\n",
        f"      username: {os_.ADMIN_USER}\n",
        "      password: '", os_.admin_password(), "'\n",
        f"      project_name: {os_.ADMIN_PROJECT}\n",
        "      user_domain_name: Default\n      project_domain_name: Default\n",
        f"    region_name: {ctx.site.openstack.region}\n",
        "    interface: internal\n    identity_api_version: 3\n",
        f"    api_timeout: {API_TIMEOUT}\n",
        *([f"    cacert: {tls.ca_path(ctx.site)}\n"] if tls.enabled(ctx.site) else []))


def _agent_files(ctx: ServiceContext) -> list[ConfigFile]:
    """The evacuation agents and their credentials on every controller: fence-nova and
    nova-evacuate may run on any of them."""
    script = agent_text(EVACUATE)
    files = []
    for node in ctx.members:
        files += [text_file(node.name, FENCE_AGENT, script, mode=0o755),
                  text_file(node.name, OCF_AGENT, script, mode=0o755),
                  text_file(node.name, CLOUDS, _clouds_yaml(ctx), mode=0o600)]
    return [replace(f, service=AGENT_FILES) for f in files]


def config(ctx: ServiceContext) -> list[ConfigFile]:
    files: list[ConfigFile] = _agent_files(ctx)
    driver = "fake.FakeDriver" if os_.on_lab(ctx.remotes) else "libvirt.LibvirtDriver"
    for node in ctx.remotes:
        # No database credentials on computes: nova-compute refuses DB access (lab-notes).
        sections = nova_conf(ctx, str(node.address), with_database=False)
        sections["DEFAULT"]["compute_driver"] = driver
        files.append(ini_file(node.name, "/etc/nova/nova.conf", sections, group="nova"))
        # Debian's unit reads this file after nova.conf: its packaged libvirt driver would win.
        files.append(ini_file(node.name, "/etc/nova/nova-compute.conf",
                              {"DEFAULT": {"compute_driver": driver}}, group="nova"))
        if ctx.has("neutron-agents"):
            files += neutron_agents.agent_files(ctx, node)
    return files


def resources(ctx: ServiceContext) -> list[Resource | CibSetting]:
    items: list[Resource | CibSetting] = []  # cluster-recheck-interval: the cluster base
    for node in ctx.members:
        items.append(NodeAttribute(node.name, "osprole", "controller"))
    for node in ctx.remotes:
        items.append(NodeAttribute(node.name, "osprole", "compute"))
        items.append(Primitive(
            id=node.name, agent=REMOTE_AGENT,
            params=pairs({"server": node.address, "reconnect_interval": RECONNECT}),
            ops=(Op("monitor", interval=REMOTE_MONITOR, timeout=REMOTE_MONITOR_TIMEOUT),)))
    items += [clone(p) for p in _compute_side(ctx)]
    items.append(Primitive(
        id=FENCE_NOVA, agent="stonith:fence_hastack_evacuate",
        params=pairs({"record_only": "1", "clouds": CLOUDS,
                      "pcmk_host_list": ",".join(n.name for n in ctx.remotes)}),
        ops=(Op("monitor", interval="60s", timeout="30s"),)))
    items.append(Primitive(
        id=resource_id("nova", "evacuate"), agent="ocf:hastack:NovaEvacuate",
        params=pairs({"clouds": CLOUDS}),
        ops=(Op("start", timeout="20s"), Op("stop", timeout="20s"),
             Op("monitor", interval=EVACUATE_MONITOR, timeout="600s"))))
    return items


def constraints(ctx: ServiceContext) -> list[Constraint]:
    side = [clone(p).id for p in _compute_side(ctx)]
    evacuate = resource_id("nova", "evacuate")
    out: list[Constraint] = [Location(ref, score="0", rule=COMPUTE_RULE,
                                      resource_discovery="exclusive") for ref in side]
    # The guide's start order, Optional: nova-compute outlives a restart of its telemetry
    # agent and of its L2 agent (which resyncs every port when it comes back).
    out += chain(*side)
    if ctx.has("neutron-agents"):
        out.append(Colocation(side[-1], side[0], why=(
            "nova-compute plugs instances' ports into what the L2 agent of its node wires: "
            "where the L2 agent cannot run, nova-compute must stop so that no instance is "
            "scheduled there")))
    # Start-up order only: computes and nova-evacuate reach a conductor and the APIs over
    # the bus and the VIPs, wherever they run (nova-conductor-clone's clone-min=1 in nova.py
    # replaces the guide's require-all=false).
    out.append(Order(clone_id("nova", "conductor"), side[-1], kind="Optional"))
    out += [Order(vip_id(v), evacuate, kind="Optional") for v in EVACUATE_AFTER_VIPS]
    out.append(Order(clone_id("nova", "conductor"), evacuate, kind="Optional"))
    # fence-nova follows the power device in every level: the node must be off before its
    # instances are evacuated, whichever device (BMC, then PDU outlet) turned it off.
    for node in ctx.remotes:
        out += fencing_levels(node, FENCE_NOVA) or [
            FencingLevel(target=node.name, index=1, devices=(stonith_id(node.name), FENCE_NOVA))]
    return out



def _running(ctx: ServiceContext, services: tuple[str, ...]) -> list[str]:
    """The site's nodes but its controllers that run none of ``services``: a service moved to
    another cluster (deploy/moves.py) leaves the old members' records behind, like a node
    that departed."""
    members = {m for s in services if ctx.placement.has(s)
               for m in ctx.placement.cluster_of(s).members}
    return [n.name for n in ctx.site.nodes
            if n.role is not Role.CONTROLLER or n.name in members]


def bootstrap(ctx: ServiceContext) -> list[Action]:
    # Done when every compute is listed as mapped: a re-run then stays quiet. A compute maps
    # only once its nova-compute has registered, which follows its start by a few seconds
    # (the script says how it waits, for DISCOVER_WAIT).
    hosts = tuple(n.name for n in ctx.remotes)
    script = agent_text("nova_map_computes.sh", DISCOVER_WAIT=DISCOVER_WAIT)
    # A node taken out of the site (deploy/departed.py): a compute first no longer
    # scheduled to, and refused while an instance is there; once its services stopped,
    # forgotten by nova (a compute's service record and resource provider, a controller's
    # scheduler and conductor) and neutron, so that no dead one is left listed. Both run only
    # when a node departed: a deploy that removes none asks nothing.
    computes = (("keep", ",".join(hosts)),)
    nova = (("keep", ",".join(_running(ctx, ("nova",)))),)
    neutron = (("keep", ",".join(_running(ctx, ("neutron-agents", "neutron-server")))),)
    return [Action(name="nova-drain-departed", what="computes no longer in the site: "
                   "disabled in nova, none may still host an instance",
                   run=ApiCall("compute.drain-departed", computes), where="nova",
                   phase="preflight"),
            Action(name="nova-discover-hosts", what="map the compute nodes into cell1",
                   run=Command(argv=("sh", "-c", script, "discover", *hosts)),
                   done=api_db_holds("hosts", *hosts),
                   where="nova", phase="after-start"),
            Action(name="nova-forget-departed", what="nodes no longer in the site or no "
                   "longer running nova: their nova services (and a compute's resource "
                   "provider) deleted",
                   run=ApiCall("compute.forget-departed", nova), where="nova",
                   phase="departed"),
            # Here, not with neutron's agents: a compute's L2 agent is one of this service's
            # resources, and a running agent would register itself again.
            Action(name="neutron-forget-departed", what="neutron agents of nodes no longer "
                   "in the site or running neutron deleted",
                   run=ApiCall("network.forget-departed-agents", neutron),
                   where="nova", phase="departed")]


def checks(ctx: ServiceContext) -> list[Check]:
    return [Check(name="compute-services", what="every compute's nova-compute service is up",
                  probe=ApiCall("compute.hypervisors-up"), expect="all up", on="vip",
                  drills=("compute-loss",))]

