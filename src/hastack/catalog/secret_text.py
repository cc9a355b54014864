"""Text that may carry secrets: a rendered file's parts, each either plain text or a
reference to a secret that only the writer putting the file on a node resolves (str() and
repr() show ***), so a value never reaches a log, a diff or a golden file."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class SecretRef:
    """A secret by name; its value is only ever resolved by the writer that puts a file."""

    name: str
    # How a missing one is generated; "ipmi": IPMI 2.0 caps passwords at 20 bytes;
    # "tls-ca": the site's CA; "tls-leaf": a certificate the CA issues for ``subject``.
    # "keystone", "rabbitmq": a user's password, which names the account it belongs to (the
    # user, or its alternate after a rotation: keystone revokes a user's tokens when its
    # password changes, and RabbitMQ holds one password per user, so a rotation moves to the
    # other account instead; the one left is retired once nothing uses it).
    kind: Literal["password", "fernet", "key", "ipmi", "tls-ca", "tls-leaf",
                  "keystone", "rabbitmq"] = "password"
    user_supplied: bool = False  # e.g. a real BMC password: never generated, must be given
    subject: str = ""  # tls-leaf: the address its certificate names; keystone: the user
    domain: str = ""  # keystone: the user's domain, when not Default (heat's domain admin)
    issuer: str = ""  # tls-leaf: the tls-ca secret that issues it
    host: str = ""  # tls-leaf: the DNS name its certificate names too (default: its name)
    peer: bool = False  # tls-leaf: also a client's certificate (for mutual TLS)
    # What a file gets of a tls secret: its certificate alone (public), its key alone, or
    # certificate and key; of a keystone one: the password, or the account's name (public).
    form: Literal["value", "certificate", "key", "bundle", "password", "account"] = "value"
    # `secrets rotate`: "named": only when named (a person types it); "never": changing it
    # breaks what it protects (swift's hash path, the Erlang cookie of a running cluster);
    # "device": a BMC's or PDU's, changed on the device first.
    rotation: Literal["live", "named", "never", "device"] = "live"

    def __str__(self) -> str:
        return "***"

    def __repr__(self) -> str:
        return f"SecretRef({self.name!r}, ***)"

    @property
    def private(self) -> bool:
        """What a file gets of it is secret (a certificate alone is public)."""
        return self.form not in ("certificate", "account")


Part = str | SecretRef
ACCOUNT_KINDS = ("keystone", "rabbitmq")  # secrets that name their account (see SecretRef)


def _masked(ref: SecretRef) -> str:
    # An account's name is public, but which of a user's two it is lives with the password.
    if ref.form == "account":
        return f"{{{{account:{ref.subject}}}}}"
    return f"{{{{secret:{ref.name}}}}}"


@dataclass(frozen=True)
class Text:
    """Text made of plain parts and secrets; ``masked()`` is safe to show, ``resolve`` is not."""

    parts: tuple[Part, ...]

    def masked(self) -> str:
        return "".join(p if isinstance(p, str) else _masked(p) for p in self.parts)

    def resolve(self, lookup: Callable[[SecretRef], str]) -> str:
        return "".join(p if isinstance(p, str) else lookup(p) for p in self.parts)

    def secrets(self) -> tuple[SecretRef, ...]:
        return tuple(p for p in self.parts if isinstance(p, SecretRef))

    def __add__(self, other: Text | str) -> Text:
        return Text(self.parts + (other.parts if isinstance(other, Text) else (other,)))


Value = str | int | bool | SecretRef | Text


def compose(*parts: Part | Text) -> Text:
    """Join strings and secrets into one value, e.g. a database URL holding a password."""
    out: list[Part] = []
    for part in parts:
        out.extend(part.parts if isinstance(part, Text) else (part,))
    return Text(tuple(out))


def as_text(value: Value) -> Text:
    if isinstance(value, Text):
        return value
    if isinstance(value, SecretRef):
        return Text((value,))
    if isinstance(value, bool):
        return Text(("true" if value else "false",))
    return Text((str(value),))
