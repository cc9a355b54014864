"""The site's secrets: generate what is missing; rotate and deploy new values."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from collections.abc import Sequence

    from hastack.commands.deploy import Deployed
    from hastack.commands.session import Session

SecretState = Literal["generated now", "present", "the site's own (openstack.certificates)"]


@dataclass(frozen=True)
class SecretEntry:
    name: str
    state: SecretState


@dataclass(frozen=True)
class SecretsListing:
    """Names and states only: values are never part of a result."""

    path: Path
    secrets: tuple[SecretEntry, ...]


def generate(session: Session) -> SecretsListing:
    """Every missing generated secret written to the site's secrets file (mode 0600).

    Raises:
        SiteError: a secret the operator must supply is missing, or the site's own
            certificates do not fit its VIPs.
    """
    from hastack.secrets import ensure_secrets

    refs, supplied = session.secret_refs()
    store = ensure_secrets(session.loaded.secrets_path, refs)
    names = sorted({r.name for r in refs} | set(supplied))
    return SecretsListing(store.path, tuple(
        SecretEntry(name, "the site's own (openstack.certificates)" if name in supplied
                    else "generated now" if name in store.generated else "present")
        for name in names))


def rotate(session: Session, names: Sequence[str] = ()) -> Deployed:
    """New values for ``names`` (default: every service password, keystone key and VIP
    certificate; the others only when named), then a deploy that makes every node take them
    (the file is written once the nodes agree).

    Raises:
        SiteError: a name is unknown, the site supplies it, or it is not rotated live.
    """
    from hastack.commands.deploy import run_deploy
    from hastack.secrets import refuse_supplied, with_supplied
    from hastack.secrets import rotate as new_values

    refs, supplied = session.secret_refs()
    refuse_supplied(names, supplied)
    store = with_supplied(new_values(session.loaded.secrets_path, refs, names), supplied)
    return run_deploy(session, "all", store, dry_run=False, rotated=store.generated)
