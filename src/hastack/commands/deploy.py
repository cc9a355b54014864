"""Deploy a site: idempotent (a re-run changes nothing) and resumable."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from hastack.commands.session import Scope, Session
    from hastack.deploy.apply import Event
    from hastack.secrets import Secrets


@dataclass(frozen=True)
class Deployed:
    """Every step's outcome; ``diffs``: with ``dry_run``, what each node's files would
    become; ``rotated``: the secrets given new values (secrets rotate)."""

    dry_run: bool
    changed: bool
    steps: tuple[Event, ...]
    diffs: tuple[str, ...]
    rotated: tuple[str, ...] = ()


def deploy(session: Session, *, scope: str = "all", dry_run: bool = False) -> Deployed:
    """Converge every node of the site on its rendering; ``scope`` core: the cluster,
    HAProxy and VIPs, Galera, memcached and RabbitMQ only. Missing secrets are generated and
    written once the nodes show they hold no other ones.

    Raises:
        SiteError: the site or its secrets are wrong (nothing touched).
        HastackError: a node or tool failed; a re-run picks up where it stopped.
    """
    from hastack.commands.session import checked_scope
    from hastack.secrets import ensure_secrets, with_supplied

    covered = checked_scope(scope)
    refs, supplied = session.secret_refs(covered)
    store = with_supplied(ensure_secrets(session.loaded.secrets_path, refs, write=False),
                          supplied)
    return run_deploy(session, covered, store, dry_run=dry_run)


def run_deploy(session: Session, scope: Scope, store: Secrets, *, dry_run: bool,
               rotated: tuple[str, ...] = ()) -> Deployed:
    from hastack import catalog
    from hastack.deploy.apply import Deployment
    from hastack.deploy.apply import deploy as converge

    d = Deployment(loaded=session.loaded, base=catalog.BASE, catalog=session.services(scope),
                   rendering=session.rendering(scope), secrets=store,
                   transports=session.transports(), dry_run=dry_run, emit=session.progress,
                   started=_counting_services(session, scope))
    asyncio.run(converge(d))
    return Deployed(dry_run, d.changed, tuple(d.events), tuple(d.diffs), rotated)


def _counting_services(session: Session, scope: Scope) -> Callable[[str, str | None], None]:
    """The engine's ``started``, for ``session.watch``: each step, and which service of how
    many the run is at when a service's stage starts."""
    from hastack.deploy.plan import service_order

    order = [e.name for e in service_order(session.services(scope), session.loaded.placement)]

    def started(stage: str, node: str | None) -> None:
        kind, _, name = stage.partition(":")
        if kind == "service" and name in order:
            session.watch.counted("service", order.index(name) + 1, len(order), name)
        session.watch.started(stage, node)
    return started
