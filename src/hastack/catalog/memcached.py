"""Memcached: the token and session cache, A/A on every member, never proxied.

Guide: Database Cache. Clients get the list of every member (oslo.cache, keystonemiddleware,
horizon) with short dead-retry and socket timeouts (catalog.openstack), so a fenced member
costs a request at most a second; nothing fails over, nothing is shared.
"""

from __future__ import annotations

from hastack.catalog.cib_model import (
    FAILOVER_MONITOR,
    CibSetting,
    Constraint,
    Resource,
    clone,
    resource_id,
    systemd,
)
from hastack.catalog.contract import HAMode, Service, ServiceContext
from hastack.catalog.openstack import MEMCACHED_PORT
from hastack.catalog.steps import Check, Command, ConfigFile, text_file

SERVICE = Service(
    name="memcached",
    ha_mode=HAMode.ACTIVE_ACTIVE,
    packages=("memcached",),
    summary="token/session cache, clone on every member",
    failover=True,
)

MEMORY_MB = 256  # tokens and sessions are small; the lab machines share 24 GiB
MAX_CONNECTIONS = 4096  # every API worker of every node keeps a pool


def config(ctx: ServiceContext) -> list[ConfigFile]:
    return [text_file(n.name, "/etc/memcached.conf",
                      "# Rendered by hastack.\n-u memcache\n",
                      f"-l {n.address}\n-p {MEMCACHED_PORT}\n-U 0\n-m {MEMORY_MB}\n",
                      f"-c {MAX_CONNECTIONS}\n-P /var/run/memcached/memcached.pid\n")
            for n in ctx.members]


def resources(ctx: ServiceContext) -> list[Resource | CibSetting]:
    return [clone(systemd(resource_id("memcached"), ctx.unit("memcached"), start="60s",
                          interval=FAILOVER_MONITOR))]


def constraints(ctx: ServiceContext) -> list[Constraint]:
    return []




def checks(ctx: ServiceContext) -> list[Check]:
    return [Check(name="memcached-set-get", what="set then get a key on every member",
                  probe=Command(argv=("memcached.set-get",)), expect="the value read back",
                  on="all", drills=("power-loss",))]
