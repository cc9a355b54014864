"""The ``hastack`` command: parse arguments, call the library, print. No logic lives here.

Only this module prints. Errors render as ``error[code] where key``, the sentence, and a hint;
bad input exits 2, a failing host or tool exits 1, and a traceback appears only with --debug
(otherwise it goes to the log file).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterable
from dataclasses import asdict
from enum import StrEnum
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from hastack.errors import HastackError, Problem

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Highly available OpenStack control planes under Pacemaker.")
out = Console()
err = Console(stderr=True)
log = logging.getLogger("hastack")
T = TypeVar("T")

SiteArg = Annotated[Path, typer.Argument(help="the site file (YAML)", show_default=False)]


class Format(StrEnum):
    TEXT = "text"
    JSON = "json"


class RenderFormat(StrEnum):
    FILES = "files"
    PCS = "pcs"


_state = {"debug": False}


def log_path() -> Path:
    base = Path(os.environ.get("XDG_STATE_HOME", Path.home() / ".local" / "state"))
    return base / "hastack" / "hastack.log"


def _setup_logging(debug: bool) -> None:
    path = log_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if debug else logging.INFO)


def print_problem(problem: Problem) -> None:
    kind = "error" if problem.is_error else "warning"
    style = "bold red" if problem.is_error else "bold yellow"
    place = " ".join(p for p in (problem.where, problem.key) if p)
    err.print(f"[{style}]{kind}[{problem.code}][/{style}] {place}", highlight=False)
    err.print(f"  {problem.what}", highlight=False, markup=False)
    if problem.fix:
        err.print(f"  hint: {problem.fix}", highlight=False, markup=False)


def run(action: Callable[[], T]) -> T:
    """Call the library; map its errors to messages and exit statuses."""
    try:
        return action()
    except HastackError as exc:
        for problem in exc.problems:
            print_problem(problem)
        if _state["debug"]:
            err.print_exception()
        raise typer.Exit(exc.exit_status) from None
    except (typer.Exit, typer.Abort, KeyboardInterrupt):
        raise
    except Exception:
        log.exception("internal error")
        if _state["debug"]:
            err.print_exception()
        err.print(f"[bold red]internal error[/bold red]: the traceback is in {log_path()}; "
                  "please report it as a bug")
        raise typer.Exit(1) from None


@app.callback()
def main_options(debug: Annotated[bool, typer.Option(help="show tracebacks")] = False) -> None:
    _state["debug"] = debug
    _setup_logging(debug)


def _warnings(problems: Iterable[Problem]) -> None:
    for problem in problems:
        print_problem(problem)


@app.command()
def validate(site: SiteArg) -> None:
    """Check a site file against the guide's rules and summarise it."""
    from hastack import catalog

    loaded = run(lambda: catalog.load(site))
    _warnings(loaded.warnings)
    table = Table(title=f"site {loaded.site.name} ({loaded.site.topology.value})")
    for column in ("cluster", "members", "remote nodes", "services"):
        table.add_column(column)
    for cluster in loaded.placement.clusters:
        table.add_row(cluster.name, ", ".join(cluster.members), ", ".join(cluster.remotes),
                      ", ".join(cluster.services))
    out.print(table)
    vips = Table(title="VIPs")
    vips.add_column("vip")
    vips.add_column("address")
    for name, address in loaded.placement.vips.items():
        vips.add_row(name, str(address))
    out.print(vips)
    out.print(f"[green]valid[/green]: {site}")


@app.command()
def render(
    site: SiteArg,
    out_dir: Annotated[Path | None, typer.Option("--out", help="write files here")] = None,
    fmt: Annotated[RenderFormat, typer.Option("--format", help="files, or pcs commands")]
    = RenderFormat.FILES,
    check: Annotated[bool, typer.Option("--verify/--no-verify",
                                        help="run crm_verify on each CIB")] = True,
) -> None:
    """Render every cluster's CIB, corosync.conf, haproxy.cfg and every node's files."""
    from hastack import catalog, export
    from hastack.render.pcs import render_pcs
    from hastack.render.site import render_site

    loaded = run(lambda: catalog.load(site))
    rendering = run(lambda: render_site(loaded.site, loaded.placement, catalog.BASE,
                                        catalog.SERVICES))
    if fmt is RenderFormat.PCS:
        for cluster in rendering.clusters:
            out.print(render_pcs(cluster.model), markup=False, highlight=False)
        return
    if out_dir is None:
        err.print("error[usage] --out DIR is required for --format files")
        raise typer.Exit(2)
    written = run(lambda: export.write_rendering(rendering, out_dir))
    out.print(f"wrote {written} files under {out_dir}")
    if check:
        _verify_cibs(rendering)


def _verify_cibs(rendering: object) -> None:
    from hastack.pacemaker.tools import CRM_VERIFY, available, verify_cib
    from hastack.render.site import SiteRendering

    assert isinstance(rendering, SiteRendering)
    if not available(CRM_VERIFY):
        err.print("[yellow]crm_verify not installed: CIBs not checked[/yellow] "
                  "(apt-get install pacemaker-cli-utils)")
        return
    failed = False
    for cluster in rendering.clusters:
        verdict = verify_cib(cluster.cib_online)
        status = "[green]ok[/green]" if verdict.ok else "[red]FAILED[/red]"
        out.print(f"crm_verify {cluster.name}: {status}")
        if not verdict.ok:
            failed = True
            for line in verdict.messages:
                err.print(f"  {line}", markup=False, highlight=False)
    if failed:
        raise typer.Exit(1)


@app.command()
def plan(
    site: SiteArg,
    fmt: Annotated[Format, typer.Option("--format")] = Format.TEXT,
) -> None:
    """Show the ordered stages of a deployment as a runbook."""
    from hastack import catalog
    from hastack.deploy.plan import build_plan
    from hastack.render.site import render_site

    loaded = run(lambda: catalog.load(site))
    rendering = run(lambda: render_site(loaded.site, loaded.placement, catalog.BASE,
                                        catalog.SERVICES))
    stages = run(lambda: build_plan(loaded.site, loaded.placement, rendering,
                                    catalog.SERVICES))
    if fmt is Format.JSON:
        out.print_json(json.dumps([asdict(s) for s in stages]))
        return
    for number, stage in enumerate(stages, start=1):
        out.print(f"[bold]{number:2d}. {stage.name}[/bold]  on {', '.join(stage.targets)}")
        for line in stage.does:
            out.print(f"      - {line}", markup=False, highlight=False)
        out.print(f"      proof: {stage.proof}", markup=False, highlight=False)


@app.command()
def schema() -> None:
    """Print the JSON Schema of the site file (for editors)."""
    from hastack.site.model import Site

    out.print_json(json.dumps(Site.model_json_schema()))


@app.command()
def secrets(site: SiteArg) -> None:
    """Generate missing secrets into the site's secrets file (0600) and list their names."""
    from hastack import catalog
    from hastack.render.site import render_site
    from hastack.secrets import ensure_secrets

    loaded = run(lambda: catalog.load(site))
    rendering = run(lambda: render_site(loaded.site, loaded.placement, catalog.BASE,
                                        catalog.SERVICES))
    refs = [ref for f in rendering.files for ref in f.text.secrets()]
    store = run(lambda: ensure_secrets(loaded.secrets_path, refs))
    table = Table(title=f"secrets in {store.path} (values never shown)")
    table.add_column("name")
    table.add_column("state")
    for name in sorted({r.name for r in refs}):
        table.add_row(name, "generated now" if name in store.generated else "present")
    out.print(table)


def main() -> None:
    app(prog_name="hastack")


if __name__ == "__main__":
    main()
