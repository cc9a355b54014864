"""The failures to simulate, spelled KIND:ARG on the command line.

node-fail:NODE        a node lost (power): a member, or a compute (its remote connection
                      fails and it is fenced)
nodes-fail:A,B        two members lost at once
partition:NODE        NODE cut off from the other members: the majority's view and NODE's own
monitor-fail:RSC@NODE RSC's monitor fails on NODE with a hard error (OCF_ERR_INSTALLED): the
                      service is broken there, so Pacemaker must recover it elsewhere
fence-fail:NODE       NODE lost and its fencing never succeeds
cold-start            every member powered off and back: the cluster starts from nothing
"""

from __future__ import annotations

import difflib
import itertools
import re
from dataclasses import dataclass, replace

from hastack.errors import UsageError
from hastack.pacemaker.status import ClusterStatus
from hastack.simulate.model import SimCluster

KINDS = ("node-fail", "nodes-fail", "partition", "monitor-fail", "fence-fail", "cold-start")


@dataclass(frozen=True)
class Case:
    kind: str
    cluster: str
    nodes: tuple[str, ...] = ()
    resource: str = ""  # primitive id, for monitor-fail

    @property
    def spec(self) -> str:
        if self.kind == "cold-start":
            return self.kind
        if self.kind == "monitor-fail":
            return f"{self.kind}:{self.resource}@{self.nodes[0]}"
        return f"{self.kind}:{','.join(self.nodes)}"

    @property
    def failures(self) -> int:
        """How many independent things break (availability is only owed for one)."""
        return 2 if self.kind in ("nodes-fail", "fence-fail") else 1

    def renamed(self, old: str, new: str) -> Case:
        return replace(self, nodes=tuple(rename(n, old, new) for n in self.nodes),
                       resource=rename(self.resource, old, new))


def rename(text: str, old: str, new: str) -> str:
    """Replace the name ``old`` as a whole token (cmp1 in fence-cmp1, not in cmp10)."""
    return re.sub(rf"(?<![A-Za-z0-9_]){re.escape(old)}(?![A-Za-z0-9_])", new, text)


def running_instances(state: ClusterStatus) -> list[tuple[str, str]]:
    """(primitive id, node) of every active instance on a node that is up."""
    up = {n.name for n in state.nodes if n.online and not n.unclean}
    return sorted({(r.id, node) for r in state.resources if r.active for node in r.nodes
                   if node in up})


def enumerate_cases(cluster: SimCluster, baseline: ClusterStatus) -> list[Case]:
    name = cluster.name
    cases = [Case("cold-start", name)]
    cases += [Case("node-fail", name, (n,)) for n in cluster.nodes]
    cases += [Case("partition", name, (n,)) for n in cluster.members]
    cases += [Case("monitor-fail", name, (node,), rid)
              for rid, node in running_instances(baseline)]
    cases += [Case("nodes-fail", name, pair)
              for pair in itertools.combinations(cluster.members, 2)]
    cases += [Case("fence-fail", name, (n,)) for n in cluster.nodes]
    return cases


def _unknown(what: str, value: str, choices: list[str], fix: str) -> UsageError:
    close = difflib.get_close_matches(value, choices, n=3)
    hint = f"did you mean {', '.join(close)}? " if close else ""
    return UsageError("simulate-unknown-case", f"unknown {what} '{value}'", fix=hint + fix)


def parse_case(spec: str, clusters: tuple[SimCluster, ...]) -> Case:
    """A case from its KIND:ARG spelling, on the cluster that holds its node or resource.

    Raises:
        UsageError: unknown kind, node or resource.
    """
    kind, _, arg = spec.partition(":")
    if kind not in KINDS:
        raise _unknown("case kind", kind, list(KINDS), "kinds: " + ", ".join(KINDS))
    if kind == "cold-start":
        if len(clusters) > 1 and arg not in [c.name for c in clusters]:
            raise _unknown("cluster", arg, [c.name for c in clusters],
                           "cold-start:CLUSTER on a site with several clusters")
        return Case(kind, arg or clusters[0].name)
    if kind == "monitor-fail":
        rsc, _, node = arg.partition("@")
        for cluster in clusters:
            if cluster.resource(rsc) is not None and node in cluster.nodes:
                return Case(kind, cluster.name, (node,), cluster.primitive_id(rsc))
        names = [p.id for c in clusters for p in c.primitives()]
        if rsc not in names and not any(c.resource(rsc) for c in clusters):
            raise _unknown("resource", rsc, names, "monitor-fail:RESOURCE@NODE")
        raise _unknown("node", node, [n for c in clusters for n in c.nodes],
                       f"a node of the cluster running {rsc}")
    nodes = tuple(n for n in arg.split(",") if n)
    expected = 2 if kind == "nodes-fail" else 1
    if len(nodes) != expected:
        raise UsageError("simulate-unknown-case", f"{kind} takes {expected} node(s)",
                         fix=f"e.g. {kind}:{','.join(['ctl1', 'ctl2'][:expected])}")
    for cluster in clusters:
        pool = cluster.members if kind in ("partition", "nodes-fail") else cluster.nodes
        if all(n in pool for n in nodes):
            return Case(kind, cluster.name, nodes)
    everyone = [n for c in clusters for n in c.nodes]
    bad = next((n for n in nodes if n not in everyone), nodes[0])
    raise _unknown("node", bad, everyone,
                   "members of one cluster" if kind != "node-fail" else "a cluster's node")
