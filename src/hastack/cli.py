"""The ``hastack`` command: parse arguments, call the library, print. No logic lives here.

Only this module prints. Errors render as ``error[code] where key``, the sentence, and a hint;
bad input exits 2, a failing host or tool exits 1, and a traceback appears only with --debug
(otherwise it goes to the log file).
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Callable, Iterable
from dataclasses import asdict
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from hastack.errors import HastackError, Problem, UsageError
from hastack.logmask import SecretFilter
from hastack.site.load import LoadedSite

if TYPE_CHECKING:
    from hastack.catalog.base import CatalogEntry
    from hastack.drills.run import DrillReport
    from hastack.render.site import SiteRendering
    from hastack.secrets import Secrets

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Highly available OpenStack control planes under Pacemaker.")
# Not a terminal (make, CI, pipes): wide enough that tables keep their addresses whole.
out = Console() if sys.stdout.isatty() else Console(width=160)
err = Console(stderr=True) if sys.stderr.isatty() else Console(stderr=True, width=160)
log = logging.getLogger("hastack")
T = TypeVar("T")

SiteArg = Annotated[Path, typer.Argument(help="the site file (YAML)", show_default=False)]
ViaOption = Annotated[str, typer.Option(help="auto (lab sites through the lab), lab or ssh")]
SshKeyOption = Annotated[Path | None, typer.Option(
    envvar="HASTACK_SSH_KEY", help="private key for SSH hosts (default: ssh-agent and "
    "~/.ssh/id_*)")]
KnownHostsOption = Annotated[Path | None, typer.Option(
    envvar="HASTACK_KNOWN_HOSTS", help="known_hosts for SSH hosts (default: "
    "~/.ssh/known_hosts); unknown host keys are refused")]


def _keys(key: Path | None) -> tuple[Path, ...] | None:
    return (key,) if key else None


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


def _log_handler(path: Path) -> logging.Handler:
    """The log file, private (0600 in a 0700 directory: it names hosts, users and commands);
    without one (a directory that cannot be created) hastack still runs, and says so."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        os.fchmod(fd, 0o600)  # a log an older hastack created kept a wider mode
        return logging.StreamHandler(os.fdopen(fd, "a", encoding="utf-8"))
    except OSError as exc:
        err.print(f"hastack: no log file ({path}: {exc.strerror}); set XDG_STATE_HOME to a "
                  "writable directory to keep one", markup=False, highlight=False)
        return logging.NullHandler()


def _setup_logging(debug: bool) -> None:
    handler = _log_handler(log_path())
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    handler.addFilter(SecretFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if debug else logging.INFO)


def print_problem(problem: Problem) -> None:
    kind = "error" if problem.is_error else "warning"
    style = "bold red" if problem.is_error else "bold yellow"
    place = " ".join(p for p in (problem.where, problem.key) if p)
    head = Text(f"{kind}[{problem.code}]", style=style)
    head.append(f" {place}", style="")
    err.print(head, soft_wrap=True)
    err.print(Text(f"  {problem.what}"), soft_wrap=True)
    if problem.fix:
        err.print(Text(f"  hint: {problem.fix}"), soft_wrap=True)


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


class _ConsoleHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        err.print(Text(self.format(record), style="dim"), soft_wrap=True)


def _show_commands() -> None:
    """--verbose: the commands run on nodes, as logged (masked), on stderr."""
    handler = _ConsoleHandler(logging.INFO)
    handler.addFilter(SecretFilter())
    logging.getLogger("hastack.command").addHandler(handler)


@app.callback()
def main_options(debug: Annotated[bool, typer.Option(help="show tracebacks")] = False) -> None:
    _state["debug"] = debug
    _setup_logging(debug)


def _usage(code: str, what: str, fix: str) -> Callable[[], None]:
    """An action that fails with a usage error (exit 2), for run()."""
    def fail() -> None:
        raise UsageError(code, what, fix=fix)
    return fail


def _warnings(problems: Iterable[Problem]) -> None:
    for problem in problems:
        print_problem(problem)


@app.command()
def validate(site: SiteArg) -> None:
    """Check a site file against the guide's rules and summarise it."""
    from hastack import catalog

    loaded = run(lambda: catalog.load(site))
    _warnings(loaded.warnings)
    if loaded.site.openstack.certificates is not None:
        _check_site_certificates(loaded)
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


def _check_site_certificates(loaded: LoadedSite) -> None:
    """The site's own certificates, checked against the VIPs they serve (exit 2 if wrong)."""
    from hastack import catalog
    from hastack.catalog import tls
    from hastack.deploy.apply import secret_refs
    from hastack.render.site import render_site

    rendering = run(lambda: render_site(loaded.site, loaded.placement, catalog.BASE,
                                        catalog.SERVICES))
    run(lambda: tls.site_certificates(loaded, secret_refs(loaded, rendering,
                                                          catalog.SERVICES)))


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
        run(_usage("usage", "--out DIR is required for --format files",
                   "give --out DIR, or --format pcs"))
    assert out_dir is not None
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
def secrets(
    words: Annotated[list[str], typer.Argument(
        metavar="[rotate] SITE [NAME...]", show_default=False,
        help="SITE: generate what is missing; rotate SITE [NAME...]: new values, deployed")],
    via: ViaOption = "auto",
    ssh_key: SshKeyOption = None,
    known_hosts: KnownHostsOption = None,
) -> None:
    """Generate missing secrets into the site's secrets file (0600) and list their names.

    `hastack secrets rotate SITE [NAME...]`: new values for the named secrets (default: every
    service password, keystone key and VIP certificate; the admin's only when named), then a
    deploy that gives every database, keystone and RabbitMQ user its new password and
    restarts the services one node at a time."""
    if words[0] == "rotate":
        if len(words) < 2:
            run(_usage("usage", "secrets rotate needs the site file",
                       "hastack secrets rotate SITE [NAME...]"))
        _rotate(Path(words[1]), words[2:], via=via, ssh_key=ssh_key, known_hosts=known_hosts)
        return
    if len(words) != 1:
        run(_usage("usage", "secrets takes one site file",
                   "hastack secrets SITE, or hastack secrets rotate SITE [NAME...]"))
    _generate(Path(words[0]))


def _generate(site: Path) -> None:
    from hastack import catalog
    from hastack.catalog import tls
    from hastack.render.site import render_site
    from hastack.secrets import ensure_secrets

    loaded = run(lambda: catalog.load(site))
    rendering = run(lambda: render_site(loaded.site, loaded.placement, catalog.BASE,
                                        catalog.SERVICES))
    refs = [ref for f in rendering.files for ref in f.text.secrets()]
    supplied = run(lambda: tls.site_certificates(loaded, refs))
    store = run(lambda: ensure_secrets(loaded.secrets_path,
                                       [ref for ref in refs if ref.name not in supplied]))
    table = Table(title=f"secrets in {store.path} (values never shown)")
    table.add_column("name")
    table.add_column("state")
    for name in sorted({r.name for r in refs}):
        table.add_row(name, "the site's own (openstack.certificates)" if name in supplied
                      else "generated now" if name in store.generated else "present")
    out.print(table)


def _rotate(site: Path, names: list[str], *, via: str, ssh_key: Path | None,
            known_hosts: Path | None) -> None:
    loaded, services, rendering, store = _prepare(site, "all", rotating=names)
    out.print(f"rotating {len(store.generated)} secrets: {', '.join(store.generated)}",
              highlight=False)
    _deploy(loaded, services, rendering, store, dry_run=False, verbose=False, via=via,
            ssh_key=ssh_key, known_hosts=known_hosts)


def _prepare(site: Path, scope: str, *, deploying: bool = False,
             rotating: list[str] | None = None
             ) -> tuple[LoadedSite, tuple[CatalogEntry, ...], SiteRendering, Secrets]:
    """Load, pick the services of ``scope`` (all or core), render them, read the secrets:
    ``deploying``, missing ones are generated (in memory: deploy saves them once the nodes
    agree); ``rotating``, those named (or the default set) get new values, in memory too;
    otherwise every one must be in the file and nothing is written."""
    from hastack import catalog
    from hastack.catalog import tls
    from hastack.deploy.apply import secret_refs
    from hastack.render.site import render_site
    from hastack.secrets import (
        ensure_secrets,
        refuse_supplied,
        require_secrets,
        rotate,
        with_supplied,
    )

    if scope not in ("all", "core"):
        run(_usage("usage", "--scope is all or core", "see --help"))
    services = tuple(e for e in catalog.SERVICES if scope == "all" or e.name in catalog.CORE)
    loaded = run(lambda: catalog.load(site))
    rendering = run(lambda: render_site(loaded.site, loaded.placement, catalog.BASE,
                                        services))
    refs = secret_refs(loaded, rendering, services)
    # The site's own certificates stand in for generated ones: never generated or rotated.
    supplied = run(lambda: tls.site_certificates(loaded, refs))
    refs = [ref for ref in refs if ref.name not in supplied]
    if rotating is not None:
        run(lambda: refuse_supplied(rotating, supplied))
        store = run(lambda: rotate(loaded.secrets_path, refs, rotating))
    elif deploying:
        store = run(lambda: ensure_secrets(loaded.secrets_path, refs, write=False))
    else:
        store = run(lambda: require_secrets(loaded.secrets_path, refs))
    return loaded, services, rendering, with_supplied(store, supplied)


@app.command()
def deploy(
    site: SiteArg,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="show per node the file diffs "
                                          "and whether the CIB would change; touch nothing")]
    = False,
    verbose: Annotated[bool, typer.Option("--verbose", help="show unchanged steps and every "
                                          "command run on a node")] = False,
    via: ViaOption = "auto",
    ssh_key: SshKeyOption = None,
    known_hosts: KnownHostsOption = None,
    scope: Annotated[str, typer.Option(help="all, or core: the cluster, HAProxy and VIPs, "
                                       "Galera, memcached, RabbitMQ")] = "all",
) -> None:
    """Deploy the site: idempotent (a re-run changes nothing) and resumable."""
    loaded, services, rendering, store = _prepare(site, scope, deploying=True)
    _deploy(loaded, services, rendering, store, dry_run=dry_run, verbose=verbose, via=via,
            ssh_key=ssh_key, known_hosts=known_hosts)


def _deploy(loaded: LoadedSite, services: tuple[CatalogEntry, ...], rendering: SiteRendering,
            store: Secrets, *, dry_run: bool, verbose: bool, via: str, ssh_key: Path | None,
            known_hosts: Path | None) -> None:
    import asyncio

    from hastack import catalog
    from hastack.deploy.apply import Deployment, Event
    from hastack.deploy.apply import deploy as run_deploy
    from hastack.deploy.targets import transports

    styles = {"changed": "yellow", "would change": "yellow", "unchanged": "dim",
              "failed": "red"}

    def show(event: Event) -> None:
        if event.outcome == "unchanged" and not verbose:
            return
        style = styles[event.outcome]
        where = f" {event.node}" if event.node else ""
        out.print(f"[{style}]{event.outcome:>12}[/{style}] {event.stage}{where}: "
                  f"{event.detail} [dim]({event.seconds:.1f}s)[/dim]", highlight=False)

    if verbose:
        _show_commands()
    targets = run(lambda: transports(loaded, via=via, ssh_keys=_keys(ssh_key),
                                      known_hosts=known_hosts))
    d = Deployment(loaded=loaded, base=catalog.BASE, catalog=services,
                   rendering=rendering, secrets=store, transports=targets, dry_run=dry_run,
                   emit=show)
    run(lambda: asyncio.run(run_deploy(d)))
    for text in d.diffs:
        out.print(text, markup=False, highlight=False)
    if d.changed:
        out.print("dry run: changes shown above, nothing touched" if dry_run else
                  "[green]deployed[/green]")
    else:
        out.print("[green]unchanged[/green]: the site already matches")


@app.command()
def status(
    site: SiteArg,
    fmt: Annotated[Format, typer.Option("--format")] = Format.TEXT,
    via: ViaOption = "auto",
    ssh_key: SshKeyOption = None,
    known_hosts: KnownHostsOption = None,
) -> None:
    """Nodes, quorum, each service's resources, VIPs, Galera and RabbitMQ as they are now."""
    import asyncio

    from hastack import catalog
    from hastack.deploy.targets import transports
    from hastack.verify.status import as_json, gather

    loaded = run(lambda: catalog.load(site))
    targets = run(lambda: transports(loaded, via=via, ssh_keys=_keys(ssh_key),
                                      known_hosts=known_hosts))
    states = run(lambda: asyncio.run(gather(loaded, catalog.SERVICES, targets)))
    if fmt is Format.JSON:
        out.print_json(as_json(states))
        return
    for state in states:
        if state.reachable_via is None:
            out.print(f"[red]cluster {state.name}: no member answers[/red] ({state.error})")
            continue
        quorum = "[green]quorate[/green]" if state.quorate else "[red]NO QUORUM[/red]"
        out.print(f"[bold]cluster {state.name}[/bold]: {quorum}, DC {state.dc}")
        out.print("  nodes: " + ", ".join(f"{n} {w}" for n, w in state.nodes.items()))
        table = Table("service", "resource", "running on (* promoted)")
        for svc in state.services:
            for rid, nodes in svc.resources.items():
                table.add_row(svc.service, rid, ", ".join(nodes) or "[red]stopped[/red]")
        out.print(table)
        if state.vips:
            out.print("  VIPs: " + ", ".join(f"{v}@{','.join(n) or 'nowhere'}"
                                             for v, n in state.vips.items()))
        for member in state.galera:
            out.print(f"  galera {member.node}: {member.state}, seqno {member.seqno}, "
                      f"safe_to_bootstrap {member.safe_to_bootstrap}")
        if state.rabbitmq_running:
            out.print("  rabbitmq running (as RabbitMQ sees it): "
                      + ", ".join(state.rabbitmq_running))
        for broker in state.rabbitmq_outside:
            out.print(f"  [red]rabbitmq[/red] {broker} is not a member of the RabbitMQ cluster: "
                      "its data was lost or diverged, and hastack never resets a broker; "
                      f"on {broker}: rabbitmqctl stop_app; rabbitmqctl reset; rabbitmqctl "
                      f"join_cluster {(state.rabbitmq_running or ['rabbit@<member>'])[0]}; "
                      f"rabbitmqctl start_app; rabbitmq-queues grow rabbit@{broker} all",
                      highlight=False)
        for failure in state.failures:
            out.print(f"  [red]failed[/red] {failure}", highlight=False)


@app.command()
def verify(
    site: SiteArg,
    scope: Annotated[str, typer.Option(help="all, or core (as deployed with --scope core)")]
    = "all",
    via: ViaOption = "auto",
    ssh_key: SshKeyOption = None,
    known_hosts: KnownHostsOption = None,
) -> None:
    """Run the guide's checks against the running site; exit 0 only when all pass."""
    import asyncio

    from hastack import catalog
    from hastack.deploy.targets import transports
    from hastack.verify.checks import run_checks

    loaded, services, rendering, store = _prepare(site, scope)
    targets = run(lambda: transports(loaded, via=via, ssh_keys=_keys(ssh_key),
                                      known_hosts=known_hosts))
    results = run(lambda: asyncio.run(run_checks(loaded, catalog.BASE, services, store,
                                                 targets, rendering)))
    table = Table("service", "check", "result", "detail", "s")
    for r in results:
        table.add_row(r.service, r.name, "[green]pass[/green]" if r.ok else "[red]FAIL[/red]",
                      Text(r.detail), f"{r.seconds:.1f}")
    out.print(table)
    failed = [r for r in results if not r.ok]
    if failed:
        err.print(f"{len(failed)} of {len(results)} checks failed")
        raise typer.Exit(1)
    out.print(f"[green]all {len(results)} checks pass[/green]")


DRILL_SECONDS = {"power-loss": 90.0, "partition": 90.0, "service-kill": 60.0,
                 "rabbitmq-member-loss": 90.0, "memcached-loss": 60.0,
                 "galera-cold-start": 300.0, "compute-loss": 120.0, "soak": 600.0,
                 # the whole plane back from nothing: the APIs take minutes
                 "site-power-loss": 420.0, "site-power-loss-staggered": 420.0,
                 "rabbitmq-cold-start": 120.0,
                 # a dead BMC's fencing attempts time out before level 2 is tried
                 "fence-failure": 180.0, "fence-failure-no-pdu": 180.0}


@app.command()
def drill(
    site: SiteArg,
    kind: Annotated[str, typer.Argument(help="power-loss, partition, service-kill, "
                                        "rabbitmq-member-loss, memcached-loss, "
                                        "galera-cold-start, site-power-loss, "
                                        "site-power-loss-staggered, rabbitmq-cold-start, "
                                        "compute-loss, fence-failure, "
                                        "fence-failure-no-pdu or soak")],
    node: Annotated[str | None, typer.Option(help="the node to break (default: the one "
                                             "holding the DB VIP; compute-loss: the first "
                                             "compute)")] = None,
    service: Annotated[str, typer.Option(help="service-kill: any service Pacemaker (or, with "
                                         "cluster.manages: core, systemd) runs on the "
                                         "controllers (galera, rabbitmq, haproxy, "
                                         "memcached, keystone, nova-api, ...)")] = "galera",
    seconds: Annotated[float | None, typer.Option(
        help="how long the loads run (default: 90; service-kill and memcached-loss 60; "
             "galera-cold-start 300; site-power-loss 420; rabbitmq-cold-start 120; "
             "soak 600)")] = None,
    minutes: Annotated[float | None, typer.Option(help="soak: how long, in minutes "
                                                  "(instead of --seconds)")] = None,
    fmt: Annotated[Format, typer.Option("--format")] = Format.TEXT,
) -> None:
    """Break the running lab on purpose under a DB and message-bus load, and time the
    recovery; exit 1 if an acknowledged write or message was lost or the cluster did not
    come back to full strength."""
    import asyncio

    from hastack.deploy.targets import is_lab, transports
    from hastack.drills import cold
    from hastack.drills import run as drills
    from hastack.site.model import Role

    if kind not in drills.KINDS:
        run(_usage("usage", f"unknown drill '{kind}'", f"one of: {', '.join(drills.KINDS)}"))
    for option, value in (("--seconds", seconds), ("--minutes", minutes)):
        if value is not None and value <= 0:
            run(_usage("usage", f"{option} must be more than 0, not {value:g}",
                       f"e.g. {option} 120" if option == "--seconds" else f"e.g. {option} 30"))
    # Every service the site has: --service may name any of them; what the live cluster
    # does not run (a core-only deploy) is left out of "full strength" by the drill.
    loaded, _, rendering, store = _prepare(site, "all")
    if not is_lab(loaded):
        run(_usage("drill-needs-lab", "drills power nodes off and cut links through the lab",
                   "run drills on a lab site"))
    computes = [n.name for n in loaded.site.nodes if n.role is Role.COMPUTE]
    if kind == "compute-loss":
        if node is not None and node not in computes:
            run(_usage("drill-bad-node", f"{node} is not a compute node of the site",
                       f"one of: {', '.join(computes) or 'none'}"))
    elif node is not None and node not in loaded.placement.cluster_of("galera").members:
        run(_usage("drill-bad-node", f"{node} is not a member of the DB's cluster",
                   "name a controller of that cluster"))
    drill_ = drills.prepare(loaded, rendering, store, run(lambda: transports(loaded)))
    load_seconds = minutes * 60 if minutes is not None else seconds or DRILL_SECONDS[kind]

    async def go() -> drills.DrillReport:
        if kind == "power-loss":
            return await drills.power_loss(drill_, node=node, load_seconds=load_seconds)
        if kind == "partition":
            return await drills.partition(drill_, node=node, load_seconds=load_seconds)
        if kind == "service-kill":
            return await drills.service_kill(drill_, node=node, service=service,
                                             load_seconds=load_seconds)
        if kind == "compute-loss":
            return await drills.compute_loss(drill_, node=node, load_seconds=load_seconds)
        if kind == "rabbitmq-member-loss":
            return await drills.rabbitmq_member_loss(drill_, node=node,
                                                     load_seconds=load_seconds)
        if kind == "memcached-loss":
            return await drills.memcached_loss(drill_, node=node, load_seconds=load_seconds)
        if kind == "soak":
            return await drills.soak(drill_, load_seconds=load_seconds)
        if kind.startswith("fence-failure"):
            return await drills.fence_failure(drill_, node=node, load_seconds=load_seconds,
                                              pdu_dead=kind == "fence-failure-no-pdu")
        if kind.startswith("site-power-loss"):
            return await cold.site_power_loss(drill_, load_seconds=load_seconds,
                                              staggered=kind.endswith("staggered"))
        if kind == "rabbitmq-cold-start":
            return await cold.rabbitmq_cold_start(drill_, load_seconds=load_seconds)
        return await cold.galera_cold_start(drill_, load_seconds=load_seconds)

    report = run(lambda: asyncio.run(go()))
    if fmt is Format.JSON:
        out.print_json(json.dumps({**asdict(report), "ok": report.ok}))
    else:
        _print_drill(report)
    if not report.ok:
        raise typer.Exit(1)


def _print_drill(report: DrillReport) -> None:
    def secs(value: float | None) -> str:
        return f"{value:.1f} s" if value is not None else "-"

    table = Table(f"{report.kind}: {report.target}", "")
    rows = [("failure detected after", secs(report.detected)),
            ("node fenced after", secs(report.fenced)),
            ("cut-off node released its VIPs after", secs(report.minority_stopped)),
            ("resource recovered after", secs(report.recovered)),
            ("DB VIP answering writes after", secs(report.db_back)),
            ("DB error window", f"{report.db_window:.1f} s"),
            ("DB writes acknowledged / lost", f"{report.db_acked} / {report.db_lost}"),
            ("message bus publishing after", secs(report.bus_back)),
            ("message bus error window", f"{report.bus_window:.1f} s"),
            ("messages confirmed / lost", f"{report.bus_acked} / {report.bus_lost}")]
    for name, api in report.apis.items():
        rows += [(f"{name} API answering after", secs(api.back)),
                 (f"{name} API slowest call", secs(api.slowest)),
                 (f"{name} API error window", f"{api.window:.1f} s"),
                 (f"{name} API calls answered / failed", f"{api.answered} / {api.failed}")]
    if report.power_back is not None:
        rows += [("power back after", secs(report.power_back)),
                 ("every nova service reporting up after", secs(report.nova_back))]
    if report.instances:
        rows += [("instances running elsewhere after", secs(report.evacuated)),
                 ("instances evacuated / booted",
                  f"{report.instances_moved} / {report.instances}")]
    rows += [("back at full strength after", secs(report.rejoined)),
            ("host load average", f"{report.load_average:.2f}")]
    for label, value in rows:
        if value != "-":
            table.add_row(label, value)
    out.print(table)
    if report.timeline:
        steps = Table("after", "waited", "node", "step", title="recovery timeline")
        previous = 0.0
        for step in report.timeline:
            steps.add_row(f"{step.at:.1f} s", f"{max(step.at - previous, 0.0):.1f} s",
                          step.node, Text(step.step))
            previous = max(previous, step.at)
        out.print(steps)
    for note in report.notes:
        err.print(Text(note, style="yellow"))
    for problem in report.problems:
        err.print(Text(problem, style="red"))


if TYPE_CHECKING:
    from hastack.simulate.model import SimCluster
    from hastack.simulate.run import CaseResult, SiteSimulation


def _sim_clusters(site: Path) -> tuple[SimCluster, ...]:
    from hastack import catalog
    from hastack.render.site import render_site
    from hastack.simulate.model import sim_clusters

    loaded = run(lambda: catalog.load(site))
    rendering = run(lambda: render_site(loaded.site, loaded.placement, catalog.BASE,
                                        catalog.SERVICES))
    return sim_clusters(loaded.site, loaded.placement, rendering, catalog.BASE,
                        catalog.SERVICES)


def _need_crm_simulate() -> None:
    from hastack.pacemaker.simulator import CRM_SIMULATE
    from hastack.pacemaker.tools import available

    if not available(CRM_SIMULATE):
        run(_usage("tool-missing", "crm_simulate is not installed",
                   "apt-get install pacemaker-cli-utils"))


def _print_case(sim: SiteSimulation, result: CaseResult) -> None:
    from hastack.simulate.report import explanation, view_detail

    base = sim.baseline(result.case.cluster)
    verdict = "[green]pass[/green]" if result.ok else "[red]FAIL[/red]"
    out.print(f"[bold]{result.case.spec}[/bold] on cluster {result.case.cluster}: {verdict}")
    out.print("restarted (stopped on a node that stays up): "
              + (", ".join(result.restarted) or "nothing"), markup=False, highlight=False)
    for view in result.views:
        detail = view_detail(base, view)
        quorum = "quorate" if detail.quorate else "[red]no quorum[/red]"
        out.print(f"\n[bold]{detail.label}[/bold] ({quorum}): "
                  + ", ".join(f"{n} {s}" for n, s in detail.nodes))
        out.print("  transition:")
        for step in detail.steps or ("(nothing to do)",):
            out.print(f"    {step}", markup=False, highlight=False)
        for item in detail.blocked:
            out.print(f"    still running, its stop waits on a lost node: {item}",
                      markup=False, highlight=False)
        table = Table("resource", "running on (* promoted)")
        for rid, where in detail.placement:
            table.add_row(rid, where if where != "stopped" else "[red]stopped[/red]")
        out.print(table)
    failing = set(result.failing)
    for v in result.violations:
        style = "red" if v in failing else "yellow"
        label = "FAIL" if v in failing else "expected (double failure)"
        out.print(f"[{style}]{label}[/{style}] {v.invariant}: {Text(v.message)}")
        if v in failing:
            for line in explanation(base, v):
                out.print(f"    {line}", markup=False, highlight=False)
    if not result.violations:
        out.print("[green]every invariant holds[/green]")


@app.command()
def simulate(
    site: SiteArg,
    case: Annotated[str | None, typer.Option(
        "--case", help="one case in full: node-fail:NODE, nodes-fail:A,B, partition:NODE, "
        "monitor-fail:RESOURCE@NODE, fence-fail:NODE or cold-start[:CLUSTER]")] = None,
    fmt: Annotated[Format, typer.Option("--format")] = Format.TEXT,
    exhaustive: Annotated[bool, typer.Option(
        help="simulate every compute node, not one per group of identical ones")] = False,
) -> None:
    """Simulate failures with Pacemaker's scheduler and check the guide's invariants on every
    resulting state; exit 1 when a case fails."""
    from hastack.simulate.cases import parse_case
    from hastack.simulate.report import as_json, case_json, explanation, rows
    from hastack.simulate.run import simulate_site

    clusters = _sim_clusters(site)
    _need_crm_simulate()
    if case is not None:
        wanted = run(lambda: parse_case(case, clusters))
        chosen = tuple(c for c in clusters if c.name == wanted.cluster)
        sim = run(lambda: simulate_site(chosen, select=lambda _: [wanted], exhaustive=True))
        result = sim.results[0]
        if fmt is Format.JSON:
            out.print_json(json.dumps(case_json(sim, result)))
        else:
            _print_case(sim, result)
        if not result.ok:
            raise typer.Exit(1)
        return
    sim = run(lambda: simulate_site(clusters, exhaustive=exhaustive))
    if fmt is Format.JSON:
        out.print_json(json.dumps(as_json(sim)))
        if not sim.ok:
            raise typer.Exit(1)
        return
    table = Table("cluster", "case", "result", "services moved", "services unavailable",
                  "fenced", "restarted")
    for row in rows(sim):
        verdict = "[green]pass[/green]" if row.ok else "[red]FAIL[/red]"
        table.add_row(row.cluster, row.case + (f" (as {row.simulated_as})"
                                               if row.simulated_as else ""),
                      verdict, ", ".join(row.moved), ", ".join(row.unavailable),
                      ", ".join(row.fenced), ", ".join(row.restarted))
    out.print(table)
    for row in rows(sim):
        if row.ok:
            continue
        out.print(f"[red]FAIL[/red] {row.cluster} {row.case}")
        base = sim.baseline(row.cluster)
        for v in row.failing:
            out.print(f"  {v.invariant}: {Text(v.message)}")
            for line in explanation(base, v):
                out.print(f"      {line}", markup=False, highlight=False)
    failed = sum(not r.ok for r in sim.results)
    summary = (f"{len(sim.results)} cases ({sim.simulated} simulated) in {sim.seconds:.1f} s")
    if failed:
        err.print(f"{failed} of {summary} fail")
        raise typer.Exit(1)
    out.print(f"[green]every invariant holds[/green] in {summary}")


@app.command()
def explain(
    site: SiteArg,
    resource: Annotated[str, typer.Argument(help="a resource id (clone or primitive)")],
) -> None:
    """The order/colocation chain RESOURCE depends on, from its cluster's CIB ("why is X
    stopped?")."""
    import difflib

    from hastack.simulate.explain import CibConstraints, resources
    from hastack.simulate.explain import explain as chain_of

    clusters = _sim_clusters(site)
    known: list[str] = []
    for cluster in clusters:
        cib = CibConstraints(cluster.cib, cluster.whys)
        chain = chain_of(cib, resource)
        if chain is not None:
            out.print(f"[bold]cluster {cluster.name}[/bold]")
            for line in chain.lines():
                out.print(line, markup=False, highlight=False)
            return
        known += resources(cib)
    close = difflib.get_close_matches(resource, known, n=3)
    run(_usage("explain-unknown-resource", f"no cluster of {site} has a resource "
               f"'{resource}'", (f"did you mean {', '.join(close)}? " if close else "")
               + "see hastack render SITE --format pcs for every id"))


lab_app = typer.Typer(no_args_is_help=True,
                      help="The lab: several machines on this computer (systemd-nspawn + netns).")
app.add_typer(lab_app, name="lab")
DEFAULT_LAB_SITE = Path("examples/lab.yaml")
NodeArg = Annotated[str, typer.Argument(help="a lab machine", show_default=False)]
SiteOpt = Annotated[Path | None, typer.Option("--site", help="the lab's site file (default: "
                                              "the running lab's, else examples/lab.yaml)")]


def _lab_site(site: Path | None, *, or_recorded_copy: bool = False) -> LoadedSite:
    """--site, else the site file the lab was brought up from, else the default. When that
    file has moved, ``or_recorded_copy`` reads the copy the lab keeps (what needs no secrets:
    status); anything else is told to name the file."""
    from hastack import catalog
    from hastack.lab.control import recorded_copy, running_site

    recorded = running_site()
    if site is None and recorded is not None and not recorded.exists():
        if or_recorded_copy and recorded_copy().exists():
            return run(lambda: catalog.load(recorded_copy()))
        run(_usage("lab-site-moved", f"the lab's site file {recorded} is gone",
                   "name where it is now: --site PATH (or `hastack lab up PATH`)"))
    path = site or recorded or DEFAULT_LAB_SITE
    return run(lambda: catalog.load(path))


def _print_lab_status(loaded: LoadedSite) -> None:
    from hastack.lab import control

    table = Table(title=f"lab {loaded.site.name}")
    for column in ("machine", "role", "power", "link", "address", "BMC", "BMC server",
                   "systemd"):
        table.add_column(column)
    for row in run(lambda: control.status(loaded)):
        server = "-" if not row.bmc_running else "running" if row.bmc_answering else "dead"
        table.add_row(row.name, row.role, row.power, row.link, row.address, row.bmc,
                      server, row.systemd)
    out.print(table)


@lab_app.command("up")
def lab_up(
    site: Annotated[Path, typer.Argument(help="lab site file")] = DEFAULT_LAB_SITE,
    packages: Annotated[str, typer.Option(help="site: install every package the site needs "
                                          "on the host (the image); core: those of the HA "
                                          "core only; lab: only the lab's own tools")]
    = "site",
) -> None:
    """Bring up the lab's machines, network and BMCs (no change on a running lab)."""
    from hastack import catalog
    from hastack.lab import control
    from hastack.lab.image import Scope

    scopes: dict[str, Scope] = {"site": "site", "core": "core", "lab": "lab"}
    if packages not in scopes:
        run(_usage("usage", "--packages is site, core or lab", "see --help"))
    loaded = run(lambda: catalog.load(site))
    run(lambda: control.up(loaded, packages=scopes[packages]))
    _print_lab_status(loaded)


@lab_app.command("status")
def lab_status(site: SiteOpt = None) -> None:
    """Machines, power, links, addresses and BMCs."""
    _print_lab_status(_lab_site(site, or_recorded_copy=True))


@lab_app.command("access")
def lab_access(site: SiteOpt = None) -> None:
    """How to reach the lab's cloud: dashboard URL, admin openrc, `openstack` commands."""
    from hastack.catalog import tls
    from hastack.catalog.keystone import OPENRC
    from hastack.site.model import Role

    loaded = _lab_site(site)
    vips = loaded.placement.vips
    controller = next(n.name for n in loaded.site.nodes if n.role is Role.CONTROLLER)
    lines = []
    if "horizon" in vips:
        url = f"{tls.scheme(loaded.site)}://{vips['horizon']}"
        lines.append(f"dashboard     {url}/  (user admin; on the lab network only: e.g. "
                     f"hastack lab exec {controller} -- curl -s {url}/auth/login/)")
    if tls.enabled(loaded.site):
        lines.append(f"site CA       {tls.ca_path(loaded.site)} on every node (trusted there; "
                     "its certificate signed every VIP's)")
    if "keystone" in vips:
        lines += [f"admin openrc  {OPENRC} on every controller (mode 0600; the password is "
                  "in it and in the site's secrets file)",
                  f"openstack     hastack lab exec {controller} -- bash -c '. {OPENRC} && "
                  "openstack server list'",
                  f"a shell       hastack lab shell {controller}   (then: . {OPENRC})"]
    else:
        lines.append("no keystone in this site: no OpenStack to reach")
    for line in lines:
        out.print(line, soft_wrap=True)


@lab_app.command("down")
def lab_down(keep_disks: Annotated[bool, typer.Option(help="keep the machines' disks")]
             = False) -> None:
    """Remove everything the lab created: processes, mounts, namespaces, dirs."""
    from hastack.lab import control

    removed = run(lambda: control.down(keep_disks=keep_disks))
    out.print(f"lab down: removed {', '.join(removed) or 'nothing'}")


@lab_app.command("stop")
def lab_stop() -> None:
    """Every machine off at once, as when this computer loses power; disks kept: `lab up`
    brings the same machines back (a site-wide power return)."""
    from hastack.lab import control

    stopped = run(lambda: control.stop())
    out.print(f"lab stop: {', '.join(stopped) or 'nothing'} off; `hastack lab up` brings "
              "them back")


@lab_app.command("power")
def lab_power(action: Annotated[str, typer.Argument(help="on, off, cycle or status")],
              node: NodeArg, site: SiteOpt = None) -> None:
    """Power a machine through its BMC (IPMI, as fence_ipmilan does)."""
    from hastack.lab import control

    if action not in ("on", "off", "cycle", "status"):
        run(_usage("usage", "power takes on, off, cycle or status", "see --help"))
    loaded = _lab_site(site)
    out.print(run(lambda: control.power(loaded, node, action)), markup=False)


def _switch(*, cmd: str, state: str, on: str, off: str) -> bool:
    """A lab fault switch's argument: True for ``on``, False for ``off``, else exit 2."""
    if state not in (on, off):
        run(_usage("usage", f"{cmd} takes {off} or {on}", "see --help"))
    return state == on


@lab_app.command("bmc")
def lab_bmc(state: Annotated[str, typer.Argument(help="dead or alive")], node: NodeArg,
            site: SiteOpt = None) -> None:
    """Make a machine's BMC stop answering (dead, as when it loses power with its node) or
    answer again (alive); the machine itself is untouched."""
    from hastack.lab import control

    up = _switch(cmd="bmc", state=state, on="alive", off="dead")
    loaded = _lab_site(site)
    run(lambda: control.set_bmc(loaded, node, up))
    out.print(f"{node}: BMC {state}")


@lab_app.command("pdu")
def lab_pdu(state: Annotated[str, typer.Argument(help="dead or alive")],
            pdu: Annotated[str, typer.Argument(help="the PDU's name (site's pdus:)")],
            site: SiteOpt = None) -> None:
    """Make a lab PDU stop answering SNMP (dead; its outlets stay powered) or answer again."""
    from hastack.lab import control

    up = _switch(cmd="pdu", state=state, on="alive", off="dead")
    loaded = _lab_site(site)
    run(lambda: control.set_pdu(loaded, pdu, up))
    out.print(f"{pdu}: {state}")


@lab_app.command("link")
def lab_link(state: Annotated[str, typer.Argument(help="up or down")], node: NodeArg,
             site: SiteOpt = None) -> None:
    """Plug a machine's network cable out (down) or in (up)."""
    from hastack.lab import control

    up = _switch(cmd="link", state=state, on="up", off="down")
    loaded = _lab_site(site)
    run(lambda: control.link(loaded, node, up))
    out.print(f"{node}: link {state}")


@lab_app.command("partition")
def lab_partition(groups: Annotated[list[str], typer.Argument(help="e.g. ctl1,ctl2 / ctl3")],
                  site: SiteOpt = None) -> None:
    """Drop all traffic between groups of machines (both ways)."""
    from hastack.lab import control

    spec = " ".join(groups)
    parsed = [[n.strip() for n in g.split(",") if n.strip()] for g in spec.split("/")]
    loaded = _lab_site(site)
    run(lambda: control.partition(loaded, parsed))
    out.print("partitioned: " + " | ".join(",".join(g) for g in parsed))


@lab_app.command("heal")
def lab_heal() -> None:
    """Remove every partition."""
    from hastack.lab import control

    run(control.heal)
    out.print("healed")


def _enter(node: str, command: list[str], site: Path | None) -> None:
    from hastack.lab import control

    loaded = _lab_site(site)
    argv = run(lambda: control.enter_argv(loaded, node, command))
    os.execvp(argv[0], argv)


@lab_app.command("exec", context_settings={"allow_extra_args": True,
                                           "ignore_unknown_options": True})
def lab_exec(node: NodeArg, command: Annotated[list[str], typer.Argument(help="CMD ...")],
             site: SiteOpt = None) -> None:
    """Run a command inside a machine: hastack lab exec NODE -- CMD ..."""
    _enter(node, command, site)


@lab_app.command("shell")
def lab_shell(node: NodeArg, site: SiteOpt = None) -> None:
    """An interactive shell inside a machine."""
    _enter(node, ["/bin/bash", "-l"], site)


@lab_app.command("logs")
def lab_logs(node: NodeArg, unit: Annotated[str | None, typer.Argument()] = None,
             site: SiteOpt = None) -> None:
    """The machine's journal since boot (of one unit when given)."""
    _enter(node, ["journalctl", "-b", "--no-pager", *(["-u", unit] if unit else [])], site)


def main() -> None:
    app(prog_name="hastack")


if __name__ == "__main__":
    main()
