"""hastack: neutron's API under uWSGI, with its eventlet hub run every second."""
import runpy

application = runpy.run_path("/usr/bin/neutron-api")["application"]

import eventlet  # noqa: E402  (after the monkey-patching of neutron's script)
import uwsgi  # noqa: E402


def run_hub(signum):
    eventlet.sleep(0.1)


if not uwsgi.signal_registered(17):  # once for every worker
    uwsgi.register_signal(17, "workers", run_hub)
    uwsgi.add_timer(17, 1)
