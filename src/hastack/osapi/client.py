"""Run an OpenStack API operation with openstacksdk on a controller: the controllers reach
every VIP (the machine running hastack may be outside the cloud's network), and the
operation's code travels on stdin, its passwords in the environment."""

from __future__ import annotations

import json
from collections.abc import Mapping
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


async def call(node: Transport, operation: str, params: Mapping[str, Any], *,
               ctx: ServiceContext, secrets: Secrets, secret: SecretRef | None = None,
               ensure: bool = True, timeout: float = 600) -> ApiResult:
    env = {"OS_AUTH_URL": os_.keystone_public_url(ctx) + "/v3",
           "OS_PASSWORD": secrets.lookup(os_.admin_password()),
           "OS_REGION_NAME": ctx.site.openstack.region,
           **({"OS_CACERT": tls.ca_path(ctx.site)} if tls.enabled(ctx.site) else {})}
    if secret is not None:
        env["SECRET_PASSWORD"] = secrets.lookup(secret)
    # A parameter may be a public form of a secret (a service user's account name).
    resolved = {k: secrets.lookup(v) if isinstance(v, SecretRef) else v
                for k, v in params.items()}
    request = json.dumps({"operation": operation, "params": resolved, "ensure": ensure})
    done = await node.run([PYTHON, "-", request], stdin=OPERATIONS, env=env,
                          timeout=timeout)
    lines = done.stdout.strip().splitlines()
    try:
        answer = json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError):
        return ApiResult(False, False, (done.stderr or done.stdout).strip()[-800:]
                         or f"exit status {done.returncode}")
    return ApiResult(bool(answer["ok"]), bool(answer["changed"]), str(answer["detail"]))


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
