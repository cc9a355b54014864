"""agents/openstack_api.py runs a batch of operations in one program: each request stands
alone (a failing one does not stop the next), and each sets the password its own environment
variable names. Run with a stand-in openstacksdk that records what it was asked."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from hastack.agents import agent_text

FAKE_SDK = '''
import json, os, types

CALLS = []

class Identity:
    def __getattr__(self, name):
        def call(*args, **kwargs):
            CALLS.append([name, kwargs.get("name"), kwargs.get("password")])
            if name.startswith("create_"):
                return types.SimpleNamespace(id=kwargs.get("name"), **kwargs)
            if name.startswith("validate_"):
                return False
            return None
        return call

def connect(**kwargs):
    conn = types.SimpleNamespace(identity=Identity())
    import atexit
    atexit.register(lambda: open(os.environ["CALLS_FILE"], "w").write(json.dumps(CALLS)))
    CALLS.append(["connect", None, None])
    return conn
'''


def run_batch(tmp_path: Path, requests: list[dict[str, object]],
              env: dict[str, str]) -> tuple[list[dict[str, object]], list[list[str]]]:
    sdk = tmp_path / "sdk"
    (sdk / "openstack").mkdir(parents=True)
    (sdk / "openstack" / "__init__.py").write_text(FAKE_SDK)
    calls = tmp_path / "calls.json"
    done = subprocess.run(
        [sys.executable, "-", json.dumps({"requests": requests, "ensure": True})],
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
