"""Secrets that converge (issue 15): only deploy and `hastack secrets` write the file, deploy
writes it only after the nodes agreed, diffs mask by where a template puts a secret, and the
log file is private."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from hastack.catalog.secret_text import SecretRef, Text
from hastack.deploy.files import mask_node_text
from hastack.errors import SiteError
from hastack.logmask import MASK, mask, register
from hastack.render.site import RenderedFile
from hastack.secrets import Secrets, ensure_secrets, require_secrets, save

ROOT = Path(__file__).resolve().parents[2]
HASTACK = Path(sys.executable).with_name("hastack")


def test_deploy_generates_in_memory_until_saved(tmp_path: Path) -> None:
    path = tmp_path / "site.secrets.yaml"
    store = ensure_secrets(path, [SecretRef("keystone-db")], write=False)
    assert store.unsaved and store.generated == ("keystone-db",)
    assert not path.exists()
    saved = save(store)
    assert path.exists() and not saved.unsaved
    assert ensure_secrets(path, [SecretRef("keystone-db")]).values == store.values


def test_reading_commands_never_write_and_name_a_lost_file(tmp_path: Path) -> None:
    path = tmp_path / "site.secrets.yaml"
    with pytest.raises(SiteError) as info:
        require_secrets(path, [SecretRef("keystone-db")])
    assert [p.code for p in info.value.problems] == ["secrets-missing"]
    assert "restore it from a backup" in info.value.problems[0].fix
    assert not path.exists()
    ensure_secrets(path, [SecretRef("keystone-db")])
    before = path.read_bytes()
    store = require_secrets(path, [SecretRef("keystone-db"), SecretRef("heat-db")])
    assert store.generated == ("heat-db",) and not store.unsaved
    assert path.read_bytes() == before


def _run(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state"), "COLUMNS": "200"}
    return subprocess.run([str(HASTACK), *args], env=env, capture_output=True, text=True,
                          timeout=120, check=False)


def test_verify_without_a_secrets_file_refuses_and_writes_nothing(tmp_path: Path) -> None:
    site = tmp_path / "lab.yaml"
    shutil.copy(ROOT / "examples" / "lab.yaml", site)
    result = _run(["verify", str(site)], tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "secrets file is missing" in result.stdout + result.stderr
    assert not (tmp_path / "lab.secrets.yaml").exists()


def test_the_log_file_is_private(tmp_path: Path) -> None:
    result = _run(["validate", str(ROOT / "examples" / "lab.yaml")], tmp_path)
    assert result.returncode == 0, result.stderr
    log = tmp_path / "state" / "hastack" / "hastack.log"
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    assert stat.S_IMODE(log.parent.stat().st_mode) == 0o700


def test_a_log_directory_that_cannot_be_made_is_said_not_a_traceback(tmp_path: Path) -> None:
    (tmp_path / "state").write_text("a file where the directory should be\n")
    result = _run(["validate", str(ROOT / "examples" / "lab.yaml")], tmp_path)
    assert result.returncode == 0
    assert "no log file" in result.stderr and "Traceback" not in result.stderr


def _file(*parts: str | SecretRef) -> RenderedFile:
    return RenderedFile(node="ctl1", path="/etc/x.conf", owner="root", group="root",
                        mode=0o640, text=Text(tuple(parts)), service="x")


def test_a_diff_masks_the_nodes_old_value_where_the_template_puts_a_secret() -> None:
    file = _file("[database]\nconnection = mysql://nova:", SecretRef("nova-db"),
                 "@198.18.0.200/nova\n[keystone_authtoken]\npassword = ",
                 SecretRef("nova-keystone"), "\nuser = nova\n")
    store = Secrets(path=Path("/x"), values={"nova-db": "new-one-1234", "nova-keystone": "k"},
                    generated=())
    node = ("[database]\nconnection = mysql://nova:old@198.18.0.200/nova\n"
            "[keystone_authtoken]\npassword = abc\nuser = nova\n")
    shown = mask_node_text(node, file, store)
    assert "old" not in shown and "abc" not in shown
    assert "connection = mysql://nova:{{secret:nova-db}}@198.18.0.200/nova" in shown
    assert "password = {{secret:nova-keystone}}" in shown
    assert "user = nova" in shown


def test_a_line_that_only_begins_like_a_secret_line_is_cut() -> None:
    file = _file("url = https://u:", SecretRef("pw"), "@vip-a/\n")
    store = Secrets(path=Path("/x"), values={"pw": "p"}, generated=())
    shown = mask_node_text("url = https://u:tiny@vip-b/extra\n", file, store)
    assert "tiny" not in shown and "{{secret:pw}}" in shown


def test_short_values_are_masked_in_the_log_as_whole_words_only() -> None:
    register(["calvn", "a-long-secret-value"])
    line = mask("login calvn failed; calvnist; token a-long-secret-valueX")
    assert line == f"login {MASK} failed; calvnist; token {MASK}X"
