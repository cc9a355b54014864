"""agents/openstack_api.py runs a batch of operations in one program: each request stands
alone (a failing one does not stop the next), and each sets the password its own environment
variable names. Run with a stand-in openstacksdk that records what it was asked."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from hastack import catalog
from hastack.agents import agent_text
from hastack.catalog.contract import ServiceContext
from hastack.catalog.openstack import admin_password
from hastack.catalog.platform import platform_info
from hastack.osapi.client import ApiRequest, call_many
from hastack.process import Result
from hastack.secrets import Secrets

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "lab.yaml"

FAKE_SDK = '''
import json, os, threading, time, types

CALLS = []
ACTIVE = [0, 0]  # calls running now, most ever at once
LOCK = threading.Lock()

class Identity:
    def __getattr__(self, name):
        def call(*args, **kwargs):
            with LOCK:
                ACTIVE[0] += 1
                ACTIVE[1] = max(ACTIVE)
            time.sleep(float(os.environ.get("CALL_SECONDS", "0")))
            with LOCK:
                ACTIVE[0] -= 1
            named = [a for a in args if isinstance(a, str)]
            CALLS.append([name, kwargs.get("name") or (named[0] if named else None),
                          kwargs.get("password")])
            if name in ("services", "endpoints"):
                return []
            if name.startswith("create_"):
                return types.SimpleNamespace(id=kwargs.get("name"), **kwargs)
            if name.startswith("validate_"):
                return False
            return None
        return call

def connect(**kwargs):
    conn = types.SimpleNamespace(identity=Identity())
    import atexit
    atexit.register(lambda: open(os.environ["CALLS_FILE"], "w").write(
        json.dumps(CALLS + [["at once", ACTIVE[1], None]])))
    CALLS.append(["connect", None, None])
    return conn
'''


def run_batch(tmp_path: Path, requests: list[dict[str, object]], env: dict[str, str], *,
              ensure: bool = True, lanes: int | None = None
              ) -> tuple[list[dict[str, object]], list[list[str]]]:
    sdk = tmp_path / "sdk"
    (sdk / "openstack").mkdir(parents=True, exist_ok=True)
    (sdk / "openstack" / "__init__.py").write_text(FAKE_SDK)
    calls = tmp_path / "calls.json"
    done = subprocess.run(
        [sys.executable, "-", json.dumps({"requests": requests, "ensure": ensure, "lanes": lanes})],
        input=agent_text("openstack_api.py"), capture_output=True, text=True, check=True,
        env={"PYTHONPATH": str(sdk), "OS_AUTH_URL": "https://198.18.0.201:5000/v3",
             "OS_PASSWORD": "admin-pw", "CALLS_FILE": str(calls), **env})
    return json.loads(done.stdout.splitlines()[-1]), json.loads(calls.read_text())


def test_a_failing_request_does_not_stop_the_next_and_each_gets_its_own_password(
        tmp_path: Path) -> None:
    answers, calls = run_batch(tmp_path, [
        {"operation": "heat.stack-domain", "params": {"domain": "heat", "admin": "hda"},
         "secret": "SECRET_PASSWORD_0"},
        {"operation": "no.such-operation", "params": {}, "secret": None},
        {"operation": "project.ensure", "params": {"name": "service"}, "secret": None},
        {"operation": "heat.stack-domain", "params": {"domain": "heat2", "admin": "hda2"},
         "secret": "SECRET_PASSWORD_3"},
    ], {"SECRET_PASSWORD_0": "first-pw", "SECRET_PASSWORD_3": "second-pw"})
    assert [a["ok"] for a in answers] == [True, False, True, True], answers
    assert "unknown operation no.such-operation" in str(answers[1]["detail"])
    assert all(a["changed"] for i, a in enumerate(answers) if i != 1), answers
    assert all(isinstance(a["seconds"], float) for a in answers)
    users = [(name, password) for op, name, password in calls if op == "create_user"]
    assert users == [("hda", "first-pw"), ("hda2", "second-pw")], calls
    assert ["create_project", "service", None] in calls
    assert [c for c in calls if c[0] == "connect"] == [["connect", None, None]], calls


def _registers(users: list[str]) -> list[dict[str, object]]:
    return [{"operation": "keystone.register", "params": {
        "user": user, "service": user, "type": user, "url": "https://x", "region": "r"},
        "secret": f"SECRET_{user}"} for user in users]


def test_a_batch_that_only_reads_asks_a_few_at_a_time_and_answers_in_order(
        tmp_path: Path) -> None:
    users = [f"svc{i}" for i in range(6)]
    env = {"CALL_SECONDS": "0.05", **{f"SECRET_{u}": f"{u}-pw" for u in users}}
    answers, calls = run_batch(tmp_path, _registers(users), env, ensure=False)
    named = [[u for u in users if f"user {u};" in str(a["detail"])] for a in answers]
    assert named == [[u] for u in users], answers
    assert calls[-1][1] > 1, "the reads ran one after another"
    assert not [c for c in calls if c[0].startswith(("create_", "update_"))], calls
    # Writes stay one after another: two at once would create the same project twice.
    _, calls = run_batch(tmp_path, _registers(users), env, ensure=True)
    assert calls[-1][1] == 1, "writes ran at once"
    assert [c[1] for c in calls if c[0] == "create_user"] == users


def test_a_batch_that_names_its_lanes_runs_that_many_at_a_time(tmp_path: Path) -> None:
    """verify's checks (each makes its own resources) ask for two lanes: two at a time,
    never more, and the answers still in the order asked."""
    users = [f"svc{i}" for i in range(6)]
    env = {"CALL_SECONDS": "0.05", **{f"SECRET_{u}": f"{u}-pw" for u in users}}
    answers, calls = run_batch(tmp_path, _registers(users), env, ensure=True, lanes=2)
    assert calls[-1][1] == 2, calls[-1]
    named = [[u for u in users if f"user {u};" in str(a["detail"])] for a in answers]
    assert named == [[u] for u in users], answers


class DyingNode:
    """A controller whose python3 cannot run the program (openstacksdk missing)."""

    host = "ctl1"

    async def run(self, argv: Sequence[str], *, stdin: bytes | None = None,
                  env: Mapping[str, str] | None = None, timeout: float = 600) -> Result:
        return Result(self.host, tuple(argv), 1, "",
                      "Traceback (most recent call last):\n"
                      "ModuleNotFoundError: No module named 'openstack'\n")


def test_when_the_program_dies_every_request_fails_with_what_it_said() -> None:
    loaded = catalog.load(EXAMPLE)
    ctx = ServiceContext(site=loaded.site, placement=loaded.placement, service="keystone",
                         platform=platform_info(loaded.site.platform.value))
    store = Secrets(path=Path("/x"), values={admin_password().name: "admin-pw"}, generated=())
    results = asyncio.run(call_many(DyingNode(), [  # type: ignore[arg-type]
        ApiRequest("token.issue", {}), ApiRequest("project.ensure", {"name": "service"})],
        ctx=ctx, secrets=store))
    assert [r.ok for r in results] == [False, False]
    assert all("No module named 'openstack'" in r.detail for r in results), results
