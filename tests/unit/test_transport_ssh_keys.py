"""A --ssh-key hastack cannot use is bad input: exit 2, the file named and how to fix it, no
traceback, and no host contacted (the key is read before any connection)."""

from __future__ import annotations

from pathlib import Path

import asyncssh
import pytest
from typer.testing import CliRunner

from hastack.cli import app
from hastack.errors import UsageError
from hastack.transport.ssh import load_client_keys

ROOT = Path(__file__).resolve().parents[2]


def make_key(path: Path, kind: str) -> Path:
    key = asyncssh.generate_private_key("ssh-ed25519")
    if kind == "good":
        key.write_private_key(str(path))
    elif kind == "encrypted":
        # PKCS#8: OpenSSH's own format would need bcrypt to encrypt.
        key.write_private_key(str(path), "pkcs8-pem", passphrase="a passphrase")
    elif kind == "public":
        key.write_public_key(str(path))
    elif kind == "malformed":
        path.write_text("-----BEGIN OPENSSH PRIVATE KEY-----\nnot a key\n")
    elif kind == "directory":
        path.mkdir()
    return path


@pytest.mark.parametrize("kind,code", [("encrypted", "ssh-key-encrypted"),
                                       ("malformed", "ssh-key-invalid"),
                                       ("public", "ssh-key-invalid"),
                                       ("missing", "ssh-key-unreadable"),
                                       ("directory", "ssh-key-unreadable")])
def test_unusable_key(tmp_path: Path, kind: str, code: str) -> None:
    key = make_key(tmp_path / "key", kind)
    with pytest.raises(UsageError) as bad:
        load_client_keys([key])
    assert (bad.value.code, bad.value.where, bad.value.exit_status) == (code, str(key), 2)
    assert str(key) in bad.value.what and bad.value.fix


def test_good_key(tmp_path: Path) -> None:
    assert len(load_client_keys([make_key(tmp_path / "key", "good")])) == 1


def test_cli_status_with_an_encrypted_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                          ) -> None:
    async def no_connection(*args: object, **kwargs: object) -> None:
        raise AssertionError("a host was contacted with a key that cannot be used")

    monkeypatch.setattr(asyncssh, "connect", no_connection)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    key = make_key(tmp_path / "key", "encrypted")
    result = CliRunner().invoke(app, ["status", str(ROOT / "examples" / "collapsed.yaml"),
                                      "--via", "ssh", "--ssh-key", str(key)])
    output = result.output + (result.stderr if result.stderr_bytes is not None else "")
    assert result.exit_code == 2, output
    assert "error[ssh-key-encrypted]" in output and f"ssh-add {key}" in output
    assert "Traceback" not in output
