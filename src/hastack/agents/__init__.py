"""Agents hastack installs on cluster nodes: standalone scripts shipped as package data.

hastack never imports them at run time; the catalog reads their text and puts it on the nodes
(catalog/compute.py). ``evacuate.py`` is instance HA's pair, installed under two names:
fence_hastack_evacuate (stonith) and NovaEvacuate (OCF); ``galera_check.py`` answers
HAProxy's health checks of a Galera member.
"""

from __future__ import annotations

from importlib import resources

EVACUATE = "evacuate.py"
GALERA_CHECK = "galera_check.py"  # HAProxy's Galera health check (catalog/galera.py)


def agent_text(name: str) -> str:
    """The text of one shipped agent script, as it is written to a node."""
    return resources.files(__name__).joinpath(name).read_text(encoding="utf-8")
