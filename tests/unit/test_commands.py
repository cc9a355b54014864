"""Every command is callable from Python, and `--format json` prints exactly its result."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from hastack.commands import secrets as secret_commands
from hastack.commands import site as site_commands
from hastack.commands.results import plain
from hastack.commands.session import Session
from hastack.errors import UsageError

ROOT = Path(__file__).resolve().parents[2]
HASTACK = Path(sys.executable).with_name("hastack")
LAB = ROOT / "examples" / "lab.yaml"


def cli_json(tmp_path: Path, *args: str) -> Any:
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state")}
    done = subprocess.run([str(HASTACK), *args, "--format", "json"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.parametrize("name", ["validate", "plan"])
def test_site_commands_match_the_cli(tmp_path: Path, name: str) -> None:
    command = getattr(site_commands, name)
    assert cli_json(tmp_path, name, str(LAB)) == plain(command(Session(LAB)))


def test_explain_matches_the_cli(tmp_path: Path) -> None:
    chain = site_commands.explain(Session(LAB), "keystone")
    assert chain.cluster == "openstack" and chain.lines
    assert cli_json(tmp_path, "explain", str(LAB), "keystone") == plain(chain)


def test_explain_unknown_resource_suggests(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="keystne") as raised:
        site_commands.explain(Session(LAB), "keystne")
    assert "keystone" in raised.value.fix


def test_secrets_generate_then_list_matches_the_cli(tmp_path: Path) -> None:
    site = tmp_path / "lab.yaml"
    shutil.copy(LAB, site)
    first = secret_commands.generate(Session(site))
    assert first.path == tmp_path / "lab.secrets.yaml"
    assert first.secrets and all(e.state == "generated now" for e in first.secrets)
    assert (first.path.stat().st_mode & 0o777) == 0o600
    again = cli_json(tmp_path, "secrets", str(site))
    assert again == plain(secret_commands.generate(Session(site)))
    assert {e["state"] for e in again["secrets"]} == {"present"}
    values = yaml.safe_load(first.path.read_text(encoding="utf-8")).values()
    shown = json.dumps(again)
    assert not [v for v in values if str(v) in shown], "a secret value is part of the result"


def test_reading_commands_write_nothing(tmp_path: Path) -> None:
    """validate, plan and explain on a site without a secrets file leave none behind."""
    site = tmp_path / "lab.yaml"
    shutil.copy(LAB, site)
    session = Session(site)
    site_commands.validate(session)
    site_commands.plan(session)
    site_commands.explain(session, "vip-db")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lab.yaml"]
