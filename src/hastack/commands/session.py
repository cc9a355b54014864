"""The session a command runs in: one site file, how its nodes are reached, and where
progress goes. Loading and rendering happen once per session, on first use."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from hastack.commands.progress import Progress
from hastack.errors import UsageError

if TYPE_CHECKING:
    from hastack.catalog.contract import CatalogEntry
    from hastack.catalog.secret_text import SecretRef
    from hastack.deploy.apply import Event
    from hastack.render.site import SiteRendering
    from hastack.secrets import Secrets
    from hastack.site.load import LoadedSite
    from hastack.transport.base import Transport

Scope = Literal["all", "core"]
SCOPES: tuple[Scope, ...] = ("all", "core")


def checked_scope(scope: str) -> Scope:
    """``scope`` as given by a caller (the CLI's --scope), checked."""
    if scope not in SCOPES:
        raise UsageError("usage", f"--scope {scope}: expected all or core", fix="see --help")
    return scope


def _ignore(event: Event) -> None:
    del event


@dataclass
class Session:
    """``site``: the site file; ``via``: auto (lab sites through the lab), lab or ssh;
    ``progress``: receives each deploy step as it ends (the CLI prints them); ``watch``: what
    a long command does while it runs (steps started, phases, counts; the CLI shows it live).
    """

    site: Path
    via: str = "auto"
    ssh_keys: tuple[Path, ...] | None = None
    known_hosts: Path | None = None
    progress: Callable[[Event], None] = _ignore
    watch: Progress = field(default_factory=Progress)
    _loaded: LoadedSite | None = field(default=None, init=False, repr=False)
    _renderings: dict[Scope, SiteRendering] = field(default_factory=dict, init=False,
                                                    repr=False)

    @classmethod
    def of(cls, loaded: LoadedSite) -> Session:
        """A session on a site already loaded (the lab's recorded copy of its site file)."""
        session = cls(loaded.path)
        session._loaded = loaded
        return session

    @property
    def loaded(self) -> LoadedSite:
        if self._loaded is None:
            from hastack import catalog

            self._loaded = catalog.load(self.site)
        return self._loaded

    def services(self, scope: Scope = "all") -> tuple[CatalogEntry, ...]:
        """The catalog entries a deploy of ``scope`` covers: all, or the HA core's."""
        from hastack import catalog

        return tuple(e for e in catalog.SERVICES if scope == "all" or e.name in catalog.CORE)

    def rendering(self, scope: Scope = "all") -> SiteRendering:
        if scope not in self._renderings:
            from hastack import catalog
            from hastack.render.site import render_site

            loaded = self.loaded
            self._renderings[scope] = render_site(loaded.site, loaded.placement, catalog.BASE,
                                                  self.services(scope))
        return self._renderings[scope]

    def secret_refs(self, scope: Scope = "all") -> tuple[list[SecretRef], dict[str, str]]:
        """Every secret ``scope`` uses that hastack generates, and the values the site
        supplies in its own files (its certificates, checked here) which stand in for the
        rest."""
        from hastack.catalog import tls
        from hastack.deploy.apply import secret_refs

        refs = secret_refs(self.loaded, self.rendering(scope), self.services(scope))
        supplied = tls.site_certificates(self.loaded, refs)
        return [r for r in refs if r.name not in supplied], supplied

    def secrets(self, scope: Scope = "all") -> Secrets:
        """The secrets a reading command needs, from the file; nothing is written."""
        from hastack.secrets import require_secrets, with_supplied

        refs, supplied = self.secret_refs(scope)
        return with_supplied(require_secrets(self.loaded.secrets_path, refs), supplied)

    def transports(self) -> dict[str, Transport]:
        from hastack.deploy.targets import transports

        return transports(self.loaded, via=self.via, ssh_keys=self.ssh_keys,
                          known_hosts=self.known_hosts)
