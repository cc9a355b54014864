"""Every catalog module has the same shape (docs/style.md §3) and keeps the guide's invariants."""

from __future__ import annotations

import inspect

import pytest

from hastack import catalog
from hastack.catalog.cib_model import CibSetting, Clone, Primitive
from hastack.catalog.contract import CatalogEntry, Listener, ServiceContext
from hastack.catalog.platform import platform_info
from hastack.catalog.steps import Action, Check, ConfigFile
from hastack.site.load import LoadedSite

FUNCTIONS = ("config", "resources", "constraints", "checks")
# Each defined only by a service that has some: listeners, one-time actions, accounts to end.
OPTIONAL = {"listeners": ["ctx"], "bootstrap": ["ctx"], "retire": ["ctx", "superseded"]}
ENTRIES = (catalog.BASE, *catalog.SERVICES)
# Active/passive by the guide (cinder-volume: one instance cluster-wide) and by this project
# (heat-engine): whatever the site, these must never be cloned.
ACTIVE_PASSIVE = ("cinder-volume", "heat-engine")


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.name)
def test_module_shape(entry: CatalogEntry) -> None:
    module = entry.module
    assert (module.__doc__ or "").strip(), f"{module.__name__} has no docstring"
    assert entry.service.packages, f"{entry.name} declares no packages"
    for name in FUNCTIONS:
        function = getattr(module, name, None)
        assert callable(function), f"{module.__name__} lacks {name}()"
        assert list(inspect.signature(function).parameters) == ["ctx"]
    for name, parameters in OPTIONAL.items():
        function = getattr(module, name, None)
        if function is not None:
            assert list(inspect.signature(function).parameters) == parameters, name


def test_service_names_unique_and_requirements_known() -> None:
    names = [e.name for e in catalog.SERVICES]
    assert len(names) == len(set(names))
    for entry in catalog.SERVICES:
        unknown = set(entry.requires) - set(names)
        assert not unknown, f"{entry.name} requires unknown services {unknown}"


def _contexts(example: LoadedSite) -> list[tuple[CatalogEntry, ServiceContext]]:
    platform = platform_info(example.site.platform.value)
    out = []
    for cluster in example.placement.clusters:
        out.append((catalog.BASE, ServiceContext(example.site, example.placement, "cluster",
                                                 platform, cluster_name=cluster.name)))
    for entry in catalog.SERVICES:
        if example.placement.has(entry.name):
            out.append((entry, ServiceContext(example.site, example.placement, entry.name,
                                              platform)))
    return out


def test_functions_return_typed_models(example: LoadedSite) -> None:
    for entry, ctx in _contexts(example):
        assert all(isinstance(f, ConfigFile) for f in entry.config(ctx)), entry.name
        assert all(isinstance(r, Primitive | Clone | CibSetting)
                   for r in entry.resources(ctx)), entry.name
        assert all(isinstance(x, Listener) for x in entry.listeners(ctx)), entry.name
        assert all(isinstance(a, Action) for a in entry.bootstrap(ctx)), entry.name
        assert all(isinstance(c, Check) for c in entry.checks(ctx)), entry.name


def test_config_files_are_for_this_cluster(example: LoadedSite) -> None:
    for entry, ctx in _contexts(example):
        allowed = {n.name for n in ctx.members + ctx.remotes}
        for f in entry.config(ctx):
            assert f.node in allowed, f"{entry.name} writes {f.path} on foreign node {f.node}"


def test_active_passive_services_are_never_cloned(example: LoadedSite) -> None:
    for entry, ctx in _contexts(example):
        for rsc in entry.resources(ctx):
            if isinstance(rsc, Clone):
                assert rsc.primitive.id not in ACTIVE_PASSIVE, f"{rsc.id} is cloned"


def test_secrets_never_literal_in_files(example: LoadedSite) -> None:
    """A password-like key always holds a SecretRef, never a literal string."""
    for entry, ctx in _contexts(example):
        for f in entry.config(ctx):
            for section, options in f.ini or ():
                for key, value in options:
                    if key in {"password", "admin_password", "metadata_proxy_shared_secret"}:
                        assert not isinstance(value, str), f"{f.path} [{section}] {key}"
