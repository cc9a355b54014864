"""The direction of imports (docs/style.md §1): pure layers never reach hosts or tools."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from hastack import catalog

SRC = Path(__file__).resolve().parents[2] / "src" / "hastack"
PURE = ("site", "catalog", "render")
FORBIDDEN_IN_PURE = ("hastack.transport", "hastack.deploy", "hastack.pacemaker", "hastack.lab",
                     "hastack.verify", "subprocess", "asyncio", "asyncssh", "socket")
# One service's module (or the cluster base's): deploy reaches a service only through its
# contract (catalog/contract.py), never by naming its module.
SERVICE_MODULES = {e.module.__name__ for e in (catalog.BASE, *catalog.SERVICES)}


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def modules(package: str) -> list[Path]:
    return sorted((SRC / package).rglob("*.py"))


@pytest.mark.parametrize("path", [p for pkg in PURE for p in modules(pkg)],
                         ids=lambda p: str(p.relative_to(SRC)))
def test_pure_layers_touch_no_host(path: Path) -> None:
    bad = {i for i in imports_of(path)
           if any(i == f or i.startswith(f + ".") for f in FORBIDDEN_IN_PURE)}
    assert not bad, f"{path.relative_to(SRC)} imports {sorted(bad)}"


def test_site_never_imports_catalog_or_render() -> None:
    for path in modules("site"):
        bad = {i for i in imports_of(path)
               if i.startswith(("hastack.catalog", "hastack.render"))}
        assert not bad, f"{path.relative_to(SRC)} imports {sorted(bad)}"


def test_deploy_names_no_catalog_module() -> None:
    for path in modules("deploy"):
        # `from hastack.catalog import rabbitmq` and `from hastack.catalog.rabbitmq import X`
        # both show up: as the module's name, or as a name inside it.
        bad = {i for i in imports_of(path)
               if i in SERVICE_MODULES or i.rsplit(".", 1)[0] in SERVICE_MODULES}
        assert not bad, f"{path.relative_to(SRC)} imports catalog modules {sorted(bad)}"


def test_errors_module_is_a_leaf() -> None:
    assert not {i for i in imports_of(SRC / "errors.py") if i.startswith("hastack")}


# Programs hastack sends to nodes: their stdout is the answer the library reads back.
AGENTS = SRC / "agents"


def test_only_the_cli_prints() -> None:
    for path in SRC.rglob("*.py"):
        if path.name == "cli.py" or path.parent == AGENTS:
            continue
        calls = [n for n in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
                 if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
                 and n.func.id == "print"]
        assert not calls, f"{path.relative_to(SRC)} calls print()"


# What the CLI may import at run time: the commands, and what renders their results.
CLI_MAY_IMPORT = ("hastack.commands", "hastack.errors", "hastack.logmask",
                  "hastack.simulate.report")


def test_cli_calls_only_commands() -> None:
    """The CLI decides nothing: it imports the library only through hastack.commands (types
    for annotations aside)."""
    tree = ast.parse((SRC / "cli.py").read_text(encoding="utf-8"))
    typing_only = {id(n) for block in ast.walk(tree) if isinstance(block, ast.If)
                   and getattr(block.test, "id", "") == "TYPE_CHECKING"
                   for n in ast.walk(block)}
    bad = sorted({node.module for node in ast.walk(tree)
                  if isinstance(node, ast.ImportFrom) and node.module
                  and node.module.startswith("hastack") and id(node) not in typing_only
                  and not node.module.startswith(CLI_MAY_IMPORT)})
    assert not bad, f"cli.py imports {bad}: call a command in hastack.commands instead"


# Commands run on this computer go through hastack.process (one result, one log line, a
# timeout that stops the command's children): nothing else runs a command and waits for it.
# Popen stays where hastack starts a daemon and does not wait: the lab machine's
# systemd-nspawn, the lab's BMC and PDU servers. Programs under agents/ run on nodes.
RUNNER = SRC / "process.py"
STARTS_DAEMONS = {SRC / "lab" / "machine.py", SRC / "lab" / "control.py"}
RUN_AND_WAIT = {
    "subprocess": {"run", "call", "check_call", "check_output", "getoutput",
                   "getstatusoutput", "Popen"},
    "os": {"system", "popen", "spawnl", "spawnle", "spawnlp", "spawnlpe", "spawnv", "spawnve",
           "spawnvp", "spawnvpe", "posix_spawn", "posix_spawnp"},
    "asyncio": {"create_subprocess_exec", "create_subprocess_shell"},
}


def runs_and_waits(path: Path) -> list[str]:
    """``module.name`` calls (or imports) of RUN_AND_WAIT in ``path``, with their lines."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module in RUN_AND_WAIT:
            found += [f"{node.lineno}: from {node.module} import {a.name}" for a in node.names
                      if a.name in RUN_AND_WAIT[node.module]]
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                and node.attr in RUN_AND_WAIT.get(node.value.id, ()):
            if node.value.id == "subprocess" and node.attr == "Popen" \
                    and path in STARTS_DAEMONS:
                continue
            found.append(f"{node.lineno}: {node.value.id}.{node.attr}")
    return found


@pytest.mark.parametrize("path", [p for p in sorted(SRC.rglob("*.py"))
                                  if p != RUNNER and p.parent != AGENTS],
                         ids=lambda p: str(p.relative_to(SRC)))
def test_only_the_runner_runs_commands(path: Path) -> None:
    found = runs_and_waits(path)
    assert not found, (f"{path.relative_to(SRC)} runs a command itself ({'; '.join(found)}): "
                       "use hastack.process.run (or run_async), or a transport for a node")
