"""What a service asks to be done on its nodes: files (INI or text, with their owner and
mode), one-time actions (a command, SQL, a keystone entry, an API call, an HTTP probe), each
with its own done-check, and the checks verify runs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from hastack.catalog.secret_text import Part, SecretRef, Text, Value, as_text, compose

IniSections = tuple[tuple[str, tuple[tuple[str, Value], ...]], ...]


PACEMAKER_AUTHKEY = "/etc/pacemaker/authkey"  # members and pacemaker_remote nodes share it
REMOTE_ENVIRONMENT = "/etc/default/pacemaker"  # pacemaker_remote's environment on a compute
REMOTE_PORT = 3121  # pacemaker_remoted's TLS-PSK listener


@dataclass(frozen=True)
class ConfigFile:
    """One file on one node. ``ini`` is rendered as an oslo INI file, ``text`` verbatim."""

    node: str
    path: str
    owner: str = "root"
    group: str = "root"
    mode: int = 0o644
    ini: IniSections | None = None
    text: Text | None = None
    service: str = ""
    # A change here reaches every member at once (deploy restarts them together, not one by
    # one): members on either side of it cannot talk to each other (their link's protocol).
    together: bool = False
    # Other services on the node that read this file: a change restarts them too.
    readers: tuple[str, ...] = ()
    # False: read only when the service starts or joins its cluster (the list of members):
    # a change needs no restart, and a member added or removed restarts none of the others.
    restart: bool = True

    def secrets(self) -> tuple[SecretRef, ...]:
        if self.text is not None:
            return self.text.secrets()
        found: list[SecretRef] = []
        for _, options in self.ini or ():
            for _, value in options:
                found.extend(as_text(value).secrets())
        return tuple(found)


def ini_file(node: str, path: str, sections: Mapping[str, Mapping[str, Value]], *,
             owner: str = "root", group: str = "root", mode: int = 0o640) -> ConfigFile:
    """An INI file from nested mappings (sections and keys keep their order)."""
    return ConfigFile(node=node, path=path, owner=owner, group=group, mode=mode,
                      ini=tuple((name, tuple(opts.items())) for name, opts in sections.items()))


def text_file(node: str, path: str, *parts: Part | Text, owner: str = "root",
              group: str = "root", mode: int = 0o644, together: bool = False,
              restart: bool = True) -> ConfigFile:
    return ConfigFile(node=node, path=path, owner=owner, group=group, mode=mode,
                      text=compose(*parts), together=together, restart=restart)


@dataclass(frozen=True)
class Command:
    """A command on a node: argv never holds a secret; secrets go in on stdin."""

    argv: tuple[str, ...]
    stdin: Text | None = None
    user: str | None = None
    env: tuple[tuple[str, Text], ...] = ()  # secrets go here or on stdin, never in argv


@dataclass(frozen=True)
class Sql:
    """SQL run with the local client on a database member, statements in order."""

    statements: tuple[Text, ...]


@dataclass(frozen=True)
class KeystoneEntry:
    """Register a service in keystone: its user (role admin on project 'service'),
    its catalog entry and one endpoint per interface, all on its VIP."""

    service: str
    service_type: str
    url: str
    user: str | None = None
    password: SecretRef | None = None
    extra_roles: tuple[str, ...] = ()
    account: SecretRef | None = None  # the user's current account (see SecretRef "keystone")


@dataclass(frozen=True)
class ApiCall:
    """An OpenStack API operation made in-process with openstacksdk as admin through the VIPs
    (``operation`` is a name the verify layer knows, e.g. 'token.issue')."""

    operation: str
    # A value may be the public form of a secret (an account's name), resolved when sent.
    params: tuple[tuple[str, str | SecretRef | tuple[tuple[str, str], ...]], ...] = ()
    secret: SecretRef | None = None  # a password the operation sets (sent by environment)


@dataclass(frozen=True)
class HttpProbe:
    url: str
    expect_status: tuple[int, ...] = (200,)
    contains: str | None = None


Step = Command | Sql | KeystoneEntry | HttpProbe | ApiCall


@dataclass(frozen=True)
class Action:
    """A one-time bootstrap step, run on one member, skipped when ``done`` already holds."""

    name: str
    what: str
    run: Step
    done: Step | None = None
    on: Literal["first", "all"] = "first"
    where: str | None = None  # run on the cluster of this service (e.g. 'galera' for SQL)
    # before-start: prepares what the service needs to start (schema); after-start: needs
    # the service itself running (e.g. users inside the database it is); preflight: before
    # anything changes, run only when a node the site no longer lists is still in a cluster
    # (deploy/departed.py), to move the service off it or refuse; departed: likewise only
    # then, after every push (its services there stopped), to forget its records; joined:
    # once a member added to a running cluster is out of standby and runs everything.
    phase: Literal["before-start", "after-start", "preflight", "departed", "joined"] = \
        "before-start"


@dataclass(frozen=True)
class Check:
    """A functional check (the guide's *-test.sh actions, asserted) and the drills it serves."""

    name: str
    what: str
    probe: Step
    expect: str
    on: Literal["first", "all", "vip"] = "first"
    drills: tuple[str, ...] = ()
