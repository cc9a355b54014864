"""One fault, one repair: every constraint that makes a failure spread says why it must.

A Mandatory order stops and restarts its ``then`` whenever its ``first`` stops; a positive
colocation takes its ``rsc`` off a node its ``with_rsc`` leaves. Either carries the reason a
running service cannot do without the other (``why``), or it is a start-up order (Optional)
and no colocation at all.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from hastack import catalog
from hastack.catalog.cib_model import Colocation, Constraint, Order, chain, needs
from hastack.render.site import SiteRendering
from hastack.simulate.invariants import dependents, stated_edges
from hastack.simulate.model import sim_clusters
from hastack.site.load import LoadedSite


def _spreads(con: Constraint) -> bool:
    if isinstance(con, Order):
        return con.kind == "Mandatory"
    if isinstance(con, Colocation):
        return not con.score.startswith("-")
    return False


def unexplained(rendered: SiteRendering) -> list[str]:
    return [f"{cluster.name}: {type(con).__name__} {' -> '.join(con.refs)}"
            for cluster in rendered.clusters for con in cluster.model.constraints
            if _spreads(con) and not getattr(con, "why", "").strip()]


def test_every_mandatory_order_and_colocation_says_why(rendered: SiteRendering) -> None:
    missing = unexplained(rendered)
    assert not missing, "Mandatory orders / colocations without a why:\n" + "\n".join(missing)


def test_what_the_catalog_states_the_architecture_admits(example: LoadedSite,
                                                         rendered: SiteRendering) -> None:
    # simulate's one-fault-one-repair admits a stated dependency only when its own table
    # (RUNNING_DEPENDENCIES) does too: the two must agree, or a monitor-fail case fails.
    for cluster in sim_clusters(example.site, example.placement, rendered, catalog.BASE,
                                catalog.SERVICES):
        for needed, stated in stated_edges(cluster).items():
            extra = set(stated) - dependents(cluster, needed)
            assert not extra, f"{cluster.name}: {sorted(extra)} stated to need {needed}"


def test_the_check_names_a_mandatory_order_without_why(rendered: SiteRendering) -> None:
    cluster = rendered.clusters[0]
    bare = Order("memcached-clone", "keystone-clone")
    model = replace(cluster.model, constraints=(*cluster.model.constraints, bare))
    broken = replace(rendered, clusters=(replace(cluster, model=model), *rendered.clusters[1:]))
    assert f"{cluster.name}: Order memcached-clone -> keystone-clone" in unexplained(broken)


def test_chain_is_start_order_only_and_needs_says_why() -> None:
    assert chain("a", "b", "c") == [Order("a", "b", kind="Optional", symmetrical=False),
                                    Order("b", "c", kind="Optional", symmetrical=False)]
    with pytest.raises(TypeError):
        needs("fs", "api")  # type: ignore[call-arg]
    order, colocation = needs("fs", "api", why="reads its data there")
    assert order == Order("fs", "api", why="reads its data there")
    assert colocation == Colocation("api", "fs", why="reads its data there")
