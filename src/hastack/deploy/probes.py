"""One-time actions' steps on a node, and their done-probes asked all at once.

A re-run of a deployed site spends most of its time asking, one after another, whether each
one-time action is already done (a probe starts a CLI or an API program on a node: from a
tenth of a second to seconds each). ``ask_all`` asks them together before the services'
stages, once the files are written and every cluster runs: every probe of a node at once,
the API registrations of a node in one program. A "done" is trusted only while the run
changes nothing after it was asked: once it does (a configuration pushed, a service
restarted, an action run), an action is asked again at its stage, since what changed may be
what its probe sees (a compute maps into nova only once its nova-compute has started and
registered). A "not done" is always asked again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from hastack.catalog.contract import ServiceContext
from hastack.catalog.steps import Action, ApiCall, Command, KeystoneEntry, Sql
from hastack.errors import HastackError, PlanError, TransportError
from hastack.osapi import client as osapi_client
from hastack.secrets import Secrets
from hastack.transport.base import Transport

# Probes at once on one node: enough to overlap their waits, few enough for a busy node.
PER_NODE = 4
# The API registrations of a node asked together: a cloud that does not answer by then is
# asked again at each stage (where the deploy may first have to bring it up).
API_TIMEOUT = 60

Key = tuple[str, str]  # (action name, target node)


@dataclass(frozen=True)
class Asked:
    """An action of the run and the node it runs on."""

    action: Action
    target: str
    ctx: ServiceContext

    @property
    def key(self) -> Key:
        return self.action.name, self.target


def is_api(action: Action) -> bool:
    """An API registration says itself whether it would change anything (no probe)."""
    return isinstance(action.run, KeystoneEntry | ApiCall) and action.done is None


async def execute(node: Transport, step: object, secrets: Secrets) -> str:
    if isinstance(step, Command):
        argv = list(step.argv)
        if step.user:
            argv = ["runuser", "-u", step.user, "--", *argv]
        env = {k: v.resolve(secrets.lookup) for k, v in step.env}
        stdin = step.stdin.resolve(secrets.lookup).encode() if step.stdin else None
        return (await node.run(argv, stdin=stdin, env=env)).check().stdout
    if isinstance(step, Sql):
        script = "".join(s.resolve(secrets.lookup) + ";\n" for s in step.statements)
        return (await node.run(["mysql", "--batch", "--skip-column-names"],
                               stdin=script.encode())).check().stdout
    raise PlanError("deploy-step-unsupported", f"the deploy engine cannot run {step!r} yet",
                    fix="this step kind arrives with the OpenStack services (issue 6)")


async def holds(node: Transport, step: object, secrets: Secrets) -> bool:
    """A done-probe holds when its command succeeds (SQL: returns at least one row)."""
    try:
        out = await execute(node, step, secrets)
    except TransportError:
        return False
    return bool(out.strip()) if isinstance(step, Sql) else True


def api_requests(pending: Sequence[Asked]) -> list[osapi_client.ApiRequest]:
    requests = []
    for asked in pending:
        assert isinstance(asked.action.run, KeystoneEntry | ApiCall)
        operation, params, secret = osapi_client.step_request(asked.action.run, asked.ctx)
        requests.append(osapi_client.ApiRequest(operation, params, secret))
    return requests


async def ask_all(transports: Mapping[str, Transport], secrets: Secrets,
                  work: Sequence[Asked]) -> dict[Key, str]:
    """Which of ``work`` is done already: per action and node, what its answer said (an
    API registration's detail). An action whose probe fails or cannot be asked is left out:
    it is asked again at its stage."""
    limits = {target: asyncio.Semaphore(PER_NODE) for target in {a.target for a in work}}

    async def probe(asked: Asked) -> dict[Key, str]:
        async with limits[asked.target]:
            done = await holds(transports[asked.target], asked.action.done, secrets)
        return {asked.key: asked.action.what} if done else {}

    async def registrations(target: str, pending: list[Asked]) -> dict[Key, str]:
        try:
            results = await osapi_client.call_many(
                transports[target], api_requests(pending), ctx=pending[0].ctx,
                secrets=secrets, ensure=False, timeout=API_TIMEOUT)
        except HastackError:
            return {}
        return {asked.key: f"{asked.action.what}: {result.detail}"
                for asked, result in zip(pending, results, strict=True)
                if result.ok and not result.changed}

    by_target: dict[str, list[Asked]] = {}
    for asked in work:
        if is_api(asked.action):
            by_target.setdefault(asked.target, []).append(asked)
    answers = await asyncio.gather(
        *(probe(a) for a in work if a.action.done is not None),
        *(registrations(t, pending) for t, pending in by_target.items()))
    return {key: detail for answer in answers for key, detail in answer.items()}
