"""Ceilometer: telemetry without MongoDB — the central polling and notification agents, A/A.

Guide: Ceilometer. Upstream removed the API, collector, alarms and the MongoDB store
(docs/deviations.md); what remains is stateless. Central pollsters split their work across
members through tooz coordination; hastack points tooz at the memcached members instead of
the guide's Redis (no new service to make highly available). Samples are published to the
notification agents and then to a log file: Debian 12's gnocchi is not part of the guide.
"""

from __future__ import annotations

from hastack.catalog import openstack as os_
from hastack.catalog.cib_model import (
    CibSetting,
    Constraint,
    Order,
    Resource,
    chain,
    clone,
    clone_id,
    resource_id,
    systemd,
)
from hastack.catalog.contract import HAMode, Service, ServiceContext
from hastack.catalog.secret_text import SecretRef
from hastack.catalog.steps import Action, Check, ConfigFile, ini_file

SERVICE = Service(
    name="ceilometer",
    ha_mode=HAMode.ACTIVE_ACTIVE,
    packages=("ceilometer",),
    requires=("keystone", "rabbitmq", "memcached"),
    toggle="ceilometer",
    summary="telemetry: central polling and notification agents (A/A, tooz on memcached)",
)

AGENTS = ("central", "notification")


def ceilometer_conf(ctx: ServiceContext) -> os_.Sections:
    first = ctx.members_of("memcached")[0]
    return os_.merge(
        os_.messaging_sections(ctx),
        {"service_credentials": os_.service_credentials(ctx, "ceilometer",
                                                        interface="internalURL")},
        {"coordination": {"backend_url": f"memcached://{first.address}:"
                          f"{os_.MEMCACHED_PORT}"}},
        {"notification": {"workers": os_.workers(ctx) or 2}},
        {"publisher": {"telemetry_secret": SecretRef("ceilometer-telemetry-keystone")}},
    )


def config(ctx: ServiceContext) -> list[ConfigFile]:
    return [ini_file(n.name, "/etc/ceilometer/ceilometer.conf", ceilometer_conf(ctx),
                     group="ceilometer") for n in ctx.members]


def resources(ctx: ServiceContext) -> list[Resource | CibSetting]:
    return [clone(systemd(resource_id("ceilometer", a), ctx.unit(f"ceilometer-{a}")))
            for a in AGENTS]


def constraints(ctx: ServiceContext) -> list[Constraint]:
    ids = [clone_id("ceilometer", a) for a in AGENTS]
    return [Order(clone_id("keystone"), ids[0], kind="Optional"), *chain(*ids)]



def bootstrap(ctx: ServiceContext) -> list[Action]:
    return [os_.keystone_action("ceilometer", "metering", "", name="ceilometer")]


def checks(ctx: ServiceContext) -> list[Check]:
    return []
