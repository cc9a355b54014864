"""The secrets file beside a site file: generated where missing, mode 0600, never printed.

Only the writer that puts a file on a host resolves a secret; everything else sees names.
Real BMC passwords are never generated: the user adds them to the file.
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
import re
import secrets
import stat
import string
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import yaml

from hastack import pki
from hastack.catalog.secret_text import ACCOUNT_KINDS, SecretRef
from hastack.errors import Problem, SiteError
from hastack.logmask import register
from hastack.site.yaml_input import FileKind, compose_yaml, kind_of, read_text

log = logging.getLogger(__name__)

PASSWORD_ALPHABET = string.ascii_letters + string.digits  # safe in URLs, SQL and INI files
PASSWORD_LENGTH = 32
IPMI_PASSWORD_LENGTH = 20  # the most IPMI 2.0 (lanplus) accepts
KEY_BYTES = 256  # corosync and pacemaker authkeys: raw random bytes, kept base64 here


ALTERNATE = "-2"  # a service user's alternate account: nova, then nova-2, then nova again


def keystone_parts(ref: SecretRef, value: str) -> tuple[str, str]:
    """(account, password) of a keystone secret: ``password`` for the user's own account,
    ``account:password`` once a rotation moved it (":" is in no generated password)."""
    account, _, password = value.rpartition(":")
    return account or ref.subject, password


def alternate(ref: SecretRef, account: str) -> str:
    """The other account of a service user."""
    return ref.subject + ALTERNATE if account == ref.subject else ref.subject


def generate(ref: SecretRef, ca: str | None = None) -> str:
    """A new value of ``ref``'s kind; a tls-leaf is issued by ``ca`` (its issuer's value)."""
    if ref.kind == "tls-ca":
        return pki.new_ca().value()
    if ref.kind == "tls-leaf":
        if ca is None:
            raise ValueError(f"{ref.name}: a certificate needs the site CA")
        return pki.issue(pki.parse(ca), ref.subject, ref.host or ref.name,
                         peer=ref.peer).value()
    if ref.kind == "fernet":
        return base64.urlsafe_b64encode(os.urandom(32)).decode()
    if ref.kind == "key":
        return base64.b64encode(os.urandom(KEY_BYTES)).decode()
    length = IPMI_PASSWORD_LENGTH if ref.kind == "ipmi" else PASSWORD_LENGTH
    return "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(length))


@dataclass(frozen=True)
class Secrets:
    path: Path
    values: Mapping[str, str]
    generated: tuple[str, ...]
    unsaved: bool = False  # generated here and not yet written to ``path`` (see save)
    # Values the site gives in files of its own (its certificates): never written here.
    supplied: frozenset[str] = frozenset()
    # What a rotation replaced: the values the nodes still hold until deploy writes the new.
    previous: Mapping[str, str] = field(default_factory=dict)

    def lookup(self, ref: SecretRef) -> str:
        """The value to write into a file (a ``key`` secret is decoded by the byte writer)."""
        value = self.values[ref.name]
        if ref.form in ("password", "account"):
            account, password = keystone_parts(ref, value)
            return password if ref.form == "password" else account
        if ref.form == "certificate":
            return pki.parse(value).certificate_pem()
        if ref.form == "key":
            return pki.parse(value).key_pem()
        if ref.form == "bundle":
            return pki.bundle_pem(pki.parse(value))
        return value

    def key_bytes(self, ref: SecretRef) -> bytes:
        return base64.b64decode(self.values[ref.name])


SECRETS_FILE = FileKind(prefix="secrets", label="secrets file",
                        syntax_code="secrets-not-yaml", duplicate_code="secrets-duplicate-key")
SECRET_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
MAX_VALUE_BYTES = 4096  # the longest generated value, a base64 authkey, is 344
FERNET_BYTES = 32  # a Fernet key: 32 random bytes, URL-safe base64 (keystone refuses others)
# Control characters would end a line of a password file, an INI file or a fence agent's
# name=value input; the YAML reader lets a double-quoted "\n" or "\t" through.
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def read_secrets(path: Path, refs: Iterable[SecretRef] = ()) -> dict[str, str]:
    """Every secret of the file (none when it is absent), each value checked, and the values
    of ``refs`` checked by their kind.

    Raises:
        SiteError: naming every bad entry (by line) or why the file cannot be read.
    """
    try:
        text = read_text(path, SECRETS_FILE)
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise SiteError([Problem(code="secrets-not-readable", where=str(path),
                                 what=f"cannot read the secrets file: {exc.strerror}",
                                 fix="check its owner and mode (0600, owned by you)")]) from None
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        log.warning("secrets file readable by others path=%s mode=%o", path, mode)
    data, marks, problems = compose_yaml(text, str(path), SECRETS_FILE)
    if problems:
        raise SiteError([replace(p, fix=p.fix + " (or move the file away to have it generated "
                                 "again: deployed hosts keep the old values)")
                         if p.code == "secrets-not-yaml" else p for p in problems])
    if not isinstance(data, dict):
        raise SiteError([Problem(code="secrets-not-a-mapping", where=f"{path}:1:1", line=1,
                                 column=1, what="the secrets file must map names to values",
                                 fix="write one 'name: value' per line")])
    kinds = {r.name: r for r in refs}
    problems = [p for name, value in data.items()
                for p in _value_problems(path, name, value, kinds.get(name),
                                         marks.get((name,), (0, 0)))]
    if problems:
        raise SiteError(problems)
    register(data.values())
    return dict(data)


Fault = tuple[str, str, str]  # code, what, fix


def _value_problems(path: Path, name: str, value: object, ref: SecretRef | None,
                    mark: tuple[int, int]) -> list[Problem]:
    """At most one problem with the entry ``name: value`` (its value is never quoted)."""
    fault = _value_fault(name, value) or _kind_fault(name, str(value), ref)
    if fault is None:
        return []
    code, what, fix = fault
    line, col = mark
    return [Problem(code=code, where=f"{path}:{line}:{col}" if line else str(path),
                    key=name if SECRET_NAME.fullmatch(name) else "", line=line, column=col,
                    what=what, fix=fix)]


def _value_fault(name: str, value: object) -> Fault | None:
    if not SECRET_NAME.fullmatch(name):
        return ("secrets-bad-name", "a secret's name holds characters other than letters, "
                "digits, '-', '_' and '.'", "rename it (hastack's names are like bmc-ctl1)")
    if not isinstance(value, str):
        return ("secrets-value-not-a-string", f"secret '{name}' is not a string (YAML read "
                f"{kind_of(value)})", f"quote the value: {name}: '...'")
    if not value:
        return ("secrets-value-empty", f"secret '{name}' is empty",
                "give it a value, or remove the line to have a generated one written")
    if CONTROL.search(value):
        return ("secrets-value-control-character", f"secret '{name}' holds a control "
                "character (a line break, tab or escape)", "remove it: a secret is written "
                "into password and configuration files, one per line")
    size = len(value.encode("utf-8"))
    if size > MAX_VALUE_BYTES:
        return ("secrets-value-too-long", f"secret '{name}' is {size} bytes long",
                f"hastack's secrets are at most {MAX_VALUE_BYTES} bytes")
    return None


def _kind_fault(name: str, value: str, ref: SecretRef | None) -> Fault | None:
    """What the service that reads a secret of this kind would refuse."""
    if ref is None:
        return None
    size = len(value.encode("utf-8"))
    # A generated "ipmi" secret is a lab BMC's, which speaks IPMI 2.0; a user-supplied one may
    # be a Redfish BMC's (the same kind), whose passwords can be longer.
    if ref.kind == "ipmi" and not ref.user_supplied and size > IPMI_PASSWORD_LENGTH:
        return ("secrets-value-too-long", f"secret '{name}' (an IPMI password) is {size} bytes "
                f"long; IPMI 2.0 takes at most {IPMI_PASSWORD_LENGTH}",
                f"shorten it to {IPMI_PASSWORD_LENGTH} bytes, or remove the line to have one "
                "generated")
    if ref.kind in ACCOUNT_KINDS and keystone_parts(ref, value)[0] not in (
            ref.subject, ref.subject + ALTERNATE):
        return ("secrets-value-malformed", f"secret '{name}' names the account "
                f"'{keystone_parts(ref, value)[0]}', which is not {ref.subject}'s",
                f"write 'PASSWORD' or '{ref.subject}{ALTERNATE}:PASSWORD' (the account "
                "the services use now)")
    if ref.kind == "fernet" and _decoded_size(value, urlsafe=True) != FERNET_BYTES:
        return ("secrets-value-malformed", f"secret '{name}' is not a Fernet key (URL-safe "
                f"base64 of {FERNET_BYTES} bytes)", "remove the line to have one generated")
    if ref.kind in ("tls-ca", "tls-leaf"):
        try:
            pki.parse(value)
        except pki.MalformedPair:
            return ("secrets-value-malformed", f"secret '{name}' is not a key and certificate "
                    "('<base64 DER key> <base64 DER certificate>')",
                    "remove the line to have one generated (clients must then trust the new "
                    "site CA: deploy installs it on every node)")
    if ref.kind == "key" and not _decoded_size(value, urlsafe=False):
        return ("secrets-value-malformed", f"secret '{name}' is not a base64 key",
                "remove the line to have one generated (hosts keep the old key until the "
                "next deploy)")
    return None


def _decoded_size(value: str, *, urlsafe: bool) -> int:
    """How many bytes ``value`` decodes to as (URL-safe) base64; 0 when it is not base64."""
    alphabet = r"[A-Za-z0-9_-]" if urlsafe else r"[A-Za-z0-9+/]"
    if not re.fullmatch(rf"{alphabet}+={{0,2}}", value):
        return 0
    try:
        return len(base64.b64decode(value, altchars=b"-_" if urlsafe else None, validate=True))
    except binascii.Error:
        return 0


def write_secrets(path: Path, values: Mapping[str, str]) -> None:
    """Write atomically; the file is created 0600, never chmod-ed after the fact.

    Raises:
        SiteError: secrets-not-writable, when its directory is missing or not writable.
    """
    try:
        _write(path, values)
    except OSError as exc:
        raise SiteError([Problem(code="secrets-not-writable", where=str(path),
                                 what=f"cannot write the secrets file: {exc.strerror}",
                                 fix="check that its directory exists and is writable (the "
                                     "site's secrets_file names it)")]) from None


def _write(path: Path, values: Mapping[str, str]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)  # a leftover could carry a wider mode; O_CREAT keeps it
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write("# hastack secrets: generated where missing; keep this file private.\n")
        # One line per secret, however long (a certificate and its key).
        yaml.safe_dump(dict(sorted(values.items())), out, default_flow_style=False,
                       width=float("inf"))
    os.replace(tmp, path)


def ensure_secrets(path: Path, refs: Iterable[SecretRef], *, write: bool = True) -> Secrets:
    """Fill in every missing generated secret; user-supplied ones must already be there.
    Without ``write`` the new values stay in memory (``unsaved``) until ``save``: deploy
    writes them only once the nodes have shown they do not hold other ones.

    Raises:
        SiteError: naming every user-supplied secret that is missing.
    """
    wanted = {r.name: r for r in refs}
    values = read_secrets(path, wanted.values())
    _refuse_missing_user_secrets(path, wanted, values)
    generated = tuple(sorted(n for n in wanted
                             if n not in values or _stale(wanted[n], values)))
    # The CAs first: the certificates they issue are generated after them.
    for name in sorted(generated, key=lambda n: wanted[n].kind != "tls-ca"):
        values[name] = generate(wanted[name], ca=values.get(wanted[name].issuer))
    register(_maskable(values.values()))
    store = Secrets(path=path, values=values, generated=generated,
                    unsaved=bool(generated) or not path.exists())
    if write:
        save(store)
    return store


def _stale(ref: SecretRef, values: Mapping[str, str]) -> bool:
    """A certificate to issue again: for another address, by another CA (or none yet), or
    near its end."""
    ca = values.get(ref.issuer)
    if ref.kind != "tls-leaf" or ca is None:
        return ref.kind == "tls-leaf"
    return not pki.still_good(pki.parse(values[ref.name]), pki.parse(ca), ref.subject,
                              ref.host or ref.name, peer=ref.peer)


def require_secrets(path: Path, refs: Iterable[SecretRef]) -> Secrets:
    """The secrets a reading command (verify, drill) needs: such a command never writes the
    file. Secrets of services a ``--scope core`` deploy left out are filled in memory only
    (nothing running uses them).

    Raises:
        SiteError: the file is missing, or a user-supplied secret is.
    """
    if not path.exists():
        raise SiteError([Problem(
            code="secrets-missing", where=str(path),
            what="the site's secrets file is missing",
            fix="deploy the site first (hastack deploy SITE); if the file was lost, restore "
                "it from a backup: the deployed nodes hold its values")])
    store = ensure_secrets(path, refs, write=False)
    if store.generated:
        log.info("secrets not in the file, not used by what runs path=%s count=%d", path,
                 len(store.generated))
    return replace(store, unsaved=False)


def save(store: Secrets) -> Secrets:
    """Write ``store`` if it holds values the file does not; the store as saved."""
    if not store.unsaved:
        return store
    write_secrets(store.path, {n: v for n, v in store.values.items()
                               if n not in store.supplied})
    log.info("secrets generated path=%s count=%d", store.path, len(store.generated))
    return replace(store, unsaved=False)


def with_supplied(store: Secrets, supplied: Mapping[str, str]) -> Secrets:
    """``store`` with the values the site supplies in its own files (never saved)."""
    if not supplied:
        return store
    return replace(store, values={**store.values, **supplied},
                   supplied=store.supplied | frozenset(supplied))


def secret_parts(value: str) -> list[str]:
    """What must never be shown of a value: the value, and a keystone one's password alone
    (``account:password``; a generated password is 32 characters, a shorter tail is part of
    some other value)."""
    tail = value.rpartition(":")[2]
    return [value, tail] if tail != value and len(tail) >= PASSWORD_LENGTH else [value]


def _maskable(values: Iterable[str]) -> list[str]:
    return [part for value in values for part in secret_parts(value)]


def _refuse_missing_user_secrets(path: Path, wanted: Mapping[str, SecretRef],
                                 values: Mapping[str, str]) -> None:
    missing_user = sorted(n for n, r in wanted.items() if r.user_supplied and n not in values)
    if missing_user:
        raise SiteError([Problem(code="secret-missing", where=str(path), key=name,
                                 what=f"secret '{name}' (a BMC password) is not in the secrets "
                                      "file", fix=f"add '{name}: <password>' to {path}")
                         for name in missing_user])


# What `secrets rotate` changes, and why the rest waits: a rotated value converges on the next
# deploy (database, keystone and RabbitMQ users get the new password; services restart one
# node at a time; the authkeys, rotation "named": pacemaker_remote's is read at each
# connection, corosync's restarts the cluster stack in maintenance mode, deploy/rekey.py),
# while these kinds need a staged change that is not built yet.
NOT_ROTATED = {
    "tls-ca": "the site CA: every client must trust a new one before the VIPs serve it",
}
BY_ROTATION = {
    "never": "a value whose change breaks what it protects (swift's hash path, RabbitMQ's "
             "Erlang cookie)",
    "device": "a BMC's or PDU's password: change it on the device, then in this file",
}


def _not_rotated(ref: SecretRef) -> str | None:
    """Why ``ref`` is not rotated live, or None (a user-supplied one is a device's)."""
    if ref.user_supplied:
        return BY_ROTATION["device"]
    if ref.rotation == "named":
        return None
    return BY_ROTATION.get(ref.rotation) or NOT_ROTATED.get(ref.kind)


def _key_sets(names: Iterable[str], wanted: Mapping[str, SecretRef]) -> dict[str, list[str]]:
    """Fernet keys by repository (``keystone-fernet-0``, ``-1``, ...), each in slot order."""
    sets: dict[str, list[str]] = {}
    for name in names:
        if wanted[name].kind == "fernet":
            sets.setdefault(name.rsplit("-", 1)[0], []).append(name)
    return {k: sorted(v, key=lambda n: int(n.rsplit("-", 1)[1])) for k, v in sets.items()}


def _whole_key_sets(names: Sequence[str], wanted: Mapping[str, SecretRef]) -> list[str]:
    """A fernet key named alone brings its whole repository: keys rotate together."""
    prefixes = set(_key_sets(names, wanted))
    extra = [n for n, r in wanted.items() if r.kind == "fernet"
             and n.rsplit("-", 1)[0] in prefixes and n not in names]
    return sorted({*names, *extra})


def shifted(slots: Sequence[str], values: Mapping[str, str]) -> dict[str, str]:
    """Keystone's rotation over fixed slots: the staged key (0) becomes primary (the last),
    the primary and earlier ones move down a slot (slot 1's is dropped), a new key is staged."""
    old = [values[n] for n in slots]
    new = [generate(SecretRef(slots[0], kind="fernet")), *old[2:], old[0]]
    return dict(zip(slots, new, strict=True))


def refuse_supplied(names: Iterable[str], supplied: Mapping[str, str]) -> None:
    """Raises SiteError (secrets-not-rotated) for a name the site supplies in its own files."""
    mine = sorted(set(names) & set(supplied))
    if mine:
        raise SiteError([Problem(code="secrets-not-rotated", where="openstack.certificates",
                                 key=name, what=f"'{name}' is the site's own certificate",
                                 fix="replace its files (openstack.certificates) and deploy")
                         for name in mine])


def rotate(path: Path, refs: Iterable[SecretRef], names: Sequence[str] = ()) -> Secrets:
    """New values for ``names`` (default: every secret whose rotation is "live": service
    passwords, keystone keys, VIP certificates; "named" ones only when named), in memory
    (``unsaved``): deploy saves them and makes every node take them.

    Raises:
        SiteError: the file is missing, a name is unknown, or its kind is not rotated live.
    """
    wanted = {r.name: r for r in refs}
    store = require_secrets(path, wanted.values())
    problems = []
    for name in names:
        ref = wanted.get(name)
        if ref is None:
            problems.append(Problem(code="secrets-unknown-name", where=str(path), key=name,
                                    what=f"the site has no secret '{name}'",
                                    fix="`hastack secrets SITE` lists the site's secrets"))
        elif (reason := _not_rotated(ref)) is not None:
            problems.append(Problem(code="secrets-not-rotated", where=str(path), key=name,
                                    what=f"'{name}' is {reason}",
                                    fix="leave it out of the names (not rotated live yet)"))
    if problems:
        raise SiteError(problems)
    chosen = list(names) or [n for n, r in wanted.items()
                             if _not_rotated(r) is None and r.rotation == "live"]
    values = dict(store.values)
    chosen = _whole_key_sets(chosen, wanted)
    for name in chosen:
        ref = wanted[name]
        if ref.kind in ACCOUNT_KINDS:
            # A new password goes to the other account: the current one (whose tokens keystone
            # would revoke on a password change) serves until every service moved.
            account = alternate(ref, keystone_parts(ref, values[name])[0])
            values[name] = f"{account}:{generate(ref)}"
        elif ref.kind != "fernet":
            values[name] = generate(ref, ca=values.get(ref.issuer))
    for key_set in _key_sets(chosen, wanted).values():
        values.update(shifted(key_set, values))
    register(_maskable(values.values()))
    log.info("secrets rotated in memory path=%s count=%d", path, len(chosen))
    return Secrets(path=path, values=values, generated=tuple(sorted(chosen)), unsaved=True,
                   previous={n: store.values[n] for n in chosen if n in store.values})
