"""Drop-ins for the services systemd runs on its own (``cluster.manages: core``).

Without Pacemaker watching them, systemd is what brings a dead process back: ``Restart=always``
after a short pause, and no start limit, because a service that cannot reach its database or
bus yet (a cold start, a failover) must keep trying until they are back, never give up.
"""

from __future__ import annotations

from collections.abc import Sequence

from hastack.catalog.contract import HostUnit
from hastack.catalog.steps import ConfigFile, text_file

DROPIN = "hastack-restart.conf"
# Long enough that a crash loop (a service that exits at once) costs little CPU, short
# enough that a killed API is serving again well within the drills' 10 s.
RESTART_SEC = 2


def restart_dropins(members: Sequence[str], units: Sequence[HostUnit]) -> list[ConfigFile]:
    return [text_file(node, f"/etc/systemd/system/{u.unit}.service.d/{DROPIN}",
                      "# hastack: run by systemd, not Pacemaker (cluster.manages: core)\n"
                      "[Unit]\nStartLimitIntervalSec=0\n"
                      f"[Service]\nRestart=always\nRestartSec={RESTART_SEC}\n")
            for node in members for u in units]
