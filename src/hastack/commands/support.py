"""What an operator reaches for when something is wrong: the nodes' journals in one view
(``hastack logs``) and an archive of what a support case needs (``hastack report``). Both only
read the nodes; every secret value of the site's secrets file is masked in what they show."""

from __future__ import annotations

import asyncio
import io
import json
import os
import tarfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from hastack import journal
from hastack.errors import HastackError, UsageError
from hastack.haproxy_stats import ADMIN_SOCKET
from hastack.logmask import mask
from hastack.site.model import Role

if TYPE_CHECKING:
    from hastack.commands.session import Session
    from hastack.transport.base import Transport


def _nodes(session: Session, node: str | None) -> list[str]:
    names = [n.name for n in session.loaded.site.nodes if n.role is not Role.GATEWAY]
    if node is not None and node not in names:
        raise UsageError("unknown-node", f"{node} is not a node of {session.site}",
                         fix=f"one of: {', '.join(names)}")
    return [node] if node else names


async def _journals(transports: dict[str, Transport], nodes: Sequence[str], argv: list[str]
                    ) -> tuple[list[list[journal.Entry]], dict[str, str]]:
    """Each node's journal; a node that cannot be read is named with why, not fatal."""
    async def one(name: str) -> list[journal.Entry] | str:
        try:
            done = await transports[name].run(argv, timeout=300)
        except HastackError as exc:
            return exc.what
        if not done.ok:
            return (done.stderr.strip() or f"exit status {done.returncode}")[-300:]
        return journal.parse(name, done.stdout)

    found = await asyncio.gather(*(one(n) for n in nodes))
    errors = {n: f for n, f in zip(nodes, found, strict=True) if isinstance(f, str)}
    return [f for f in found if not isinstance(f, str)], errors


@dataclass(frozen=True)
class Logs:
    entries: tuple[journal.Entry, ...]
    unreadable: dict[str, str]  # node -> why its journal could not be read


def logs(session: Session, node: str | None = None, unit: str | None = None,
         since: str | None = "-1h", lines: int | None = None) -> Logs:
    """The journals of ``node`` (every node when None), of ``unit`` only when given, since
    ``since`` (journalctl's syntax), the last ``lines`` of each node, merged by time."""
    nodes = _nodes(session, node)
    session.secrets()  # read: its values are masked from here on
    argv = journal.journal_argv(unit=unit, since=since, lines=lines)
    per_node, errors = asyncio.run(_journals(session.transports(), nodes, argv))
    entries = [journal.Entry(e.micros, e.node, e.source, mask(e.message))
               for e in journal.merged(per_node)]
    return Logs(tuple(entries), errors)


@dataclass
class Report:
    path: Path
    members: list[str] = field(default_factory=list)
    missing: dict[str, str] = field(default_factory=dict)  # member -> why it is not there


# Per service placed on a node, what it says of itself: (file name, command).
SERVICE_STATE = {
    "loadbalancer": ("haproxy-stat.csv", ["sh", "-c", 'echo "show stat" | socat stdio "$1"',
                                          "stat", ADMIN_SOCKET]),
    "galera": ("galera-wsrep.txt", ["mysql", "--batch", "-e",
                                    "SHOW GLOBAL STATUS LIKE 'wsrep%'"]),
    "rabbitmq": ("rabbitmq-cluster-status.txt", ["rabbitmqctl", "cluster_status"]),
}


async def _collect(session: Session, since: str, hastack_log: Path | None
                   ) -> tuple[dict[str, str], dict[str, str]]:
    """Every member of the archive by its name in it, and those not collected with why."""
    from hastack import catalog
    from hastack.commands.results import as_json
    from hastack.deploy.packages import node_packages
    from hastack.verify.status import gather

    loaded = session.loaded
    transports = session.transports()
    nodes = _nodes(session, None)
    files: dict[str, str] = {}
    failed: dict[str, str] = {}

    async def read(member: str, node: str, argv: list[str]) -> None:
        try:
            done = await transports[node].run(argv, timeout=300)
        except HastackError as exc:
            failed[member] = exc.what
            return
        if done.ok:
            files[member] = done.stdout
        else:
            failed[member] = (done.stderr.strip() or f"exit status {done.returncode}")[-300:]

    files["status.json"] = as_json(await gather(loaded, catalog.SERVICES, transports))
    work = []
    for cluster in loaded.placement.clusters:
        # The CIB and crm_mon as any member sees them: each one answers for the cluster.
        first = cluster.members[0]
        work += [read(f"clusters/{cluster.name}/cib.xml", first, ["cibadmin", "--query"]),
                 read(f"clusters/{cluster.name}/crm_mon.xml", first,
                      ["crm_mon", "--one-shot", "--output-as=xml", "--inactive"])]
    for service, (name, argv) in SERVICE_STATE.items():
        if loaded.placement.has(service):
            work += [read(f"nodes/{m}/{name}", m, argv)
                     for m in loaded.placement.cluster_of(service).members]
    for node in nodes:
        packages = node_packages(loaded, catalog.BASE, catalog.SERVICES, node)
        work.append(read(f"nodes/{node}/packages.txt", node,
                         ["dpkg-query", "-W", "-f", "${Package} ${Version}\\n", *packages]))
    await asyncio.gather(*work)
    per_node, errors = await _journals(transports, nodes, journal.journal_argv(since=since))
    for entries in per_node:
        if entries:
            files[f"nodes/{entries[0].node}/journal.txt"] = "".join(
                e.line() + "\n" for e in entries)
    failed.update({f"nodes/{n}/journal.txt": why for n, why in errors.items()})
    if hastack_log is not None and hastack_log.exists():
        files["hastack.log"] = hastack_log.read_text(errors="replace")
    return files, failed


def report(session: Session, out: Path, *, since: str = "-1d",
           hastack_log: Path | None = None) -> Report:
    """An archive (tar.gz, mode 0600) of the site's state: status, each cluster's live CIB
    and crm_mon, HAProxy's, Galera's and RabbitMQ's view of themselves, each node's package
    versions and journal since ``since``, hastack's own log; every secret value masked."""
    if out.exists():
        raise UsageError("report-exists", f"{out} exists already",
                         fix="name another file, or remove it first")
    if not out.parent.is_dir():
        raise UsageError("report-folder", f"{out.parent} is not a folder",
                         fix="create it first, or name a file in an existing folder")
    session.secrets()  # read: its values are masked from here on
    files, missing = asyncio.run(_collect(session, since, hastack_log))
    files["missing.json"] = json.dumps(missing, indent=2, sort_keys=True)
    # Written only once everything is collected: a run that fails leaves no archive.
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    stamp = int(time.time())
    with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as archive:
        for name, text in sorted(files.items()):
            data = mask(text).encode()
            info = tarfile.TarInfo(f"hastack-report/{name}")
            info.size, info.mtime, info.mode = len(data), stamp, 0o600
            archive.addfile(info, io.BytesIO(data))
    return Report(out, sorted(files), missing)
