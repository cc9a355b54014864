"""The only caller of Pacemaker's command-line tools (crm_verify for now).

Each call states the tool's exit-code contract next to it.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from hastack.process import run

CRM_VERIFY = "crm_verify"


@dataclass(frozen=True)
class Verdict:
    ok: bool
    messages: tuple[str, ...]


def available(tool: str) -> bool:
    return shutil.which(tool) is not None


def verify_cib(cib_xml: str) -> Verdict:
    """Run ``crm_verify --xml-file`` on a CIB (no cluster needed).

    crm_verify exits 0 when the configuration is valid (warnings may still be printed with
    -V) and non-zero on errors; its findings go to stderr.
    """
    with tempfile.TemporaryDirectory(prefix="hastack-cib-") as tmp:
        path = Path(tmp) / "cib.xml"
        path.write_text(cib_xml, encoding="utf-8")
        done = run([CRM_VERIFY, "--xml-file", str(path), "-V"], check=False, timeout=120)
    lines = tuple(line.strip() for line in (done.stdout + done.stderr).splitlines()
                  if line.strip())
    return Verdict(ok=done.ok, messages=lines)
