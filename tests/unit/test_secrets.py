"""The secrets store (docs/style.md §7): created 0600, filled only where missing, user-supplied
secrets never generated, and values never printed or logged."""

from __future__ import annotations

import base64
import logging
import os
import shutil
import stat
import string
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from hastack.catalog.secret_text import SecretRef
from hastack.errors import SiteError
from hastack.secrets import ensure_secrets, read_secrets

ROOT = Path(__file__).resolve().parents[2]
HASTACK = Path(sys.executable).with_name("hastack")
URLSAFE = set(string.ascii_letters + string.digits + "-_=")


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def write_existing(path: Path, values: dict[str, str]) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        yaml.safe_dump(values, out)


def test_created_0600(tmp_path: Path) -> None:
    path = tmp_path / "site.secrets.yaml"
    ensure_secrets(path, [SecretRef("galera-root")])
    assert mode_of(path) == 0o600


def test_created_0600_whatever_the_umask(tmp_path: Path) -> None:
    path = tmp_path / "site.secrets.yaml"
    old = os.umask(0)
    try:
        ensure_secrets(path, [SecretRef("galera-root")])
    finally:
        os.umask(old)
    assert mode_of(path) == 0o600


def test_wide_leftover_does_not_widen(tmp_path: Path) -> None:
    path = tmp_path / "site.secrets.yaml"
    leftover = tmp_path / "site.secrets.yaml.tmp"
    leftover.write_text("stale\n", encoding="utf-8")
    leftover.chmod(0o644)
    ensure_secrets(path, [SecretRef("galera-root")])
    assert mode_of(path) == 0o600
    assert not leftover.exists()


def test_fills_only_missing(tmp_path: Path) -> None:
    path = tmp_path / "site.secrets.yaml"
    write_existing(path, {"keystone-db": "kept-as-is", "unrelated": "also-kept"})
    store = ensure_secrets(path, [SecretRef("keystone-db"), SecretRef("glance-db")])
    assert store.generated == ("glance-db",)
    on_disk = read_secrets(path)
    assert on_disk["keystone-db"] == "kept-as-is"
    assert on_disk["unrelated"] == "also-kept"
    assert on_disk["glance-db"] == store.values["glance-db"]
    assert mode_of(path) == 0o600


def test_nothing_missing_leaves_file_alone(tmp_path: Path) -> None:
    path = tmp_path / "site.secrets.yaml"
    first = ensure_secrets(path, [SecretRef("keystone-db"), SecretRef("glance-db")])
    before = path.read_bytes()
    again = ensure_secrets(path, [SecretRef("keystone-db"), SecretRef("glance-db")])
    assert again.generated == ()
    assert again.values == first.values
    assert path.read_bytes() == before


def test_user_supplied_never_generated(tmp_path: Path) -> None:
    path = tmp_path / "site.secrets.yaml"
    refs = [SecretRef("bmc-ctl1", user_supplied=True), SecretRef("bmc-ctl2", user_supplied=True),
            SecretRef("keystone-db")]
    with pytest.raises(SiteError) as info:
        ensure_secrets(path, refs)
    problems = info.value.problems
    assert {p.code for p in problems} == {"secret-missing"}
    assert sorted(p.key for p in problems) == ["bmc-ctl1", "bmc-ctl2"]
    assert all(p.where == str(path) for p in problems)
    assert not path.exists()


def test_user_supplied_present_is_used(tmp_path: Path) -> None:
    path = tmp_path / "site.secrets.yaml"
    write_existing(path, {"bmc-ctl1": "from-the-user"})
    store = ensure_secrets(path, [SecretRef("bmc-ctl1", user_supplied=True)])
    assert store.values["bmc-ctl1"] == "from-the-user"
    assert store.generated == ()


def test_fernet_key(tmp_path: Path) -> None:
    ref = SecretRef("keystone-fernet-0", kind="fernet")
    value = ensure_secrets(tmp_path / "s.yaml", [ref]).lookup(ref)
    assert len(value) == 44
    assert set(value) <= URLSAFE
    assert len(base64.urlsafe_b64decode(value)) == 32


def test_authkey(tmp_path: Path) -> None:
    ref = SecretRef("pacemaker-authkey", kind="key")
    store = ensure_secrets(tmp_path / "s.yaml", [ref])
    assert len(base64.b64decode(store.lookup(ref), validate=True)) == 256
    assert store.key_bytes(ref) == base64.b64decode(store.lookup(ref))


def test_password(tmp_path: Path) -> None:
    refs = [SecretRef("keystone-db"), SecretRef("glance-db")]
    store = ensure_secrets(tmp_path / "s.yaml", refs)
    values = [store.lookup(r) for r in refs]
    for value in values:
        assert len(value) >= 16
        assert value.isalnum() and value.isascii()
    assert values[0] != values[1]


def test_ipmi_password(tmp_path: Path) -> None:
    ref = SecretRef("bmc-ctl1", kind="ipmi")
    value = ensure_secrets(tmp_path / "s.yaml", [ref]).lookup(ref)
    assert 16 <= len(value) <= 20  # IPMI 2.0 passwords hold at most 20 bytes
    assert value.isalnum() and value.isascii()


def test_generated_values_are_distinct(tmp_path: Path) -> None:
    refs = [SecretRef(f"k{i}", kind=kind) for i, kind in
            enumerate(("password", "fernet", "key", "ipmi") * 3)]
    values = ensure_secrets(tmp_path / "s.yaml", refs).values.values()
    assert len(set(values)) == len(refs)


def test_values_not_logged(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    refs = [SecretRef("keystone-db"), SecretRef("fernet-0", kind="fernet"),
            SecretRef("authkey", kind="key")]
    store = ensure_secrets(tmp_path / "s.yaml", refs)
    assert caplog.records, "generating secrets logs one line"
    for value in store.values.values():
        assert value not in caplog.text


def test_secret_ref_masked() -> None:
    ref = SecretRef("keystone-db")
    assert "***" in str(ref)
    assert "***" in repr(ref)


@pytest.mark.parametrize(("text", "code"), [("a: [unclosed\n", "secrets-not-yaml"),
                                            ("- a\n- b\n", "secrets-not-a-mapping")])
def test_bad_secrets_file(tmp_path: Path, text: str, code: str) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SiteError) as info:
        ensure_secrets(path, [SecretRef("keystone-db")])
    assert [p.code for p in info.value.problems] == [code]
    assert path.read_text(encoding="utf-8") == text


def test_cli_lists_names_never_values(tmp_path: Path) -> None:
    site = tmp_path / "lab.yaml"
    shutil.copy(ROOT / "examples" / "lab.yaml", site)
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state"), "COLUMNS": "200"}
    runs = [subprocess.run([str(HASTACK), "secrets", str(site)], env=env, capture_output=True,
                           text=True, timeout=120, check=False) for _ in range(2)]
    for result in runs:
        assert result.returncode == 0, result.stderr
    secrets_file = tmp_path / "lab.secrets.yaml"
    assert mode_of(secrets_file) == 0o600
    values = read_secrets(secrets_file)
    assert values
    for result in runs:
        for name in values:
            assert name in result.stdout
        output = result.stdout + result.stderr
        assert not [v for v in values.values() if v in output]
    log = (tmp_path / "state" / "hastack" / "hastack.log").read_text(encoding="utf-8")
    assert not [v for v in values.values() if v in log]
