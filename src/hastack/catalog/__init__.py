"""The service catalog: an explicit registry of one module per service of the guide.

Order matters: it is the guide's order of deployment, and the order VIPs are allocated in.
``cluster`` is the base every cluster gets; the others are placed by the site.
"""

from __future__ import annotations

from hastack.catalog import keystone
from hastack.catalog.base import CatalogEntry

SERVICES: tuple[CatalogEntry, ...] = tuple(
    CatalogEntry(module)
    for module in (
        keystone,
    )
)


def entry(name: str) -> CatalogEntry:
    for service in SERVICES:
        if service.name == name:
            return service
    raise KeyError(name)
