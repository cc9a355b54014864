"""Benchmark: the drills, repeated, for corosync token 1000 ms and the 3000 ms default.

Usage (root, no lab running): .venv/bin/python bench/drills.py [RUNS] [KIND ...]
For each token value: a lab of tests/lab/lab3.yaml with that token, the HA core deployed, then
RUNS rounds of each drill (default power-loss, partition, service-kill), then the lab removed.
Prints median/min/max per figure. Targets to beat (not assertions): DB VIP back <= 4 s after
power loss with fencing on; DB error window <= 3 s.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
HASTACK = str(Path(sys.executable).with_name("hastack"))
SITE = ROOT / "tests" / "lab" / "lab3.yaml"
TOKENS = (1000, 3000)
FIGURES = ("detected", "fenced", "recovered", "db_back", "db_window", "bus_back", "bus_window",
           "rejoined")


def hastack(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([HASTACK, *args], capture_output=True, text=True, cwd=ROOT,
                          check=False, timeout=3600)


def site_with_token(workdir: Path, token_ms: int) -> Path:
    data = yaml.safe_load(SITE.read_text())
    data["name"] = f"bench{token_ms}"
    data["cluster"]["token_ms"] = token_ms
    path = workdir / f"bench{token_ms}.yaml"
    path.write_text(yaml.safe_dump(data))
    secrets = SITE.with_name("lab3.secrets.yaml")
    if secrets.exists():  # the same BMC and service secrets as the tests' lab
        shutil.copy(secrets, workdir / f"bench{token_ms}.secrets.yaml")
        os.chmod(workdir / f"bench{token_ms}.secrets.yaml", 0o600)
    return path


def one_token(token_ms: int, runs: int, kinds: list[str]) -> dict[str, list[dict[str, object]]]:
    results: dict[str, list[dict[str, object]]] = {k: [] for k in kinds}
    with tempfile.TemporaryDirectory() as tmp:
        site = str(site_with_token(Path(tmp), token_ms))
        try:
            for step in (("lab", "up", site, "--packages", "core"),
                         ("deploy", site, "--scope", "core")):
                done = hastack(*step)
                if done.returncode:
                    sys.exit(f"{' '.join(step)} failed:\n{done.stdout}{done.stderr}")
            for round_ in range(runs):
                for kind in kinds:
                    done = hastack("drill", site, kind, "--format", "json")
                    try:
                        report = json.loads(done.stdout)
                    except json.JSONDecodeError:
                        print(f"token {token_ms} {kind} round {round_ + 1}: no report\n"
                              f"{done.stderr[-800:]}", file=sys.stderr)
                        continue
                    results[kind].append(report)
                    print(f"token {token_ms} {kind} round {round_ + 1}: "
                          f"{'ok' if report['ok'] else 'FAILED'}", file=sys.stderr)
        finally:
            hastack("lab", "down")
    return results


def row(values: list[float]) -> str:
    if not values:
        return f"{'-':>22}"
    return (f"{statistics.median(values):6.1f} {min(values):6.1f} {max(values):6.1f}"
            .rjust(22))


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    kinds = sys.argv[2:] or ["power-loss", "partition", "service-kill"]
    print(f"# drills, {runs} run(s) each, {os.cpu_count()} cores, load average at start "
          f"{os.getloadavg()[0]:.2f}")
    by_token = {t: one_token(t, runs, kinds) for t in TOKENS}
    for kind in kinds:
        print(f"\n## {kind}   (seconds: median min max)")
        print(f"{'figure':<12}" + "".join(f"{'token ' + str(t) + ' ms':>22}" for t in TOKENS))
        for figure in FIGURES:
            cells = []
            for token in TOKENS:
                values = [float(r[figure]) for r in by_token[token][kind]
                          if r.get(figure) is not None]
                cells.append(row(values))
            print(f"{figure:<12}" + "".join(cells))
        for token in TOKENS:
            reports = by_token[token][kind]
            lost = sum(int(r["db_lost"]) + int(r["bus_lost"]) for r in reports)  # type: ignore[call-overload]
            failed = sum(1 for r in reports if not r["ok"])
            print(f"token {token} ms: {len(reports)} runs, {failed} failed, {lost} lost "
                  "writes/messages")


if __name__ == "__main__":
    main()
