"""Which transport reaches each node: lab machines by nsenter, everything else by SSH."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from hastack.errors import UsageError
from hastack.lab import machine as machines
from hastack.lab.layout import STATE_ROOT, lab_layout
from hastack.site.load import LoadedSite
from hastack.site.model import FenceType, Role
from hastack.transport.base import Transport
from hastack.transport.lab import LabTransport
from hastack.transport.ssh import SshTransport


def is_lab(loaded: LoadedSite) -> bool:
    return all(n.fencing is not None and n.fencing.type is FenceType.LAB
               for n in loaded.site.nodes if n.role is not Role.GATEWAY)


def transports(loaded: LoadedSite, *, via: str = "auto", state_root: Path = STATE_ROOT,
               ssh_user: str = "root", known_hosts: Path | None = None,
               ssh_keys: tuple[Path, ...] | None = None) -> dict[str, Transport]:
    """One transport per node; ``via`` is auto (lab sites by nsenter), lab or ssh."""
    if via not in ("auto", "lab", "ssh"):
        raise UsageError("usage", f"--via {via}: expected auto, lab or ssh", fix="see --help")
    use_lab = is_lab(loaded) if via == "auto" else via == "lab"
    out: dict[str, Transport] = {}
    if use_lab:
        layout = lab_layout(loaded.site, state_root)
        for spec in layout.machines:
            out[spec.name] = LabTransport(spec.name, partial(machines.pid1, spec))
        return out
    for node in loaded.site.nodes:
        out[node.name] = SshTransport(node.name, str(node.address), user=ssh_user,
                                      known_hosts=known_hosts, client_keys=ssh_keys)
    return out
