"""A running member's corosync node id never changes under it (deploy/nodeids.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from hastack import catalog
from hastack.deploy.nodeids import ids_in, refuse_renumbering
from hastack.errors import TransportError, UsageError
from hastack.process import Result
from hastack.render.corosync import node_ids, render_corosync

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "lab.yaml"


class Member:
    def __init__(self, conf: str | None) -> None:
        self.host, self.conf = "ctl1", conf

    async def run(self, argv: Sequence[str], *, stdin: bytes | None = None,
                  env: Mapping[str, str] | None = None, timeout: float = 600) -> Result:
        raise AssertionError("only reads its file")

    async def get(self, path: str) -> bytes:
        if self.conf is None:
            raise TransportError(self.host, f"no {path}")
        return self.conf.encode()


def test_ids_come_from_addresses_and_a_rendered_conf_reads_back_the_same() -> None:
    loaded = catalog.load(EXAMPLE)
    cluster = loaded.placement.clusters[0]
    assert node_ids(loaded.site, cluster) == {"ctl1": 11, "ctl2": 12, "ctl3": 13}
    assert ids_in(render_corosync(loaded.site, cluster)) == node_ids(loaded.site, cluster)


def test_a_cluster_formed_with_other_ids_is_refused_and_a_new_machine_is_not() -> None:
    wanted = {"ctl1": 11, "ctl2": 12, "ctl5": 15}
    old = ("nodelist {\n    node {\n        ring0_addr: 198.18.0.11\n        name: ctl1\n"
           "        nodeid: 1\n    }\n}\n")
    with pytest.raises(UsageError, match="renumber ctl1 from 1 to 11"):
        asyncio.run(refuse_renumbering({"ctl1": Member(old)}, wanted))  # type: ignore[dict-item]
    same = old.replace("nodeid: 1\n", "nodeid: 11\n")
    asyncio.run(refuse_renumbering({"ctl1": Member(same), "ctl5": Member(None)},  # type: ignore[dict-item]
                                   wanted))
