"""CPU and I/O priority drop-ins: failover never waits behind an API worker.

When a node dies, corosync, Pacemaker (and the agents it runs: the VIPs, Galera's mysqld,
RabbitMQ), HAProxy and memcached must get the CPU at once, even when the API workers keep
every core busy. Each systemd unit gets a drop-in: ``CPUWeight``/``IOWeight`` where the unit
has its own cgroup with those controllers (cgroup v2 hosts), and ``Nice`` for every case,
including processes sharing one CPU cgroup (the lab's machines on a cgroup v1 host).

The drop-ins belong to the cluster base, so writing them restarts nothing: a unit takes its
priority at its next start (a first deploy writes every file before anything starts).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from hastack.catalog.cib_model import Clone, Primitive
from hastack.catalog.contract import HostUnit
from hastack.catalog.steps import ConfigFile, text_file

DROPIN = "hastack-priority.conf"
LIMITS = "/etc/security/limits.d/hastack-failover.conf"


@dataclass(frozen=True)
class Tier:
    name: str
    nice: int
    cpu_weight: int  # systemd's default is 100
    io_weight: int


# Corosync raises itself to SCHED_RR; its unit still gets the failover tier for its I/O.
FAILOVER = Tier("failover", nice=-10, cpu_weight=1000, io_weight=1000)
# What every other API waits on (keystone): ahead of them, behind the failover path.
FIRST = Tier("first", nice=0, cpu_weight=100, io_weight=100)
# What a user's request waits on (the API servers, and what they call while it waits),
# some 9 times the weight of the work that reacts to requests afterwards: each neutron
# write sets three L3, three DHCP and five L2 agents and the RPC server going at once, and
# with them in one tier the API worker waited for a CPU longer than it ran
# (bench/neutron_api.py). Still behind the agents Pacemaker runs (pacemaker-execd starts
# them at Nice 0: a VIP's IPaddr2).
API = Tier("api", nice=5, cpu_weight=35, io_weight=35)
# Conductors, schedulers, agents, RPC servers: busy, and no request waits on them.
SERVICE = Tier("service", nice=15, cpu_weight=4, io_weight=4)


def tier(failover: bool, first: bool, api: bool = False) -> Tier:
    return FAILOVER if failover else FIRST if first else API if api else SERVICE
# The cluster stack itself, on every member (and pacemaker_remote on computes).
MEMBER_UNITS = ("corosync", "pacemaker")
REMOTE_UNITS = ("pacemaker_remote",)


def dropin(node: str, unit: str, tier: Tier) -> ConfigFile:
    return text_file(node, f"/etc/systemd/system/{unit}.service.d/{DROPIN}",
                     f"# hastack: {tier.name} tier (render/priority.py)\n[Service]\n"
                     f"Nice={tier.nice}\nCPUWeight={tier.cpu_weight}\n"
                     f"IOWeight={tier.io_weight}\n")


def systemd_primitives(resources: Iterable[Primitive | Clone]) -> list[Primitive]:
    """The systemd-class primitives of ``resources`` (a clone's own)."""
    primitives = [r.primitive if isinstance(r, Clone) else r for r in resources]
    return [p for p in primitives if p.systemd_unit is not None]


def systemd_units(resources: Iterable[Primitive | Clone]) -> list[tuple[str, str]]:
    """(unit, runs_on) of every systemd-class resource."""
    return [(p.systemd_unit or "", p.runs_on) for p in systemd_primitives(resources)]


def login_priority(node: str, users: Sequence[str]) -> ConfigFile:
    """pacemaker-execd starts every agent at Nice 0 (seen in the lab: IPaddr2, galera), so
    a daemon an agent starts keeps no priority of Pacemaker's; one started through a login
    (Galera's mysqld: `su - mysql`) gets its tier from pam_limits' ``priority``."""
    return text_file(node, LIMITS, f"# hastack: {FAILOVER.name} tier (render/priority.py)\n",
                     *(f"{user} - priority {FAILOVER.nice}\n" for user in users))


RUNUSER_LOGIN = "/etc/pam.d/runuser-l"


def runuser_login(node: str) -> ConfigFile:
    """``runuser -l`` (how agents start a daemon through a login) without pam_systemd: each
    such login otherwise waits on logind and a user manager for the daemon's user, and a
    galera promote waited 105 s there while the previous user manager timed out stopping
    (galera-cold-start drill). pam_limits, which gives the login its tier, stays."""
    return text_file(node, RUNUSER_LOGIN,
                     "# hastack: runuser -l without pam_systemd (render/priority.py)\n",
                     "auth\t\tinclude\t\trunuser\n",
                     "session\t\toptional\tpam_keyinit.so force revoke\n",
                     "session\t\tinclude\t\trunuser\n")


def priority_files(members: Sequence[str], remotes: Sequence[str],
                   services: Iterable[tuple[Tier, Iterable[Primitive | Clone]]],
                   hosted: Iterable[HostUnit] = (),
                   logins: Sequence[str] = ()) -> list[ConfigFile]:
    """Drop-ins for the cluster stack, every systemd unit Pacemaker drives and every unit
    systemd runs itself; ``services`` pairs each service's tier with its resources;
    ``logins`` are the users failover daemons are started as through a login."""
    files = [dropin(n, u, FAILOVER) for n in members for u in MEMBER_UNITS]
    if logins:
        files += [login_priority(n, logins) for n in members]
        files += [runuser_login(n) for n in members]
    files += [dropin(n, u, FAILOVER) for n in remotes for u in REMOTE_UNITS]
    seen: set[tuple[str, str]] = set()
    for own in hosted:
        for node in members:
            seen.add((node, own.unit))
            files.append(dropin(node, own.unit, tier(own.failover, own.first, own.api)))
    for level, resources in services:
        for unit, runs_on in systemd_units(resources):
            for node in (members if runs_on == "controller" else remotes):
                if (node, unit) not in seen:
                    seen.add((node, unit))
                    files.append(dropin(node, unit, level))
    return files
