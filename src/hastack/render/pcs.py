"""The same cluster configuration as pcs commands, for operators and pcs-only vendors.

Commands edit an offline CIB file (``pcs -f``), the form hastack itself was checked with
(lab-notes); pushing it is the last line.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable

from hastack.catalog.cib_model import (
    Clone,
    Colocation,
    FencingLevel,
    Location,
    Op,
    Order,
    Pairs,
    Primitive,
)
from hastack.render.cib import ClusterModel


def _kv(values: Pairs | Iterable[tuple[str, str]]) -> list[str]:
    return [shlex.quote(f"{k}={v}") for k, v in values]


def _op(op: Op) -> list[str]:
    words = [op.name, f"interval={op.interval}"]
    if op.timeout:
        words.append(f"timeout={op.timeout}")
    if op.on_fail:
        words.append(f"on-fail={op.on_fail}")
    if op.role:
        words.append(f"role={op.role}")
    return words


def _primitive_words(p: Primitive) -> list[str]:
    words = [p.id, p.agent.removeprefix("stonith:"), *_kv(p.params)]
    if p.ops:
        words.append("op")
        for op in p.ops:
            words += _op(op)
    if p.meta:
        words += ["meta", *_kv(p.meta)]
    return words


def _resource(rsc: Primitive | Clone) -> str:
    if isinstance(rsc, Primitive):
        verb = "stonith create" if rsc.is_stonith else "resource create"
        return f"{verb} {' '.join(_primitive_words(rsc))}"
    words = _primitive_words(rsc.primitive)
    kind = "promotable" if rsc.promotable else "clone"
    return f"resource create {' '.join(words)} {kind} {' '.join(_kv(rsc.meta))}".rstrip()


def _constraint(con: Order | Colocation | Location | FencingLevel) -> str:
    if isinstance(con, Order):
        opts = [f"kind={con.kind}"] + ([] if con.require_all else ["require-all=false"]) \
            + ([] if con.symmetrical else ["symmetrical=false"])
        return (f"constraint order {con.first_action} {con.first} then {con.then_action} "
                f"{con.then} {' '.join(opts)}")
    if isinstance(con, Colocation):
        role = f"{con.rsc_role} " if con.rsc_role else ""
        with_role = f"{con.with_rsc_role} " if con.with_rsc_role else ""
        return (f"constraint colocation add {role}{con.rsc} with {with_role}{con.with_rsc} "
                f"{con.score}")
    if isinstance(con, Location):
        if con.node is not None:
            return f"constraint location {con.rsc} prefers {con.node}={con.score}"
        discovery = (f"resource-discovery={con.resource_discovery} "
                     if con.resource_discovery else "")
        rule = " and ".join(f"{a} {op} {v}" for a, op, v in con.rule)
        return f"constraint location {con.rsc} rule {discovery}score={con.score} {rule}"
    return f"stonith level add {con.index} {con.target} {','.join(con.devices)}"


def render_pcs(model: ClusterModel, cib_file: str = "hastack-cib.xml") -> str:
    """A shell script of pcs commands building ``model`` in ``cib_file``, then pushing it."""
    pcs = f"pcs -f {shlex.quote(cib_file)}"
    lines = ["#!/bin/sh", f"# Cluster {model.name}: rendered by hastack.", "set -e",
             f"pcs cluster cib {shlex.quote(cib_file)}"]
    lines += [f"{pcs} property set {' '.join(_kv((p.name, p.value) for p in model.properties))}"]
    if model.defaults:
        lines.append(f"{pcs} resource defaults update "
                     f"{' '.join(_kv((d.name, d.value) for d in model.defaults))}")
    lines += [f"{pcs} node attribute {a.node} {shlex.quote(f'{a.name}={a.value}')}"
              for a in model.attributes]
    lines += [f"{pcs} {_resource(r)}" for r in model.resources]
    for alert in model.alerts:
        lines += [f"{pcs} alert create id={alert.id} path={shlex.quote(alert.path)}",
                  "# pcs cannot select events: node events only (<select><select_nodes/>) "
                  "is in the CIB hastack renders"]
    for con in model.constraints:
        # The CIB has no room for it: the reason a constraint must be lives here for humans.
        why = getattr(con, "why", "")
        if why:
            lines.append(f"# {why}")
        lines.append(f"{pcs} {_constraint(con)}")
    lines.append(f"pcs cluster cib-push {shlex.quote(cib_file)} --config")
    return "\n".join(lines) + "\n"
