"""Run an OpenStack API operation with openstacksdk on a controller: the controllers reach
every VIP (the machine running hastack may be outside the cloud's network), and the
operation's code travels on stdin, its passwords in the environment."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hastack.agents import agent_text
from hastack.catalog import openstack as os_
from hastack.catalog import tls
from hastack.catalog.contract import ServiceContext
from hastack.catalog.secret_text import SecretRef
from hastack.catalog.steps import ApiCall, KeystoneEntry
from hastack.secrets import Secrets
from hastack.transport.base import Transport

PYTHON = "python3"
OPERATIONS = agent_text("openstack_api.py").encode()  # the program, on its stdin


@dataclass(frozen=True)
class ApiResult:
    ok: bool
    changed: bool
    detail: str
    seconds: float = 0.0  # the operation's own time on the node, without the program's start


@dataclass(frozen=True)
class ApiRequest:
    operation: str
    params: Mapping[str, Any]
    secret: SecretRef | None = None  # a password the operation sets


async def call(node: Transport, operation: str, params: Mapping[str, Any], *,
               ctx: ServiceContext, secrets: Secrets, secret: SecretRef | None = None,
               ensure: bool = True, timeout: float = 600) -> ApiResult:
    (result,) = await call_many(node, [ApiRequest(operation, params, secret)], ctx=ctx,
                                secrets=secrets, ensure=ensure, timeout=timeout)
    return result


async def call_many(node: Transport, requests: Sequence[ApiRequest], *, ctx: ServiceContext,
                    secrets: Secrets, ensure: bool = True, timeout: float = 600,
                    lanes: int | None = None) -> list[ApiResult]:
    """``requests`` by one program on ``node``: one start and one token for all of them;
    one after another when ensuring, else ``lanes`` at a time (by default a few reads at
    once). Each result stands alone (one failing does not stop the next)."""
    env = {"OS_AUTH_URL": os_.keystone_public_url(ctx) + "/v3",
           "OS_PASSWORD": secrets.lookup(os_.admin_password()),
           "OS_REGION_NAME": ctx.site.openstack.region,
           **({"OS_CACERT": tls.ca_path(ctx.site)} if tls.enabled(ctx.site) else {})}
    sent = []
    for i, request in enumerate(requests):
        if request.secret is not None:
            env[f"SECRET_PASSWORD_{i}"] = secrets.lookup(request.secret)
        # A parameter may be a public form of a secret (a service user's account name).
        sent.append({"operation": request.operation,
                     "params": {k: secrets.lookup(v) if isinstance(v, SecretRef) else v
                                for k, v in request.params.items()},
                     "secret": f"SECRET_PASSWORD_{i}" if request.secret is not None else None})
    done = await node.run([PYTHON, "-", json.dumps({"requests": sent, "ensure": ensure,
                                                       "lanes": lanes})],
                          stdin=OPERATIONS, env=env, timeout=timeout)
    lines = done.stdout.strip().splitlines()
    try:
        answers = json.loads(lines[-1])
        assert isinstance(answers, list) and len(answers) == len(requests)
    except (IndexError, json.JSONDecodeError, AssertionError):
        failed = (done.stderr or done.stdout).strip()[-800:] or f"exit status {done.returncode}"
        return [ApiResult(False, False, failed) for _ in requests]
    return [ApiResult(bool(a["ok"]), bool(a["changed"]), str(a["detail"]), float(a["seconds"]))
            for a in answers]


def secret_refs(step: KeystoneEntry | ApiCall, ctx: ServiceContext) -> list[SecretRef]:
    """The secrets a step needs: the admin password, and any password it sets."""
    _, params, secret = step_request(step, ctx)
    return [os_.admin_password(), *([secret] if secret is not None else []),
            *(v for v in params.values() if isinstance(v, SecretRef))]


def step_request(step: KeystoneEntry | ApiCall, ctx: ServiceContext
                 ) -> tuple[str, dict[str, Any], SecretRef | None]:
    """The operation, its parameters and the password it sets, for a catalog step."""
    if isinstance(step, KeystoneEntry):
        return ("keystone.register",
                {"service": step.service, "type": step.service_type, "url": step.url,
                 "user": step.account or step.user, "extra_roles": list(step.extra_roles),
                 "region": ctx.site.openstack.region}, step.password)
    return step.operation, dict(step.params), step.secret
