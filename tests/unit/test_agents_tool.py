"""Pacemaker's own tools read the instance HA agents' metadata and run their validation.

stonith_admin and crm_resource only look in their compiled-in directories (/usr/sbin,
/usr/lib/ocf/resource.d), so each check runs in a private mount namespace where a read-only
overlay adds the agents there; the host's directories and any cluster are left alone.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from hastack.agents import EVACUATE, agent_text
from hastack.agents import evacuate as ev

pytestmark = pytest.mark.tool

SBIN = "/usr/sbin"
OCF_DIR = "/usr/lib/ocf/resource.d"


def _needs() -> None:
    missing = [t for t in ("unshare", "stonith_admin", "crm_resource") if not shutil.which(t)]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed (pacemaker-cli-utils, util-linux)")
    if os.geteuid() != 0:
        pytest.skip("mount namespaces need root")
    if not Path(OCF_DIR).is_dir():
        pytest.skip(f"{OCF_DIR} absent (resource-agents not installed)")


def in_namespace(tmp_path: Path, script: str) -> subprocess.CompletedProcess[str]:
    _needs()
    sbin, ocf = tmp_path / "sbin", tmp_path / "ocf" / "hastack"
    sbin.mkdir()
    ocf.mkdir(parents=True)
    for target in (sbin / ev.FENCE_NAME, ocf / ev.OCF_NAME):
        target.write_text(agent_text(EVACUATE))
        target.chmod(0o755)
    mounts = (f"mount -t overlay overlay -o lowerdir={sbin}:{SBIN} {SBIN} && "
              f"mount -t overlay overlay -o lowerdir={ocf.parent}:{OCF_DIR} {OCF_DIR}")
    return subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                           f"{mounts} && {script}"], capture_output=True, text=True,
                          timeout=120, check=False)


def test_stonith_admin_reads_fence_metadata(tmp_path: Path) -> None:
    done = in_namespace(tmp_path, f"stonith_admin --metadata --agent {ev.FENCE_NAME}")
    assert done.returncode == 0, done.stderr
    assert f'name="{ev.FENCE_NAME}"' in done.stdout
    assert 'name="record_only"' in done.stdout and 'name="plug"' in done.stdout


def test_crm_resource_reads_ocf_metadata(tmp_path: Path) -> None:
    done = in_namespace(tmp_path, f"crm_resource --show-metadata ocf:hastack:{ev.OCF_NAME}")
    assert done.returncode == 0, done.stderr
    assert 'name="clouds"' in done.stdout and 'name="monitor"' in done.stdout


def test_crm_resource_runs_validate_all(tmp_path: Path) -> None:
    done = in_namespace(tmp_path, "crm_resource --validate --class ocf --provider hastack "
                        f"--agent {ev.OCF_NAME} --option clouds=/nonexistent/clouds.yaml")
    assert "returned 5" in done.stdout + done.stderr  # OCF_ERR_INSTALLED
    assert "cannot read /nonexistent/clouds.yaml" in done.stdout + done.stderr
