"""The service catalog: an explicit registry of one module per service of the guide.

Order matters: it is the guide's order of deployment, and the order VIPs are allocated in.
``BASE`` (the cluster module) is what every cluster gets; ``SERVICES`` are placed by the site.
"""

from __future__ import annotations

from pathlib import Path

from hastack.catalog import (
    ceilometer,
    cinder,
    cluster,
    compute,
    galera,
    glance,
    heat,
    horizon,
    keystone,
    loadbalancer,
    memcached,
    neutron_agents,
    neutron_server,
    nova,
    placement,
    rabbitmq,
    swift_proxy,
    swift_storage,
)
from hastack.catalog.contract import CatalogEntry
from hastack.site.load import LoadedSite, load_site

BASE = CatalogEntry(cluster)

SERVICES: tuple[CatalogEntry, ...] = tuple(
    CatalogEntry(module)
    for module in (
        loadbalancer,
        galera,
        memcached,
        rabbitmq,
        keystone,
        glance,
        cinder,
        swift_storage,
        swift_proxy,
        neutron_server,
        neutron_agents,
        placement,
        nova,
        ceilometer,
        heat,
        horizon,
        compute,
    )
)


# The guide's "core non-OpenStack services": what `make lab` deploys before the OpenStack
# services arrive.
CORE: tuple[str, ...] = ("loadbalancer", "galera", "memcached", "rabbitmq")


def entry(name: str) -> CatalogEntry:
    for service in SERVICES:
        if service.name == name:
            return service
    raise KeyError(name)


def load(path: str | Path) -> LoadedSite:
    """Load and validate a site file against this catalog (raises SiteError)."""
    return load_site(path, SERVICES)
