# mypy: ignore-errors
"""hastack: neutron's API under uWSGI, with its eventlet hub run every second.

Installed by catalog/neutron_server.py as neutron-api's WSGI file. Debian's script (loaded
here) monkey-patches eventlet, so neutron's background work runs as green threads: ML2's
pushes to the agents (a port bound), the batched notifications to nova. Under uWSGI the hub
runs only inside a request, so what a worker's last request queued waited for its next one
(in the lab an instance's port stayed unwired). A uWSGI timer gives the hub HUB_SLICE seconds
every second; a request arriving meanwhile waits at most that.
"""

import runpy

application = runpy.run_path("/usr/bin/neutron-api")["application"]

import eventlet  # noqa: E402  (after the monkey-patching of neutron's script)
import uwsgi  # noqa: E402

HUB_SIGNAL = 17  # a uWSGI signal number of its own (0-255), for the hub's timer
HUB_SLICE = 0.1


def run_hub(signum):
    eventlet.sleep(HUB_SLICE)


if not uwsgi.signal_registered(HUB_SIGNAL):  # once for every worker
    uwsgi.register_signal(HUB_SIGNAL, "workers", run_hub)
    uwsgi.add_timer(HUB_SIGNAL, 1)
