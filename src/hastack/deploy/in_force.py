"""Files that take effect only when something reads them again: sysctl settings, systemd
units and drop-ins, a unit's priority, corosync.conf, pacemaker_remote's environment and key.

A run marks what its files will need before it writes them and clears each mark once that
is done, so a run killed in between leaves the marks behind and the next run, which finds
the files already right and writes nothing, still puts them in force.
"""

from __future__ import annotations

from collections.abc import Iterable

from hastack.agents import agent_text
from hastack.catalog.steps import PACEMAKER_AUTHKEY, REMOTE_ENVIRONMENT
from hastack.render.pacemaker_units import TMPFILES as PACEMAKER_PATHS_FILE
from hastack.render.priority import DROPIN as PRIORITY_DROPIN
from hastack.transport.base import Transport

PENDING_DIR = "/var/lib/hastack/pending"
SYSCTL = "sysctl"  # `sysctl --system`
UNITS = "daemon-reload"  # `systemctl daemon-reload`
RENICE_PREFIX = "renice."  # + unit: its running processes take the drop-in's Nice=
REMOTE_RESTART = "remote-restart"  # pacemaker_remote restarts for a new environment
REMOTE_KEY = "remote-key"  # ... for a new key, while no cluster node is connected
COROSYNC_RELOAD = "corosync-reload"  # `corosync-cfgtool -R` where corosync runs
COROSYNC_CONF = "/etc/corosync/corosync.conf"
PACEMAKER_PATHS = "pacemaker-paths"  # Pacemaker's runtime drop-in directories, nowhere
JOIN = "join"  # a member that joined a running cluster in standby: the deploy lifts it

# For each unit named: the Nice= of its priority drop-in, for every process of its cgroup.
RENICE = agent_text("renice_units.sh", PRIORITY_DROPIN=PRIORITY_DROPIN)


def marks_for(paths: Iterable[str]) -> list[str]:
    """The marks that writing ``paths`` calls for."""
    marks: set[str] = set()
    for path in paths:
        if path.startswith("/etc/sysctl.d/"):
            marks.add(SYSCTL)
        if path.startswith("/etc/systemd/system/"):
            marks.add(UNITS)
        if path.endswith(f".service.d/{PRIORITY_DROPIN}"):
            marks.add(RENICE_PREFIX + path.split("/")[-2].removesuffix(".service.d"))
        if path == REMOTE_ENVIRONMENT:
            marks.add(REMOTE_RESTART)
        if path == PACEMAKER_AUTHKEY:
            marks.add(REMOTE_KEY)
        if path == COROSYNC_CONF:
            marks.add(COROSYNC_RELOAD)
        if path == PACEMAKER_PATHS_FILE:
            marks.add(PACEMAKER_PATHS)
    return sorted(marks)


async def mark(node: Transport, marks: Iterable[str]) -> set[str]:
    """Sets ``marks`` (before the files are written) and returns every mark the node holds:
    these and those of a run killed before clearing its own."""
    found = await node.run(["sh", "-c", f"mkdir -p {PENDING_DIR} && cd {PENDING_DIR} && "
                            'for m in "$@"; do : >"$m"; done && ls -1', "mark", *marks])
    found.check()
    return set(found.stdout.split())


async def settle(node: Transport, marks: set[str], keep: set[str]) -> None:
    """Puts in force what ``marks`` call for and clears them, but for those in ``keep``
    (pacemaker_remote's, which the engine settles as they depend on the cluster)."""
    if SYSCTL in marks:
        # Inside lab machines /proc/sys is read-only: the lab sets these per namespace.
        await node.run(["sysctl", "--system"])
    if PACEMAKER_PATHS in marks:
        # L+: where Pacemaker wrote a drop-in for a running unit, its directory is replaced.
        (await node.run(["systemd-tmpfiles", "--create", PACEMAKER_PATHS_FILE])).check()
    if UNITS in marks or PACEMAKER_PATHS in marks:
        # (Also for the runtime drop-ins just replaced: systemd still lists them otherwise.)
        (await node.run(["systemctl", "daemon-reload"])).check()
    reniced = sorted(m.removeprefix(RENICE_PREFIX) for m in marks
                     if m.startswith(RENICE_PREFIX))
    if reniced:
        # A unit takes Nice= when it starts; running processes get it now, without a restart.
        await node.run(["sh", "-c", RENICE, "renice", *reniced])
    if COROSYNC_RELOAD in marks and \
            (await node.run(["systemctl", "is-active", "--quiet", "corosync"])).ok:
        # A running member takes the new nodelist (a member added or removed) and totem
        # settings without a restart. Every member reloads after writing its own copy, so
        # the last reload reads the new file everywhere.
        (await node.run(["corosync-cfgtool", "-R"])).check()
    await clear(node, marks - keep - {JOIN})


async def clear(node: Transport, marks: Iterable[str]) -> None:
    names = sorted(marks)
    if names:
        (await node.run(["rm", "-f", *(f"{PENDING_DIR}/{m}" for m in names)])).check()
