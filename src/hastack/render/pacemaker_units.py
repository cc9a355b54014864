"""Units Pacemaker drives through its systemd class: Pacemaker's per-unit drop-in, written
once by hastack, and Pacemaker kept from writing it (and reloading systemd) at every action.

Pacemaker 2.1.5 (Debian 12) writes ``/run/systemd/system/UNIT.service.d/50-pacemaker.conf``
before every start and removes it after every stop, each time followed by a reload of the
node's systemd. It then reads the unit's state 2 s after systemd accepted the start and takes
``inactive`` for a failed start (daemons/execd/execd_commands.c). systemd runs a queued job
only when it has nothing else to do, so under a burst of starts, each with its reload, a
start still queued behind them was read as failed: in a cold start of the whole plane the
reloads ran back to back (1.3-2.3 s each) and nova-api's failed start held nova's chain back
36 s. Pacemaker 3.0.1 waits for systemd's JobRemoved signal instead.

Here the drop-in's lasting settings are hastack's own drop-in (``Restart=no``: Pacemaker
repairs; systemd's start timeout is Pacemaker's, which upstream still lists as to do), and
the unit's runtime drop-in directory is a symlink to a path that does not exist (tmpfiles.d
makes it at boot, deploy at once): Pacemaker cannot open its file there, logs ``Cannot open
systemd override file ... for writing`` and reloads nothing; at a stop it has nothing to
remove and reloads nothing. systemd reads no drop-in there, and ``systemctl cat`` shows the
unit as usual (a directory in the file's place made it fail).

Pacemaker's drop-in also orders the unit before Pacemaker, so that a shutdown stops
Pacemaker first, and it removes the drop-in before each stop: kept for good, that ordering
made every stop Pacemaker asks for while its own unit stops (``systemctl stop pacemaker``)
wait for that stop to end, which waited for them. hastack's drop-in does not order it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from hastack.catalog.cib_model import Clone, Primitive
from hastack.catalog.steps import ConfigFile, text_file
from hastack.render.priority import systemd_primitives

DROPIN = "hastack-cluster.conf"
TMPFILES = "/etc/tmpfiles.d/hastack-pacemaker-units.conf"
# Where the runtime drop-in directory of each such unit points: nowhere.
NOWHERE = "/nonexistent/hastack-cluster.conf"


def runtime_dropins(unit: str) -> str:
    """The directory Pacemaker 2.1.5 writes its drop-in for ``unit`` into."""
    return f"/run/systemd/system/{unit}.service.d"


def dropin_text(unit: str, start_timeout: str | None) -> str:
    # systemd's own start timeout (90 s unless the unit says otherwise) would end a
    # Type=notify start Pacemaker still waits for: in a cold start of the whole plane
    # every nova-scheduler, sharing the CPU with every other service loading, was killed at
    # 90 s and started again one after another (Pacemaker's start timeout: 200 s).
    timeout = f"TimeoutStartSec={start_timeout}\n" if start_timeout else ""
    return ("# hastack: driven by Pacemaker (render/pacemaker_units.py)\n"
            f"[Unit]\nDescription=Cluster Controlled {unit}\n"
            f"[Service]\nRestart=no\n{timeout}")


def pacemaker_unit_files(members: Sequence[str], remotes: Sequence[str],
                         resources: Iterable[Primitive | Clone]) -> list[ConfigFile]:
    """Per node, a drop-in for every systemd unit Pacemaker (or pacemaker_remote) drives
    there, and the tmpfiles.d entries that point their runtime drop-in directories nowhere."""
    units: dict[str, dict[str, str | None]] = {}
    for primitive in systemd_primitives(resources):
        start = next((op.timeout for op in primitive.ops if op.name == "start"), None)
        for node in members if primitive.runs_on == "controller" else remotes:
            units.setdefault(node, {}).setdefault(primitive.systemd_unit or "", start)
    files = []
    for node, timeouts in units.items():
        files += [text_file(node, f"/etc/systemd/system/{u}.service.d/{DROPIN}",
                            dropin_text(u, t)) for u, t in timeouts.items()]
        files.append(text_file(node, TMPFILES,
                               "# hastack: Pacemaker cannot write (and reload for) its "
                               "drop-ins (render/pacemaker_units.py)\n",
                               *(f"L+ {runtime_dropins(u)} - - - - {NOWHERE}\n"
                                 for u in timeouts)))
    return files
