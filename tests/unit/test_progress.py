"""Live progress (issue 17): what a log gets while a long command runs, driven by a fake clock
(commands/progress.py), where the CLI sends it (stdout, stderr beside JSON, nowhere with
--quiet), and apt's status lines read as lab up reads them (lab/image.py)."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path

import pytest

from hastack import cli
from hastack.commands.deploy import Deployed
from hastack.commands.progress import Line, ProgressView
from hastack.commands.session import Session
from hastack.deploy.apply import Event
from hastack.lab.image import AptStatus, InstallCounter, Installing, apt_status, apt_total

ROOT = Path(__file__).resolve().parents[2]
T0 = 1_700_000_000.0  # 22:13:20 UTC
STAMP = r"\d\d:\d\d:\d\d"


@pytest.fixture(autouse=True)
def _utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Timestamps in UTC, whatever this computer's zone."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


def view(*, live: bool = False, title: str = "deploy") -> tuple[ProgressView, Clock,
                                                                  list[str]]:
    clock, lines = Clock(), []

    def write(line: Line) -> None:
        lines.append(str(line))
    return ProgressView(write, title=title, live=live, clock=clock), clock, lines


def run_for(progress: ProgressView, clock: Clock, seconds: int) -> None:
    """``seconds`` of the CLI's ticker, one tick a second."""
    for _ in range(seconds):
        clock.now += 1
        progress.tick()


def test_a_log_gets_a_timestamped_line_per_step_ended() -> None:
    progress, clock, lines = view()
    progress.started("prepare", "ctl1")
    clock.now += 1.5
    progress.ended("prepare", "ctl1", head="changed", body="prepare ctl1: wrote 3 of 9 files")
    progress.ended("service:galera", None)  # unchanged, not shown: nothing to say
    assert lines == ["22:13:21      changed prepare ctl1: wrote 3 of 9 files"]


def test_a_long_step_is_announced_then_said_to_run_every_interval() -> None:
    progress, clock, lines = view()
    for node in ("ctl1", "ctl2", "ctl3"):
        progress.started("action:swift-rings", node)
    run_for(progress, clock, 1)
    assert lines == []  # a quick step never shows up
    run_for(progress, clock, 1)
    assert lines == ["22:13:22      started action:swift-rings ctl1, ctl2, ctl3 (2 s ago)"]
    run_for(progress, clock, 30)
    assert lines[1:] == ["22:13:32      running action:swift-rings ctl1, ctl2, ctl3 (12 s)",
                         "22:13:42      running action:swift-rings ctl1, ctl2, ctl3 (22 s)",
                         "22:13:52      running action:swift-rings ctl1, ctl2, ctl3 (32 s)"]
    for node in ("ctl1", "ctl2", "ctl3"):
        progress.ended("action:swift-rings", node, head="changed",
                       body=f"action:swift-rings {node}: built")
    del lines[:]
    run_for(progress, clock, 60)
    assert lines == []  # nothing runs: nothing to say


def test_a_line_that_went_out_puts_off_the_next_running_line() -> None:
    """A log is never silent for longer than the interval, and says "running" no more often
    than that."""
    progress, clock, lines = view()
    progress.started("service:keystone", None)
    progress.started("prepare", "cmp1")
    run_for(progress, clock, 8)
    progress.ended("prepare", "cmp1", head="changed", body="prepare cmp1: wrote 2 of 4 files")
    run_for(progress, clock, 9)
    assert [line.split()[1] for line in lines] == ["started", "started", "changed"]
    run_for(progress, clock, 1)
    assert lines[-1] == "22:13:38      running service:keystone (18 s)"
    seconds = [int(line[3:5]) * 60 + int(line[6:8]) for line in lines]  # HH:MM:SS
    began = 13 * 60 + 20  # T0
    assert all(b - a <= 10 for a, b in pairwise([began, *seconds]))


def test_many_steps_at_once_are_named_in_one_line() -> None:
    progress, clock, lines = view()
    for n in range(1, 11):
        progress.started("prepare", f"cmp{n}")
    for what in ("service:a", "service:b", "service:c", "service:d"):
        progress.started(what, None)
    run_for(progress, clock, 12)
    assert lines[-1] == ("22:13:32      running prepare cmp1, cmp2, cmp3, cmp4, cmp5, cmp6, "
                         "cmp7, cmp8, +2 (12 s); service:a (12 s); service:b (12 s); "
                         "service:c (12 s); +1 more")


def test_a_phase_is_said_at_once_and_its_count_while_it_runs() -> None:
    progress, clock, lines = view(title="lab up")
    progress.phase("installing 61 packages on the host (410 with their dependencies)")
    clock.now += 4
    progress.counted("packages", 23, 410, "Unpacking nova-api (amd64)")
    run_for(progress, clock, 6)
    assert lines == [
        "22:13:20       lab up installing 61 packages on the host (410 with their "
        "dependencies)",
        "22:13:30      running installing 61 packages on the host (410 with their "
        "dependencies) (10 s): packages 23/410 Unpacking nova-api (amd64)"]
    progress.phase("machine ctl1: its disk, link, power and BMC")
    assert "packages" not in progress.status()  # the count was the last phase's


def test_on_a_terminal_one_line_is_redrawn_and_lines_carry_no_time() -> None:
    progress, clock, lines = view(live=True)
    progress.counted("service", 7, 18, "nova")
    progress.started("service:nova", None)
    progress.started("action:nova-db-sync", "ctl1")
    clock.now += 72
    progress.ended("prepare", "ctl2", head="changed", body="prepare ctl2: wrote 1 of 9 files")
    run_for(progress, clock, 30)
    assert lines == ["     changed prepare ctl2: wrote 1 of 9 files"]
    assert progress.status() == ("deploy 1:42 · 1 step done · service 7/18 nova · "
                                 "service:nova 102s · action:nova-db-sync ctl1 102s")


def test_progress_goes_to_stdout_to_stderr_beside_json_or_nowhere() -> None:
    assert cli._progress_console(cli.Format.TEXT, quiet=False) is cli.out
    assert cli._progress_console(cli.Format.JSON, quiet=False) is cli.err
    assert cli._progress_console(cli.Format.TEXT, quiet=True) is None
    assert cli._progress_console(cli.Format.JSON, quiet=True) is None


def a_deploy(session: Session) -> Deployed:
    """What the engine reports during a deploy: a step started, its event."""
    session.watch.started("prepare", "ctl1")
    session.progress(Event("prepare", "ctl1", "changed", "wrote 3 of 9 files", 1.0))
    session.progress(Event("service:galera", None, "unchanged", "CIB holds it", 0.2))
    return Deployed(dry_run=False, changed=True, steps=(), diffs=())


def test_a_deploy_with_json_keeps_stdout_pure(capsys: pytest.CaptureFixture[str]) -> None:
    session = Session(ROOT / "examples" / "lab.yaml")
    cli._deployed(session, cli.Format.JSON, lambda: a_deploy(session))
    shown = capsys.readouterr()
    assert json.loads(shown.out)["changed"] is True
    assert re.fullmatch(rf"{STAMP}      changed prepare ctl1: wrote 3 of 9 files \(1.0s\)\n",
                        shown.err)


def test_a_quiet_deploy_prints_only_its_result(capsys: pytest.CaptureFixture[str]) -> None:
    session = Session(ROOT / "examples" / "lab.yaml")
    cli._deployed(session, cli.Format.TEXT, lambda: a_deploy(session), quiet=True)
    assert capsys.readouterr() == ("deployed\n", "")


def test_a_deploy_in_a_log_shows_its_steps_and_result(capsys: pytest.CaptureFixture[str]
                                                     ) -> None:
    session = Session(ROOT / "examples" / "lab.yaml")
    cli._deployed(session, cli.Format.TEXT, lambda: a_deploy(session), verbose=True)
    shown = capsys.readouterr()
    assert re.fullmatch(rf"{STAMP}      changed prepare ctl1: wrote 3 of 9 files \(1.0s\)\n"
                        rf"{STAMP}    unchanged service:galera: CIB holds it \(0.2s\)\n"
                        "deployed\n", shown.out)
    assert shown.err == ""


# apt-get's APT::Status-Fd, as apt's own test (test/integration/test-apt-progress-fd) records
# it for an install, and as `apt-get download -o APT::Status-Fd=3 hello` wrote it on Debian 12
# (apt 2.6: percents with four decimals).
APT_INSTALL = """\
dlstatus:1:0:Retrieving file 1 of 1
dlstatus:1:20:Retrieving file 1 of 1
pmstatus:dpkg-exec:0:Running dpkg
pmstatus:testing:0:Installing testing (amd64)
pmstatus:testing:20:Preparing testing (amd64)
pmstatus:testing:40:Unpacking testing (amd64)
pmstatus:testing:60:Preparing to configure testing (amd64)
pmstatus:dpkg-exec:60:Running dpkg
pmstatus:testing:60:Configuring testing (amd64)
pmstatus:testing:80:Configuring testing (amd64)
pmstatus:testing:100:Installed testing (amd64)
"""
APT_DOWNLOAD_DEBIAN12 = """\
dlstatus:1:0.0000:Retrieving file 1 of 1
dlstatus:1:100.0000:Retrieving file 1 of 1
"""
# `apt-get install -y -qq --no-install-recommends --simulate hello cowsay` on Debian 12.
APT_SIMULATED = """\
Inst libtext-charwidth-perl (0.04-11 Debian:12.15/oldstable [amd64])
Inst cowsay (3.03+dfsg2-8 Debian:12.15/oldstable [all])
Inst hello (2.10-3 Debian:12.15/oldstable [amd64])
Conf libtext-charwidth-perl (0.04-11 Debian:12.15/oldstable [amd64])
Conf cowsay (3.03+dfsg2-8 Debian:12.15/oldstable [all])
Conf hello (2.10-3 Debian:12.15/oldstable [amd64])
"""


def test_apt_status_lines_are_read() -> None:
    read = [apt_status(line) for line in (APT_INSTALL + APT_DOWNLOAD_DEBIAN12).splitlines()]
    assert read[0] == AptStatus("dlstatus", "1", 0.0, "Retrieving file 1 of 1")
    assert read[5] == AptStatus("pmstatus", "testing", 40.0, "Unpacking testing (amd64)")
    assert read[-1] == AptStatus("dlstatus", "1", 100.0, "Retrieving file 1 of 1")
    assert all(read)
    # The text may hold colons; other kinds of line and broken ones are not status.
    assert apt_status("pmconffile:nova:50:'/etc/nova/nova.conf' 'x' 1 1") == AptStatus(
        "pmconffile", "nova", 50.0, "'/etc/nova/nova.conf' 'x' 1 1")
    assert apt_status("media-change: cdrom:/media/cdrom:Please insert") is None
    assert apt_status("pmstatus:nova:half:Unpacking nova") is None
    assert apt_status("") is None


def test_apt_progress_counts_installed_packages_of_the_simulated_total() -> None:
    total = apt_total(APT_SIMULATED)
    assert total == 3
    said: list[Installing] = []
    count = InstallCounter(total, said.append)
    second = APT_INSTALL.split("pmstatus:dpkg-exec:0:Running dpkg\n")[1].replace(
        "testing", "hello")
    for line in (APT_INSTALL + second).splitlines():
        count(line)
    assert said[0] == Installing(0, 3, "Retrieving file 1 of 1")
    assert Installing(0, 3, "Unpacking testing (amd64)") in said
    assert said[-1] == Installing(2, 3, "Installed hello (amd64)")
    assert not any("dpkg" in s.doing for s in said)  # apt's own bookkeeping
    assert apt_total("") is None
