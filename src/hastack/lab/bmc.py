"""A virtual BMC per lab machine: real IPMI lanplus on UDP 623, served by pyghmi.

Each BMC is its own process inside the switch namespace, bound to the machine's BMC address,
so the real ``fence_ipmilan`` in any machine fences any other through the real IPMI path.
Power on reports "on" at once and boots the OS after a short simulated POST, as hardware does:
a BMC that booted instantly let the fenced node rejoin before the fence returned (lab-notes).

Run as ``python -m hastack.lab.bmc STATE_DIR MACHINE`` (``lab up`` starts it).
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from pathlib import Path

from hastack.lab import machine as machines
from hastack.lab import net
from hastack.lab.layout import BMC_PORT, MachineSpec

log = logging.getLogger(__name__)
POST_SECONDS = 3.0  # simulated power-on self test before the OS boots


class LabBmc:
    """Power control of one machine, as the IPMI server calls it."""

    def __init__(self, machine: MachineSpec) -> None:
        self.machine = machine
        self._booting = threading.Lock()

    def get_power_state(self) -> str:
        return "on" if machines.is_on(self.machine) or self._booting.locked() else "off"

    def power_off(self) -> int:
        net.set_link(self.machine, up=False)
        machines.power_off(self.machine)
        dropped = net.drop_runtime_addresses(self.machine)
        log.info("bmc power off machine=%s dropped=%s", self.machine.name, ",".join(dropped))
        return 0

    def power_on(self) -> int:
        if machines.is_on(self.machine) or not self._booting.acquire(blocking=False):
            return 0
        threading.Thread(target=self._boot_after_post, daemon=True).start()
        return 0

    def _boot_after_post(self) -> None:
        try:
            time.sleep(POST_SECONDS)
            net.set_link(self.machine, up=True)
            machines.boot(self.machine)
            log.info("bmc power on machine=%s", self.machine.name)
        except Exception:
            log.exception("bmc power on failed machine=%s", self.machine.name)
        finally:
            self._booting.release()

    def power_cycle(self) -> int:
        self.power_off()
        return self.power_on()

    def power_reset(self) -> int:
        return self.power_cycle()

    def power_shutdown(self) -> int:
        return self.power_off()


def serve(machine: MachineSpec, user: str, password: str) -> None:
    """Serve IPMI for ``machine`` until killed."""
    from pyghmi.ipmi import bmc as pyghmi_bmc  # type: ignore[import-untyped]

    control = LabBmc(machine)

    class Server(pyghmi_bmc.Bmc):  # type: ignore[misc]
        def get_power_state(self) -> str:
            return control.get_power_state()

        def power_off(self) -> int:
            return control.power_off()

        def power_on(self) -> int:
            return control.power_on()

        def power_cycle(self) -> int:
            return control.power_cycle()

        def power_reset(self) -> int:
            return control.power_reset()

        def power_shutdown(self) -> int:
            return control.power_shutdown()

        def cold_reset(self) -> int:
            return 0

    server = Server({user: password}, port=BMC_PORT, address=str(machine.bmc_address))
    server.listen()


def main(argv: list[str]) -> None:
    """``python -m hastack.lab.bmc STATE_ROOT SITE NODE``: serve NODE's BMC until killed."""
    from hastack import catalog
    from hastack.lab.control import bmc_credentials
    from hastack.lab.layout import lab_layout
    from hastack.site.load import load_site

    state_root, site_path, node = Path(argv[1]), Path(argv[2]), argv[3]
    # The machines and their credentials are what it needs, but a site whose clusters name
    # services is valid only against the catalog.
    loaded = load_site(site_path, catalog.SERVICES)
    machine = lab_layout(loaded.site, state_root).machine(node)
    logging.basicConfig(filename=str(machine.dir / "bmc.log"), level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(message)s")
    user, password = bmc_credentials(loaded, node)
    serve(machine, user, password)


if __name__ == "__main__":
    main(sys.argv)
