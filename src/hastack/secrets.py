"""The secrets file beside a site file: generated where missing, mode 0600, never printed.

Only the writer that puts a file on a host resolves a secret; everything else sees names.
Real BMC passwords are never generated: the user adds them to the file.
"""

from __future__ import annotations

import base64
import logging
import os
import secrets
import stat
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from hastack.catalog.base import SecretRef
from hastack.errors import Problem, SiteError
from hastack.logmask import register

log = logging.getLogger(__name__)

PASSWORD_ALPHABET = string.ascii_letters + string.digits  # safe in URLs, SQL and INI files
PASSWORD_LENGTH = 32
IPMI_PASSWORD_LENGTH = 20  # the most IPMI 2.0 (lanplus) accepts
KEY_BYTES = 256  # corosync and pacemaker authkeys: raw random bytes, kept base64 here


def generate(ref: SecretRef) -> str:
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

    def lookup(self, ref: SecretRef) -> str:
        """The value to write into a file (a ``key`` secret is decoded by the byte writer)."""
        return self.values[ref.name]

    def key_bytes(self, ref: SecretRef) -> bytes:
        return base64.b64decode(self.values[ref.name])


def read_secrets(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        log.warning("secrets file readable by others path=%s mode=%o", path, mode)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError:
        raise SiteError([Problem(code="secrets-not-yaml", where=str(path),
                                 what="the secrets file is not valid YAML",
                                 fix="fix it, or move it away to have it generated again "
                                     "(deployed hosts keep the old values)")]) from None
    if not isinstance(data, dict):
        raise SiteError([Problem(code="secrets-not-a-mapping", where=str(path),
                                 what="the secrets file must map names to values",
                                 fix="write one 'name: value' per line")])
    values = {str(k): str(v) for k, v in data.items()}
    register(values.values())
    return values


def write_secrets(path: Path, values: Mapping[str, str]) -> None:
    """Write atomically; the file is created 0600, never chmod-ed after the fact."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)  # a leftover could carry a wider mode; O_CREAT keeps it
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write("# hastack secrets: generated where missing; keep this file private.\n")
        yaml.safe_dump(dict(sorted(values.items())), out, default_flow_style=False)
    os.replace(tmp, path)


def ensure_secrets(path: Path, refs: Iterable[SecretRef]) -> Secrets:
    """Fill in every missing generated secret; user-supplied ones must already be there.

    Raises:
        SiteError: naming every user-supplied secret that is missing.
    """
    values = read_secrets(path)
    wanted = {r.name: r for r in refs}
    missing_user = sorted(n for n, r in wanted.items() if r.user_supplied and n not in values)
    if missing_user:
        raise SiteError([Problem(code="secret-missing", where=str(path), key=name,
                                 what=f"secret '{name}' (a BMC password) is not in the secrets "
                                      "file", fix=f"add '{name}: <password>' to {path}")
                         for name in missing_user])
    generated = tuple(sorted(n for n in wanted if n not in values))
    if generated or not path.exists():
        for name in generated:
            values[name] = generate(wanted[name])
        write_secrets(path, values)
        register(values.values())
        log.info("secrets generated path=%s count=%d", path, len(generated))
    return Secrets(path=path, values=values, generated=generated)
