"""The ``hastack`` command: parse arguments, call one of :mod:`hastack.commands`, print its
result. No decision lives here: every command is callable from Python with the result that
``--format json`` prints.

Only this module prints. Errors render as ``error[code] where key``, the sentence, and a hint;
bad input exits 2, a failing host or tool exits 1, and a traceback appears only with --debug
(otherwise it goes to the log file).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer
from rich.console import Console, Group
from rich.live import Live
from rich.markup import escape as e
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

from hastack.commands import deploy as commands_deploy
from hastack.commands import drill as commands_drill
from hastack.commands import lab as commands_lab
from hastack.commands import maintain as commands_maintain
from hastack.commands import running as commands_running
from hastack.commands import secrets as commands_secrets
from hastack.commands import simulate as commands_simulate
from hastack.commands import site as commands_site
from hastack.commands import support as commands_support
from hastack.commands.progress import Line, Progress, ProgressView
from hastack.commands.results import as_json
from hastack.commands.session import Session
from hastack.errors import HastackError, Problem, UsageError
from hastack.logmask import SecretFilter

if TYPE_CHECKING:
    from rich.console import RenderableType

    from hastack.commands.deploy import Deployed
    from hastack.commands.lab import LabStatus
    from hastack.deploy.apply import Event
    from hastack.drills.run import DrillReport
    from hastack.simulate.run import CaseResult, SiteSimulation
    from hastack.verify.status import ClusterState

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Highly available OpenStack control planes under Pacemaker.")
# Not a terminal (make, CI, pipes): wide enough that tables keep their addresses whole.
# emoji=False: data such as "ocf:heartbeat:IPaddr2" must not turn into pictures.
out = Console(emoji=False) if sys.stdout.isatty() else Console(width=160, emoji=False)
err = Console(stderr=True, emoji=False) if sys.stderr.isatty() else Console(
    stderr=True, width=160, emoji=False)
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


FormatOption = Annotated[Format, typer.Option("--format", help="text, or json (the "
                                              "command's result as data)")]


QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="no progress: only the "
                                           "result and errors (for scripts)")]


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


def _session(site: Path, via: str = "auto", ssh_key: Path | None = None,
             known_hosts: Path | None = None) -> Session:
    return Session(site, via=via, ssh_keys=_keys(ssh_key), known_hosts=known_hosts)


def _json(value: object) -> None:
    out.print_json(as_json(value))


# The colour of a progress line's first word (a step's outcome, a check's verdict).
HEADS = {"changed": "yellow", "would change": "yellow", "unchanged": "dim", "failed": "red",
         "pass": "green", "FAIL": "red", "started": "cyan", "running": "cyan"}


def _progress_console(fmt: Format, quiet: bool) -> Console | None:
    """Where a long command's progress goes: nowhere with --quiet, to stderr beside JSON
    (stdout stays pure JSON), else to stdout."""
    if quiet:
        return None
    return err if fmt is Format.JSON else out


def _printer(console: Console) -> Callable[[Line], None]:
    def write(line: Line) -> None:
        text = Text()
        if line.stamp:
            text.append(f"{line.stamp} ", style="dim")
        text.append(f"{line.head:>12}", style=HEADS.get(line.head, "bold"))
        if line.body:
            text.append(f" {line.body}")  # Text: data is never read as markup
        console.print(text, soft_wrap=True)
    return write


@contextmanager
def _watching(session: Session, console: Console | None, title: str, unit: str = "steps"
              ) -> Iterator[None]:
    """``session``'s progress shown on ``console`` while the block runs: a line redrawn in
    place on a terminal; otherwise (a log) timestamped lines, with a tick every second so
    that a step running long is said (commands/progress.py)."""
    if console is None:
        session.watch = Progress()
        yield
        return
    view = ProgressView(_printer(console), title=title, unit=unit,
                        live=console.is_terminal and not console.is_dumb_terminal)
    session.watch = view
    if view.live:
        spinner = Spinner("dots", style="cyan")

        def line() -> Text:
            frame = spinner.render(console.get_time())
            return Text.assemble(frame if isinstance(frame, Text) else "", " ", view.status(),
                                 no_wrap=True, overflow="ellipsis")

        with Live(get_renderable=line, console=console, transient=True,
                  refresh_per_second=4):
            yield
        return
    stop = threading.Event()

    def ticking() -> None:
        while not stop.wait(1.0):
            view.tick()

    ticker = threading.Thread(target=ticking, name="hastack-progress", daemon=True)
    ticker.start()
    try:
        yield
    finally:
        stop.set()
        ticker.join()


@app.command()
def validate(site: SiteArg, fmt: FormatOption = Format.TEXT) -> None:
    """Check a site file against the guide's rules and summarise it."""
    result = run(lambda: commands_site.validate(_session(site)))
    _warnings(result.warnings)
    if fmt is Format.JSON:
        _json(result)
        return
    table = Table(title=f"site {result.site} ({result.topology})")
    for column in ("cluster", "members", "remote nodes", "services"):
        table.add_column(column)
    for cluster in result.clusters:
        table.add_row(*map(e, (cluster.name, ", ".join(cluster.members),
                               ", ".join(cluster.remotes), ", ".join(cluster.services))))
    out.print(table)
    vips = Table(title="VIPs")
    vips.add_column("vip")
    vips.add_column("address")
    for name, address in result.vips.items():
        vips.add_row(e(name), e(str(address)))
    out.print(vips)
    out.print(f"[green]valid[/green]: {e(str(site))}")


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
    session = _session(site)
    if fmt is RenderFormat.PCS:
        for text in run(lambda: commands_site.pcs_commands(session)).values():
            out.print(text, markup=False, highlight=False)
        return
    if out_dir is None:
        run(_usage("usage", "--out DIR is required for --format files",
                   "give --out DIR, or --format pcs"))
    assert out_dir is not None
    result = run(lambda: commands_site.render(session, out_dir, check=check))
    out.print(f"wrote {result.files} files under {result.out_dir}", markup=False)
    if check and result.checks is None:
        err.print("[yellow]crm_verify not installed: CIBs not checked[/yellow] "
                  "(apt-get install pacemaker-cli-utils)")
    for verdict in result.checks or ():
        status = "[green]ok[/green]" if verdict.ok else "[red]FAILED[/red]"
        out.print(f"crm_verify {e(verdict.cluster)}: {status}")
        for line in verdict.messages if not verdict.ok else ():
            err.print(f"  {line}", markup=False, highlight=False)
    if not result.ok:
        raise typer.Exit(1)


@app.command()
def plan(site: SiteArg, fmt: FormatOption = Format.TEXT) -> None:
    """Show the ordered stages of a deployment as a runbook."""
    stages = run(lambda: commands_site.plan(_session(site)))
    if fmt is Format.JSON:
        _json(stages)
        return
    for number, stage in enumerate(stages, start=1):
        out.print(f"[bold]{number:2d}. {e(stage.name)}[/bold]  on "
                  f"{e(', '.join(stage.targets))}")
        for line in stage.does:
            out.print(f"      - {line}", markup=False, highlight=False)
        out.print(f"      proof: {stage.proof}", markup=False, highlight=False)


@app.command()
def schema() -> None:
    """Print the JSON Schema of the site file (for editors)."""
    _json(commands_site.schema())


@app.command()
def secrets(
    words: Annotated[list[str], typer.Argument(
        metavar="[rotate] SITE [NAME...]", show_default=False,
        help="SITE: generate what is missing; rotate SITE [NAME...]: new values, deployed")],
    fmt: FormatOption = Format.TEXT,
    via: ViaOption = "auto",
    ssh_key: SshKeyOption = None,
    known_hosts: KnownHostsOption = None,
    quiet: QuietOption = False,
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
        session = _session(Path(words[1]), via, ssh_key, known_hosts)
        _deployed(session, fmt, lambda: commands_secrets.rotate(session, words[2:]),
                  quiet=quiet)
        return
    if len(words) != 1:
        run(_usage("usage", "secrets takes one site file",
                   "hastack secrets SITE, or hastack secrets rotate SITE [NAME...]"))
    listing = run(lambda: commands_secrets.generate(_session(Path(words[0]))))
    if fmt is Format.JSON:
        _json(listing)
        return
    table = Table(title=f"secrets in {listing.path} (values never shown)")
    table.add_column("name")
    table.add_column("state")
    for entry in listing.secrets:
        table.add_row(e(entry.name), e(entry.state))
    out.print(table)


@app.command()
def deploy(
    site: SiteArg,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="show per node the file diffs "
                                          "and whether the CIB would change; touch nothing")]
    = False,
    verbose: Annotated[bool, typer.Option("--verbose", help="show unchanged steps and every "
                                          "command run on a node")] = False,
    fmt: FormatOption = Format.TEXT,
    via: ViaOption = "auto",
    ssh_key: SshKeyOption = None,
    known_hosts: KnownHostsOption = None,
    scope: Annotated[str, typer.Option(help="all, or core: the cluster, HAProxy and VIPs, "
                                       "Galera, memcached, RabbitMQ")] = "all",
    quiet: QuietOption = False,
) -> None:
    """Deploy the site: idempotent (a re-run changes nothing) and resumable."""
    session = _session(site, via, ssh_key, known_hosts)
    if verbose:
        _show_commands()
    _deployed(session, fmt, lambda: commands_deploy.deploy(
        session, scope=scope, dry_run=dry_run), verbose=verbose, quiet=quiet)


def _deployed(session: Session, fmt: Format, action: Callable[[], Deployed], *,
              verbose: bool = False, quiet: bool = False) -> None:
    """Run a deploy, its steps shown as they end and what runs meanwhile (on stderr with
    --format json, not at all with --quiet)."""

    def show(event: Event) -> None:
        if event.outcome == "unchanged" and not verbose:
            session.watch.ended(event.stage, event.node)
            return
        where = f" {event.node}" if event.node else ""
        session.watch.ended(event.stage, event.node, head=event.outcome,
                            body=f"{event.stage}{where}: {event.detail} ({event.seconds:.1f}s)")

    session.progress = show
    with _watching(session, _progress_console(fmt, quiet), "deploy"):
        result = run(action)
    if fmt is Format.JSON:
        _json(result)
        return
    if result.rotated:
        out.print(f"rotated {len(result.rotated)} secrets: {', '.join(result.rotated)}",
                  markup=False, highlight=False)
    for text in result.diffs:
        out.print(text, markup=False, highlight=False)
    if result.changed:
        out.print("dry run: changes shown above, nothing touched" if result.dry_run else
                  "[green]deployed[/green]")
    else:
        out.print("[green]unchanged[/green]: the site already matches")


@app.command()
def status(
    site: SiteArg,
    fmt: FormatOption = Format.TEXT,
    watch: Annotated[bool, typer.Option(
        "--watch", help="read it again every --interval seconds until Ctrl-C (or --count): "
        "in place on a terminal; otherwise each reading after the last, after a line with "
        "its time (json: one line per reading)")] = False,
    interval: Annotated[float, typer.Option(help="seconds between readings (--watch)",
                                            min=0.5)] = 5.0,
    count: Annotated[int | None, typer.Option(help="stop after this many readings (--watch)",
                                              min=1, show_default=False)] = None,
    via: ViaOption = "auto",
    ssh_key: SshKeyOption = None,
    known_hosts: KnownHostsOption = None,
) -> None:
    """Nodes, quorum, each service's resources, VIPs, Galera and RabbitMQ as they are now."""
    if count is not None and not watch:
        run(_usage("status-count-without-watch", "--count counts the readings of --watch",
                   "add --watch, or leave --count out"))
    session = run(lambda: _session(site, via, ssh_key, known_hosts))
    if not watch:
        states = run(lambda: commands_running.status(session))
        if fmt is Format.JSON:
            _json(states)
        else:
            out.print(Group(*_status_view(states)))
        raise typer.Exit(_status_exit(states))
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how a watch ends
        raise typer.Exit(_watch_status(session, fmt, interval, count))


def _status_exit(states: list[ClusterState]) -> int:
    """1 when a cluster had no member answering: a script sees it without parsing."""
    return 1 if any(s.reachable_via is None for s in states) else 0


def _watch_status(session: Session, fmt: Format, interval: float, count: int | None) -> int:
    """Each reading as soon as it is read, then the rest of ``interval`` before the next;
    the exit status of the last reading (a watch ended by --count)."""
    import datetime
    import time

    live = Live(console=out, auto_refresh=False) if out.is_terminal and fmt is Format.TEXT \
        else None
    read = 0
    with live or contextlib.nullcontext():
        while count is None or read < count:
            started = time.monotonic()
            states = run(lambda: commands_running.status(session))
            read += 1
            at = datetime.datetime.now().astimezone().strftime("%H:%M:%S")
            took = time.monotonic() - started
            if fmt is Format.JSON:
                print(as_json(states, indent=None), flush=True)
            else:
                heading = Text(f"status at {at} (read in {took:.1f} s; every {interval:g} s"
                               + ("; Ctrl-C to stop)" if count is None else ")"), style="dim")
                reading = Group(heading, *_status_view(states))
                if live is not None:
                    live.update(reading, refresh=True)
                else:
                    out.print(reading)
                    sys.stdout.flush()
            if count is None or read < count:
                time.sleep(max(0.0, interval - (time.monotonic() - started)))
    return _status_exit(states)


def _status_view(states: list[ClusterState]) -> list[RenderableType]:
    """What `status` prints, as rich renderables: data never read as markup."""
    view: list[RenderableType] = []
    for state in states:
        if state.reachable_via is None:
            view.append(Text(f"cluster {state.name}: no member answers", style="red")
                        + Text(f" ({state.error})"))
            continue
        quorum = Text("quorate", style="green") if state.quorate else \
            Text("NO QUORUM", style="red")
        view.append(Text("cluster ", style="bold") + Text(state.name, style="bold")
                    + Text(": ") + quorum + Text(f", DC {state.dc}"))
        view.append(Text("  nodes: " + ", ".join(f"{n} {w}" for n, w in state.nodes.items())))
        table = Table("service", "resource", "running on (* promoted)")
        for svc in state.services:
            for rid, nodes in svc.resources.items():
                table.add_row(Text(svc.service), Text(rid),
                              Text(", ".join(nodes)) if nodes else Text("stopped", style="red"))
        view.append(table)
        if state.vips:
            view.append(Text("  VIPs: " + ", ".join(f"{v}@{','.join(n) or 'nowhere'}"
                                                    for v, n in state.vips.items())))
        for member in state.galera:
            view.append(Text(f"  galera {member.node}: {member.state}, seqno {member.seqno}, "
                             f"safe_to_bootstrap {member.safe_to_bootstrap}"))
        if state.rabbitmq_running:
            view.append(Text("  rabbitmq running (as RabbitMQ sees it): "
                             + ", ".join(state.rabbitmq_running)))
        for broker in state.rabbitmq_outside:
            view.append(Text("  ") + Text("rabbitmq", style="red") + Text(
                f" {broker} is not a member of the RabbitMQ cluster: its data was lost "
                "or diverged, and hastack never resets a broker; "
                f"on {broker}: rabbitmqctl stop_app; rabbitmqctl reset; rabbitmqctl "
                f"join_cluster {(state.rabbitmq_running or ['rabbit@<member>'])[0]}; "
                f"rabbitmqctl start_app; rabbitmq-queues grow rabbit@{broker} all"))
        for failure in state.failures:
            view.append(Text("  failed", style="red") + Text(f" {failure}"))
    return view


@app.command()
def logs(
    site: SiteArg,
    node: Annotated[str | None, typer.Argument(help="one node (default: every node)",
                                               show_default=False)] = None,
    unit: Annotated[str | None, typer.Argument(help="one systemd unit, e.g. corosync",
                                               show_default=False)] = None,
    since: Annotated[str, typer.Option(help="journalctl's --since: -1h, -10min, "
                                       "'2026-12-06 10:00'")] = "-1h",
    lines: Annotated[int | None, typer.Option(help="at most this many of each node's last "
                                              "lines", show_default=False)] = None,
    fmt: FormatOption = Format.TEXT,
    via: ViaOption = "auto",
    ssh_key: SshKeyOption = None,
    known_hosts: KnownHostsOption = None,
) -> None:
    """The nodes' journals in one view ordered by time, secrets masked."""
    session = _session(site, via, ssh_key, known_hosts)
    found = run(lambda: commands_support.logs(session, node, unit, since, lines))
    if fmt is Format.JSON:
        _json(found)
    else:
        for entry in found.entries:
            out.print(Text(entry.line()), soft_wrap=True)
    for name, why in found.unreadable.items():
        err.print(Text(f"{name}: journal not read: {why}", style="red"))
    if found.unreadable:
        raise typer.Exit(1)


@app.command()
def report(
    site: SiteArg,
    out_file: Annotated[Path, typer.Option("--out", help="the archive to write (.tar.gz, "
                                           "0600)", show_default=False)],
    since: Annotated[str, typer.Option(help="the journals since (journalctl's --since)")]
    = "-1d",
    fmt: FormatOption = Format.TEXT,
    via: ViaOption = "auto",
    ssh_key: SshKeyOption = None,
    known_hosts: KnownHostsOption = None,
) -> None:
    """An archive for a support case: status, each cluster's CIB and crm_mon, HAProxy's,
    Galera's and RabbitMQ's state, each node's package versions and journal, hastack's log;
    every secret masked."""
    session = _session(site, via, ssh_key, known_hosts)
    made = run(lambda: commands_support.report(session, out_file, since=since,
                                               hastack_log=log_path()))
    if fmt is Format.JSON:
        _json(made)
        return
    out.print(Text(f"{made.path}: {len(made.members)} files"))
    for member, why in made.missing.items():
        out.print(Text(f"  not collected: {member}: {why}", style="yellow"))


@app.command()
def verify(
    site: SiteArg,
    scope: Annotated[str, typer.Option(help="all, or core (as deployed with --scope core)")]
    = "all",
    fmt: FormatOption = Format.TEXT,
    via: ViaOption = "auto",
    ssh_key: SshKeyOption = None,
    known_hosts: KnownHostsOption = None,
    quiet: QuietOption = False,
) -> None:
    """Run the guide's checks against the running site; exit 0 only when all pass."""
    session = _session(site, via, ssh_key, known_hosts)
    with _watching(session, _progress_console(fmt, quiet), "verify", "checks"):
        result = run(lambda: commands_running.verify(session, scope=scope))
    if fmt is Format.JSON:
        _json(result)
    else:
        table = Table("service", "check", "result", "detail", "s")
        for r in result.checks:
            table.add_row(e(r.service), e(r.name),
                          "[green]pass[/green]" if r.ok else "[red]FAIL[/red]",
                          Text(r.detail), f"{r.seconds:.1f}")
        out.print(table)
    if not result.ok:
        err.print(f"{len(result.failed)} of {len(result.checks)} checks failed", markup=False)
        raise typer.Exit(1)
    if fmt is Format.TEXT:
        out.print(f"[green]all {len(result.checks)} checks pass[/green]")


@app.command()
def maintain(
    site: SiteArg,
    node: Annotated[str, typer.Argument(help="a cluster member", show_default=False)],
    state: Annotated[str, typer.Argument(help="on (out of service) or off (back)",
                                         show_default=False)],
    fmt: FormatOption = Format.TEXT,
    via: ViaOption = "auto",
    ssh_key: SshKeyOption = None,
    known_hosts: KnownHostsOption = None,
) -> None:
    """Take a cluster member out of service for maintenance (its HAProxy backends drained,
    then standby: its VIPs move, its resources stop) or bring it back; one member at a
    time."""
    session = _session(site, via, ssh_key, known_hosts)
    result = run(lambda: commands_maintain.maintain(session, node, state))
    if fmt is Format.JSON:
        _json(result)
        return
    for step in result.steps:
        out.print(f"{step.what} ({step.seconds:.1f}s)", markup=False, highlight=False)
    if result.moved:
        out.print(f"moved off {node}: {', '.join(result.moved)}", markup=False)
    if not result.changed:
        out.print(f"[green]unchanged[/green]: {e(node)} already "
                  f"{'in maintenance' if result.on else 'in service'}")
    else:
        out.print(f"[green]{e(node)} {'in maintenance' if result.on else 'back in service'}"
                  "[/green]")


@app.command()
def drill(
    site: SiteArg,
    kind: Annotated[str, typer.Argument(help="power-loss, partition, service-kill, "
                                        "rabbitmq-member-loss, memcached-loss, "
                                        "galera-cold-start, site-power-loss, "
                                        "site-power-loss-staggered, rabbitmq-cold-start, "
                                        "compute-loss, fence-failure, "
                                        "fence-failure-no-pdu, maintenance, "
                                        "scale-computes or scale-controllers (on a copy "
                                        "of the site listing nodes to add), move-service "
                                        "(on a copy placing a service on another cluster) "
                                        "or soak")],
    node: Annotated[str | None, typer.Option(help="the node to break (default: the one "
                                             "holding the DB VIP; compute-loss: the first "
                                             "compute)")] = None,
    service: Annotated[str, typer.Option(help="service-kill: any service Pacemaker (or, with "
                                         "cluster.manages: core, systemd) runs on the "
                                         "controllers (galera, rabbitmq, haproxy, "
                                         "memcached, keystone, nova-api, ...)")] = "galera",
    seconds: Annotated[float | None, typer.Option(
        help="how long the loads run (default: 90; service-kill and memcached-loss 60; "
             "galera-cold-start 300; site-power-loss and maintenance 420; "
             "rabbitmq-cold-start 120; scale-computes and soak 600; "
             "move-service 1200; scale-controllers 3600)")] = None,
    minutes: Annotated[float | None, typer.Option(help="soak: how long, in minutes "
                                                  "(instead of --seconds)")] = None,
    fmt: FormatOption = Format.TEXT,
    quiet: QuietOption = False,
) -> None:
    """Break the running lab on purpose under a DB and message-bus load, and time the
    recovery; exit 1 if an acknowledged write or message was lost or the cluster did not
    come back to full strength."""
    load_seconds = minutes * 60 if minutes is not None else seconds
    session = _session(site)
    with _watching(session, _progress_console(fmt, quiet), "drill"):
        report = run(lambda: commands_drill.drill(session, kind, node=node, service=service,
                                                  load_seconds=load_seconds))
    if fmt is Format.JSON:
        _json(report)
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
        rows += [("power back after", secs(report.power_back))]
    if report.power_back is not None or report.nova_back is not None:
        rows += [("every nova service reporting up after", secs(report.nova_back))]
    if report.added is not None or report.removed is not None:
        rows += [("nodes added and serving after", secs(report.added)),
                 ("nodes taken out again after", secs(report.removed))]
    if report.moved is not None or report.moved_back is not None:
        rows += [("moved, the old members stopped, after", secs(report.moved)),
                 ("moved back after", secs(report.moved_back))]
    if report.instances:
        rows += [("instances running elsewhere after", secs(report.evacuated)),
                 ("instances evacuated / booted",
                  f"{report.instances_moved} / {report.instances}")]
    rows += [("back at full strength after", secs(report.rejoined)),
            ("host load average", f"{report.load_average:.2f}")]
    for label, value in rows:
        if value != "-":
            table.add_row(e(label), e(value))
    out.print(table)
    if report.timeline:
        steps = Table("after", "waited", "node", "step", title="recovery timeline")
        previous = 0.0
        for step in report.timeline:
            steps.add_row(f"{step.at:.1f} s", f"{max(step.at - previous, 0.0):.1f} s",
                          Text(step.node), Text(step.step))
            previous = max(previous, step.at)
        out.print(steps)
    for note in report.notes:
        err.print(Text(note, style="yellow"))
    for problem in report.problems:
        err.print(Text(problem, style="red"))


@app.command()
def simulate(
    site: SiteArg,
    case: Annotated[str | None, typer.Option(
        "--case", help="one case in full: node-fail:NODE, nodes-fail:A,B, partition:NODE, "
        "monitor-fail:RESOURCE@NODE, fence-fail:NODE or cold-start[:CLUSTER]")] = None,
    fmt: FormatOption = Format.TEXT,
    exhaustive: Annotated[bool, typer.Option(
        help="simulate every compute node, not one per group of identical ones")] = False,
) -> None:
    """Simulate failures with Pacemaker's scheduler and check the guide's invariants on every
    resulting state; exit 1 when a case fails."""
    from hastack.simulate.report import as_json as simulation_json
    from hastack.simulate.report import case_json

    session = _session(site)
    if case is not None:
        one = run(lambda: commands_simulate.simulate_case(session, case))
        if fmt is Format.JSON:
            out.print_json(json.dumps(case_json(one.simulation, one.result)))
        else:
            _print_case(one.simulation, one.result)
        if not one.ok:
            raise typer.Exit(1)
        return
    sim = run(lambda: commands_simulate.simulate(session, exhaustive=exhaustive))
    if fmt is Format.JSON:
        out.print_json(json.dumps(simulation_json(sim)))
    else:
        _print_simulation(sim)
    if not sim.ok:
        raise typer.Exit(1)


def _print_simulation(sim: SiteSimulation) -> None:
    from hastack.simulate.report import explanation, rows

    table = Table("cluster", "case", "result", "services moved", "services unavailable",
                  "fenced", "restarted")
    for row in rows(sim):
        verdict = "[green]pass[/green]" if row.ok else "[red]FAIL[/red]"
        table.add_row(e(row.cluster), e(row.case + (f" (as {row.simulated_as})"
                                                    if row.simulated_as else "")),
                      verdict, *map(e, (", ".join(row.moved), ", ".join(row.unavailable),
                                        ", ".join(row.fenced), ", ".join(row.restarted))))
    out.print(table)
    for row in rows(sim):
        if row.ok:
            continue
        out.print(f"[red]FAIL[/red] {e(row.cluster)} {e(row.case)}")
        base = sim.baseline(row.cluster)
        for v in row.failing:
            out.print(f"  {v.invariant}: {v.message}", markup=False, highlight=False)
            for line in explanation(base, v):
                out.print(f"      {line}", markup=False, highlight=False)
    failed = sum(not r.ok for r in sim.results)
    summary = (f"{len(sim.results)} cases ({sim.simulated} simulated) in {sim.seconds:.1f} s")
    if failed:
        err.print(f"{failed} of {summary} fail", markup=False)
    else:
        out.print(f"[green]every invariant holds[/green] in {summary}")


def _print_case(sim: SiteSimulation, result: CaseResult) -> None:
    from hastack.simulate.report import explanation, view_detail

    base = sim.baseline(result.case.cluster)
    verdict = "[green]pass[/green]" if result.ok else "[red]FAIL[/red]"
    out.print(f"[bold]{e(result.case.spec)}[/bold] on cluster {e(result.case.cluster)}: "
              f"{verdict}")
    out.print("restarted (stopped on a node that stays up): "
              + (", ".join(result.restarted) or "nothing"), markup=False, highlight=False)
    for view in result.views:
        detail = view_detail(base, view)
        quorum = "quorate" if detail.quorate else "[red]no quorum[/red]"
        out.print(f"\n[bold]{e(detail.label)}[/bold] ({quorum}): "
                  + e(", ".join(f"{n} {s}" for n, s in detail.nodes)))
        out.print("  transition:")
        for step in detail.steps or ("(nothing to do)",):
            out.print(f"    {step}", markup=False, highlight=False)
        for item in detail.blocked:
            out.print(f"    still running, its stop waits on a lost node: {item}",
                      markup=False, highlight=False)
        table = Table("resource", "running on (* promoted)")
        for rid, where in detail.placement:
            table.add_row(Text(rid), Text(where) if where != "stopped"
                          else Text("stopped", style="red"))
        out.print(table)
    failing = set(result.failing)
    for v in result.violations:
        style = "red" if v in failing else "yellow"
        label = "FAIL" if v in failing else "expected (double failure)"
        out.print(f"[{style}]{label}[/{style}] " + e(f"{v.invariant}: {v.message}"))
        if v in failing:
            for line in explanation(base, v):
                out.print(f"    {line}", markup=False, highlight=False)
    if not result.violations:
        out.print("[green]every invariant holds[/green]")


@app.command()
def explain(
    site: SiteArg,
    resource: Annotated[str, typer.Argument(help="a resource id (clone or primitive)")],
    fmt: FormatOption = Format.TEXT,
) -> None:
    """The order/colocation chain RESOURCE depends on, from its cluster's CIB ("why is X
    stopped?")."""
    chain = run(lambda: commands_site.explain(_session(site), resource))
    if fmt is Format.JSON:
        _json(chain)
        return
    out.print(f"[bold]cluster {e(chain.cluster)}[/bold]")
    for line in chain.lines:
        out.print(line, markup=False, highlight=False)


lab_app = typer.Typer(no_args_is_help=True,
                      help="The lab: several machines on this computer (systemd-nspawn + netns).")
app.add_typer(lab_app, name="lab")
NodeArg = Annotated[str, typer.Argument(help="a lab machine", show_default=False)]
SiteOpt = Annotated[Path | None, typer.Option("--site", help="the lab's site file (default: "
                                              "the running lab's, else examples/lab.yaml)")]


def _lab(site: Path | None, *, or_recorded_copy: bool = False) -> Session:
    return run(lambda: commands_lab.lab_session(site, or_recorded_copy=or_recorded_copy))


def _print_lab_status(result: LabStatus, fmt: Format = Format.TEXT) -> None:
    if fmt is Format.JSON:
        _json(result)
        return
    table = Table(title=f"lab {result.site}")
    for column in ("machine", "role", "power", "link", "address", "BMC", "BMC server",
                   "systemd"):
        table.add_column(column)
    for row in result.machines:
        server = "-" if not row.bmc_running else "running" if row.bmc_answering else "dead"
        table.add_row(*map(e, (row.name, row.role, row.power, row.link, str(row.address),
                               str(row.bmc), server)), Text(row.systemd))
    out.print(table)


@lab_app.command("up")
def lab_up(
    site: Annotated[Path, typer.Argument(help="lab site file")] = commands_lab.DEFAULT_SITE,
    packages: Annotated[str, typer.Option(help="site: install every package the site needs "
                                          "on the host (the image); core: those of the HA "
                                          "core only; lab: only the lab's own tools")]
    = "site",
    fmt: FormatOption = Format.TEXT,
    quiet: QuietOption = False,
) -> None:
    """Bring up the lab's machines, network and BMCs (no change on a running lab)."""
    session = Session(site)
    with _watching(session, _progress_console(fmt, quiet), "lab up"):
        result = run(lambda: commands_lab.up(session, packages=packages))
    _print_lab_status(result, fmt)


@lab_app.command("status")
def lab_status(site: SiteOpt = None, fmt: FormatOption = Format.TEXT) -> None:
    """Machines, power, links, addresses and BMCs."""
    session = _lab(site, or_recorded_copy=True)
    _print_lab_status(run(lambda: commands_lab.status(session)), fmt)


@lab_app.command("access")
def lab_access(site: SiteOpt = None, fmt: FormatOption = Format.TEXT) -> None:
    """How to reach the lab's cloud: dashboard URL, admin openrc, `openstack` commands."""
    session = _lab(site)
    access = run(lambda: commands_lab.access(session))
    if fmt is Format.JSON:
        _json(access)
        return
    for what, how in access.lines:
        out.print(f"{what:<13} {how}", soft_wrap=True, markup=False, highlight=False)


@lab_app.command("down")
def lab_down(keep_disks: Annotated[bool, typer.Option(help="keep the machines' disks")]
             = False) -> None:
    """Remove everything the lab created: processes, mounts, namespaces, dirs."""
    removed = run(lambda: commands_lab.down(keep_disks=keep_disks))
    out.print(f"lab down: removed {', '.join(removed) or 'nothing'}", markup=False)


@lab_app.command("stop")
def lab_stop() -> None:
    """Every machine off at once, as when this computer loses power; disks kept: `lab up`
    brings the same machines back (a site-wide power return)."""
    stopped = run(commands_lab.stop)
    out.print(f"lab stop: {', '.join(stopped) or 'nothing'} off; `hastack lab up` brings "
              "them back", markup=False)


@lab_app.command("power")
def lab_power(action: Annotated[str, typer.Argument(help="on, off, cycle or status")],
              node: NodeArg, site: SiteOpt = None) -> None:
    """Power a machine through its BMC (IPMI, as fence_ipmilan does)."""
    if action not in ("on", "off", "cycle", "status"):
        run(_usage("usage", "power takes on, off, cycle or status", "see --help"))
    session = _lab(site)
    out.print(run(lambda: commands_lab.power(session, node, action)), markup=False)


def _fault_switch(kind: str, name: str, state: str, site: Path | None, *, on: str,
                  off: str) -> None:
    """A lab fault switch (BMC, PDU, link): its argument checked first (exit 2), then set."""
    if state not in (on, off):
        run(_usage("usage", f"{kind} takes {off} or {on}", "see --help"))
    session = _lab(site)
    run(lambda: commands_lab.fault_switch(session, kind, name, on=state == on))
    out.print(f"{name}: {kind} {state}", markup=False)


@lab_app.command("bmc")
def lab_bmc(state: Annotated[str, typer.Argument(help="dead or alive")], node: NodeArg,
            site: SiteOpt = None) -> None:
    """Make a machine's BMC stop answering (dead, as when it loses power with its node) or
    answer again (alive); the machine itself is untouched."""
    _fault_switch("bmc", node, state, site, on="alive", off="dead")


@lab_app.command("pdu")
def lab_pdu(state: Annotated[str, typer.Argument(help="dead or alive")],
            pdu: Annotated[str, typer.Argument(help="the PDU's name (site's pdus:)")],
            site: SiteOpt = None) -> None:
    """Make a lab PDU stop answering SNMP (dead; its outlets stay powered) or answer again."""
    _fault_switch("pdu", pdu, state, site, on="alive", off="dead")


@lab_app.command("link")
def lab_link(state: Annotated[str, typer.Argument(help="up or down")], node: NodeArg,
             site: SiteOpt = None) -> None:
    """Plug a machine's network cable out (down) or in (up)."""
    _fault_switch("link", node, state, site, on="up", off="down")


@lab_app.command("partition")
def lab_partition(groups: Annotated[list[str], typer.Argument(help="e.g. ctl1,ctl2 / ctl3")],
                  site: SiteOpt = None) -> None:
    """Drop all traffic between groups of machines (both ways)."""
    spec = " ".join(groups)
    parsed = [[n.strip() for n in g.split(",") if n.strip()] for g in spec.split("/")]
    session = _lab(site)
    run(lambda: commands_lab.partition(session, parsed))
    out.print("partitioned: " + " | ".join(",".join(g) for g in parsed), markup=False)


@lab_app.command("heal")
def lab_heal() -> None:
    """Remove every partition."""
    run(commands_lab.heal)
    out.print("healed")


def _enter(node: str, command: list[str], site: Path | None) -> None:
    session = _lab(site)
    argv = run(lambda: commands_lab.enter_argv(session, node, command))
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
