#!/usr/bin/python3
"""Instance HA: fence_hastack_evacuate (stonith) and NovaEvacuate (OCF), one script.

hastack installs this file twice (catalog/compute.py) and it acts by the name it runs under:

- /usr/sbin/fence_hastack_evacuate is the second device of each compute's fencing level. After
  the power device switched the node off, ``off``/``reboot`` records the node for evacuation
  (node attribute evacuate=yes) and marks its nova-compute service forced down, so nova treats
  it as down at once instead of after service_down_time (54 s in the lab). If nova cannot be
  reached the action fails: fencing is incomplete and Pacemaker retries it. With
  record_only=0 it also requests the evacuations itself. ``on`` does nothing: nova refuses to
  clear forced_down while evacuation records remain, so an operator restarts the returned
  node's nova-compute (it cleans them up) and then runs
  ``openstack compute service set --up NODE nova-compute``.
- /usr/lib/ocf/resource.d/hastack/NovaEvacuate runs once in the cluster (A/P). Each recurring
  monitor evacuates the instances of every recorded node and clears a record only when nova
  shows no instance left to move on that host; a failure leaves the record for the next monitor.

Debian 12's fence_compute/fence_evacuate crash on Python 3.11 and it ships no NovaEvacuate
(lab-notes). Standalone, as a file on a node must be: Python 3 stdlib, PyYAML and openstacksdk
(python3-openstacksdk), never hastack; hence one file for both agents, which share the nova
and Pacemaker code. Decisions are pure functions of parsed input (tests/unit/test_agents.py);
the I/O is in Nova, Cluster and the two entry points. Progress goes to syslog, one line per
node and decision: ``journalctl -t NovaEvacuate -t fence_hastack_evacuate``; pending records
show as evacuate=yes in ``crm_mon -A1``. Passwords stay in clouds.yaml: never in argv, logs or
output.
"""

from __future__ import annotations

import datetime
import importlib
import importlib.util
import logging
import logging.handlers
import os
import socket
import subprocess
import sys
import time
import urllib.parse
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

FENCE_NAME = "fence_hastack_evacuate"
OCF_NAME = "NovaEvacuate"
DEFAULT_CLOUDS = "/etc/hastack/clouds.yaml"
DEFAULT_CLOUD = "hastack"
# A permanent node attribute (crm_attribute), not attrd's transient one the upstream agents
# use: the controller purges a remote node's transient attributes when its connection stops
# or starts (Pacemaker 2.1 controld_remote_ra.c, remote_node_down/up), as a fenced compute's
# recovery does. hastack's CIB merge keeps node attributes it does not set (deploy/cib.py).
ATTRIBUTE = "evacuate"
PENDING = "yes"
# After its evacuation a node is "returning": once its nova-compute reports in again (it
# restarted after the power cycle and cleaned up its evacuated instances, which nova requires
# before it un-forces a host), NovaEvacuate clears forced_down and the record.
RETURNING = "returning"
HEARTBEAT_FRESH = 60.0  # seconds: a report this recent means nova-compute runs again
# Nova API microversions (api-ref): 2.53 names services by UUID and sets forced_down alone,
# 2.11 is the older PUT /os-services/force-down. 2.29 evacuates with an empty body (nova checks
# shared storage itself since 2.14); openstacksdk 0.101 sends none and gets 400 (lab-notes).
SERVICES_VERSION = "2.53"
OLD_SERVICES_VERSION = "2.11"
EVACUATE_VERSION = "2.29"
# nova/compute/api.py (Zed) evacuate: vm_state active, stopped or error, and no task_state.
EVACUABLE = ("active", "stopped", "error")
PAGE = 200
TOOL_TIMEOUT = 30  # seconds for one cibadmin/crm_attribute call
SYSLOG = "/dev/log"  # journald's syslog socket

OCF_SUCCESS, OCF_ERR_GENERIC, OCF_ERR_UNIMPLEMENTED = 0, 1, 3
OCF_ERR_INSTALLED, OCF_ERR_CONFIGURED, OCF_NOT_RUNNING = 5, 6, 7

# --- options (pure) -------------------------------------------------------------------------


class UsageError(Exception):
    """Bad options: the agent says what and exits 1 without touching anything."""


FENCE_ACTIONS = ("off", "reboot", "on", "status", "monitor", "list", "metadata", "validate-all")
HOST_KEYS = ("plug", "port", "nodename")  # Pacemaker passes plug= (or port=) and nodename=
FENCE_KEYS = {"action", "option", *HOST_KEYS, "record_only", "clouds", "cloud",
              "pcmk_host_list", "verbose"}
FLAGS = {"record_only", "verbose"}
SHORT = {"-o": "action", "-n": "plug", "-v": "verbose"}


@dataclass(frozen=True)
class FenceOptions:
    action: str = "reboot"
    plug: str | None = None
    record_only: bool = False
    clouds: str = DEFAULT_CLOUDS
    cloud: str = DEFAULT_CLOUD
    host_list: tuple[str, ...] = ()  # only when given by hand: Pacemaker keeps pcmk_* to itself
    verbose: bool = False
    ignored: tuple[str, ...] = ()  # stdin keys this agent does not know (Pacemaker may add some)


def truth(value: str) -> bool:
    """A fence-agent boolean: 1/yes/true/on or 0/no/false/off (empty is false)."""
    word = value.strip().lower()
    if word in ("1", "yes", "true", "on", "y"):
        return True
    if word in ("", "0", "no", "false", "off", "n"):
        return False
    raise UsageError(f"not a boolean: {value!r}")


def stdin_pairs(text: str) -> list[tuple[str, str]]:
    """key=value lines, as Pacemaker writes them; a bare key means 1; '#' starts a comment."""
    out = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        out.append((key.strip().replace("-", "_"), value.strip() if sep else "1"))
    return out


def argv_pairs(argv: Sequence[str]) -> list[tuple[str, str]]:
    """--key=value, --key value, --flag, -o ACTION, -n NODE, -v (by hand, like fencing.py)."""
    out: list[tuple[str, str]] = []
    args = list(argv)
    while args:
        arg = args.pop(0)
        value: str | None = None
        if arg in ("-h", "--help"):
            raise UsageError(usage())
        if arg in SHORT:
            key = SHORT[arg]
        elif arg.startswith("--"):
            key, sep, given = arg[2:].partition("=")
            key = key.replace("-", "_")
            value = given if sep else None
        else:
            raise UsageError(f"unexpected argument {arg!r}")
        if key not in FENCE_KEYS:
            raise UsageError(f"unknown option {arg!r}")
        if value is None:
            if key in FLAGS:
                value = "1"
            elif args:
                value = args.pop(0)
            else:
                raise UsageError(f"{arg} needs a value")
        out.append((key, value))
    return out


def parse_fence_options(stdin: str, argv: Sequence[str]) -> FenceOptions:
    """Options from argv when given (by hand), else from stdin (how Pacemaker calls agents)."""
    values: dict[str, str] = {}
    ignored = []
    for key, value in (argv_pairs(argv) if argv else stdin_pairs(stdin)):
        if key in FENCE_KEYS:
            values[key] = value
        else:
            ignored.append(key)
    action = (values.get("action") or values.get("option") or "reboot").lower()
    if action not in FENCE_ACTIONS:
        raise UsageError(f"unknown action {action!r} (one of {', '.join(FENCE_ACTIONS)})")
    plug = next((values[k] for k in HOST_KEYS if values.get(k)), None)
    if action in ("off", "reboot", "status") and plug is None:
        raise UsageError(f"action {action} needs the node: plug=, port= or nodename=")
    hosts = values.get("pcmk_host_list", "").replace(",", " ").replace(";", " ").split()
    return FenceOptions(action=action, plug=plug,
                        record_only=truth(values.get("record_only", "0")),
                        clouds=values.get("clouds") or DEFAULT_CLOUDS,
                        cloud=values.get("cloud") or DEFAULT_CLOUD, host_list=tuple(hosts),
                        verbose=truth(values.get("verbose", "0")), ignored=tuple(ignored))


def usage() -> str:
    return (f"usage: {FENCE_NAME} -o ACTION [-n NODE] [--record-only] [--clouds PATH] "
            f"[--cloud NAME] [-v]\n  actions: {', '.join(FENCE_ACTIONS)}; without arguments, "
            "key=value lines are read from stdin")


@dataclass(frozen=True)
class OcfSettings:
    clouds: str
    cloud: str
    state_file: str
    interval_ms: int  # 0 for a probe or a one-off monitor: no evacuation then


def ocf_settings(env: Mapping[str, str]) -> OcfSettings:
    """The OCF environment: OCF_RESKEY_* parameters, the instance name, HA_RSCTMP."""
    rsctmp = env.get("HA_RSCTMP") or "/run/resource-agents"
    instance = env.get("OCF_RESOURCE_INSTANCE") or OCF_NAME
    interval = env.get("OCF_RESKEY_CRM_meta_interval") or "0"
    return OcfSettings(clouds=env.get("OCF_RESKEY_clouds") or DEFAULT_CLOUDS,
                       cloud=env.get("OCF_RESKEY_cloud") or DEFAULT_CLOUD,
                       state_file=f"{rsctmp}/{instance}.active",
                       interval_ms=int(interval) if interval.isdigit() else 0)


# --- metadata (pure) ------------------------------------------------------------------------

FENCE_LONGDESC = (
    f"{FENCE_NAME} is the second device of a compute node's fencing level, after its power "
    "device: it records the node for evacuation (node attribute evacuate=yes) and marks its "
    "nova-compute service forced down (compute API 2.53, or 2.11). It fails when nova cannot "
    "be reached. With record_only=0 it also requests the evacuations. 'on' does nothing: nova "
    "keeps the service forced down until the returned node's nova-compute has restarted and "
    "an operator runs 'openstack compute service set --up NODE nova-compute'.")
OCF_LONGDESC = (
    "Evacuates the instances of fenced compute nodes. Each recurring monitor reads the nodes "
    f"{FENCE_NAME} recorded (node attribute evacuate=yes), forces their nova-compute service "
    "down, requests evacuation of every active, stopped or error instance still on them "
    "(compute API 2.29) and clears a record once nova shows nothing left to move there. Run "
    "one instance only.")
FENCE_PARAMETERS = (  # name, getopt, type, default, required, shortdesc
    ("action", "-o, --action=[action]", "string", "reboot", "1", "Fencing action"),
    ("plug", "-n, --plug=[node]", "string", None, "0",
     "Compute node to record for evacuation (its Pacemaker node name)"),
    ("record_only", "--record-only", "boolean", "0", "0",
     "Only force the nova service down and record the node; NovaEvacuate evacuates"),
    ("clouds", "--clouds=[path]", "string", DEFAULT_CLOUDS, "0",
     "clouds.yaml holding the admin credentials"),
    ("cloud", "--cloud=[name]", "string", DEFAULT_CLOUD, "0", "Cloud name in clouds.yaml"),
    ("verbose", "-v, --verbose", "boolean", None, "0", "Log debug lines"),
)
OCF_PARAMETERS = (  # name, default, shortdesc, longdesc
    ("clouds", DEFAULT_CLOUDS, "clouds.yaml path",
     "clouds.yaml holding the admin credentials (root, 0600)."),
    ("cloud", DEFAULT_CLOUD, "cloud name", "Name of the cloud entry in the clouds file."),
)
OCF_ACTIONS = (("start", "20s", None), ("stop", "20s", None), ("monitor", "600s", "3s"),
               ("validate-all", "20s", None), ("meta-data", "5s", None))


def _xml(root: ET.Element) -> str:
    ET.indent(root)
    return '<?xml version="1.0"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def fence_metadata() -> str:
    """Metadata in fence-agents' shape (/usr/share/cluster/relaxng/metadata.rng)."""
    root = ET.Element("resource-agent", name=FENCE_NAME,
                      shortdesc="Fence agent recording compute nodes for nova evacuation")
    ET.SubElement(root, "longdesc").text = FENCE_LONGDESC
    ET.SubElement(root, "vendor-url").text = "https://docs.openstack.org/nova/"
    params = ET.SubElement(root, "parameters")
    for name, getopt, kind, default, required, short in FENCE_PARAMETERS:
        param = ET.SubElement(params, "parameter", name=name, unique="0", required=required)
        if name == "plug":
            param.set("obsoletes", "port")
        ET.SubElement(param, "getopt", mixed=getopt)
        content = ET.SubElement(param, "content", type=kind)
        if default is not None:
            content.set("default", default)
        ET.SubElement(param, "shortdesc", lang="en").text = short
    actions = ET.SubElement(root, "actions")
    for action in FENCE_ACTIONS:
        # 'on' is never run on its own: no unfencing (Pacemaker reads automatic="0")
        attrs = {"name": action, **({"automatic": "0"} if action == "on" else {})}
        ET.SubElement(actions, "action", attrs)
    return _xml(root)


def ocf_metadata() -> str:
    """OCF 1.1 metadata (resource-agents' /usr/share/resource-agents/metadata.rng)."""
    root = ET.Element("resource-agent", name=OCF_NAME, version="1.0")
    ET.SubElement(root, "version").text = "1.1"
    ET.SubElement(root, "longdesc", lang="en").text = OCF_LONGDESC
    ET.SubElement(root, "shortdesc", lang="en").text = "Evacuates fenced compute nodes"
    params = ET.SubElement(root, "parameters")
    for name, default, short, long in OCF_PARAMETERS:
        param = ET.SubElement(params, "parameter", name=name, unique="0", required="0")
        ET.SubElement(param, "longdesc", lang="en").text = long
        ET.SubElement(param, "shortdesc", lang="en").text = short
        ET.SubElement(param, "content", type="string", default=default)
    actions = ET.SubElement(root, "actions")
    for name, timeout, interval in OCF_ACTIONS:
        attrs = {"name": name, "timeout": timeout,
                 **({"interval": interval, "depth": "0"} if interval else {})}
        ET.SubElement(actions, "action", attrs)
    return _xml(root)


# --- evacuation decisions (pure) ------------------------------------------------------------


def parse_records(nodes_xml: str) -> dict[str, str]:
    """Node name -> its evacuate attribute, from ``cibadmin --query --scope nodes``."""
    out = {}
    for node in ET.fromstring(nodes_xml).iter("node"):
        name = node.get("uname") or node.get("id") or ""
        for nvpair in node.findall("instance_attributes/nvpair"):
            if nvpair.get("name") == ATTRIBUTE:
                out[name] = nvpair.get("value", "")
    return out


def pending_nodes(records: Mapping[str, str], state: str = PENDING) -> tuple[str, ...]:
    return tuple(sorted(n for n, value in records.items() if value.strip().lower() == state))


def reports_again(service: Mapping[str, Any], now: datetime.datetime) -> bool:
    """Whether nova-compute has reported in recently (updated_at is naive UTC in nova)."""
    stamp = service.get("updated_at")
    if not stamp:
        return False
    try:
        seen = datetime.datetime.fromisoformat(str(stamp).replace("Z", ""))
    except ValueError:
        return False
    return abs((now - seen).total_seconds()) <= HEARTBEAT_FRESH


def find_service(services: Sequence[Mapping[str, Any]],
                 node: str) -> Mapping[str, Any] | None:
    """The node's nova-compute service: host equal to the node name, else the one service
    whose short host name matches (nova may know a compute by its FQDN, Pacemaker by its
    short name, or the reverse)."""
    computes = [s for s in services if s.get("binary") == "nova-compute"]
    exact = [s for s in computes if s.get("host") == node]
    if exact:
        return exact[0]
    short = node.split(".")[0]
    loose = [s for s in computes if str(s.get("host", "")).split(".")[0] == short]
    return loose[0] if len(loose) == 1 else None


@dataclass(frozen=True)
class NodePlan:
    """What one monitor does for one recorded node."""

    node: str
    evacuate: tuple[str, ...] = ()  # server ids to evacuate now
    waiting: tuple[tuple[str, str], ...] = ()  # (id, task_state): nova is busy with it
    refused: tuple[tuple[str, str], ...] = ()  # (id, vm_state): nova never evacuates these


def plan_node(node: str, servers: Sequence[Mapping[str, Any]]) -> NodePlan:
    """Sort the instances nova still places on a fenced node (``GET /servers/detail``)."""
    evacuate, waiting, refused = [], [], []
    for server in servers:
        sid = str(server["id"])
        vm_state = str(server.get("OS-EXT-STS:vm_state") or "").lower()
        task = server.get("OS-EXT-STS:task_state")
        if task:
            waiting.append((sid, str(task)))
        elif vm_state in EVACUABLE:
            evacuate.append(sid)
        else:
            refused.append((sid, vm_state or "unknown"))
    return NodePlan(node, tuple(evacuate), tuple(waiting), tuple(refused))


@dataclass(frozen=True)
class Outcome:
    clear: bool  # the record can go: no instance left that nova could still move
    sentence: str  # the one log line of this node's decision
    problem: bool = False  # logged as a warning
    failed: bool = False  # nova refused a request (fails a fence action that evacuates)


def judge(plan: NodePlan, failed: Sequence[tuple[str, str]], seconds: float) -> Outcome:
    """The decision for a node after its evacuation requests: cleared only once nova shows
    nothing left to move, so the monitor after the requests confirms they went."""
    context = f"node={plan.node}"
    if failed:
        context += " failed=" + ",".join(f"{sid}({why})" for sid, why in failed)
    if plan.waiting:
        context += " waiting=" + ",".join(f"{sid}({task})" for sid, task in plan.waiting)
    if plan.refused:
        context += " not-evacuable=" + ",".join(f"{sid}({vm})" for sid, vm in plan.refused)
    context += f" duration={seconds:.1f}s"
    if failed:
        return Outcome(False, f"evacuation failed, retried at next monitor {context}", True,
                       failed=True)
    if plan.evacuate:
        return Outcome(False, f"evacuation requested instances={len(plan.evacuate)} {context}")
    if plan.waiting:
        return Outcome(False, f"evacuation waiting for nova {context}")
    return Outcome(True, f"evacuation complete, node marked returning {context}",
                   bool(plan.refused))


def check_clouds(parsed: object, cloud: str) -> str | None:
    """What is wrong with a loaded clouds.yaml for ``cloud``, or None."""
    clouds = parsed.get("clouds") if isinstance(parsed, dict) else None
    entry = clouds.get(cloud) if isinstance(clouds, dict) else None
    if not isinstance(entry, dict):
        return f"no cloud {cloud!r} in it"
    auth = entry.get("auth")
    missing = [k for k in ("auth_url", "username", "password")
               if not isinstance(auth, dict) or not auth.get(k)]
    return f"cloud {cloud!r} lacks auth {', '.join(missing)}" if missing else None


# --- I/O: nova, the cluster, logs -----------------------------------------------------------


class NovaError(Exception):
    """A nova API call failed; the message names the call and status, never credentials."""


class ClusterError(Exception):
    """A Pacemaker tool failed."""


class Nova:
    """The few compute API calls instance HA makes, as raw requests with microversions."""

    def __init__(self, compute: Any) -> None:
        self._compute = compute  # openstacksdk's compute proxy (a keystoneauth Adapter)
        self._old = False

    @classmethod
    def connect(cls, clouds: str, cloud: str) -> Nova:
        """A client from clouds.yaml alone (no OS_* environment); authenticates on first use."""
        try:
            loader = importlib.import_module("openstack.config.loader")
            connection = importlib.import_module("openstack.connection")
            region = loader.OpenStackConfig(config_files=[clouds],
                                            load_envvars=False).get_one(cloud=cloud)
            return cls(connection.Connection(config=region).compute)
        except Exception as exc:
            raise NovaError(f"openstacksdk with {clouds} cloud {cloud}: {exc}") from exc

    def _call(self, method: str, url: str, version: str, body: object = None) -> Any:
        try:
            response = self._compute.request(url, method, microversion=version,
                                             raise_exc=False, json=body)
        except Exception as exc:  # keystoneauth: connection, timeout, authentication
            raise NovaError(f"{method} {url}: {exc}") from exc
        if response.status_code >= 400:
            raise NovaError(f"{method} {url}: HTTP {response.status_code} {_message(response)}")
        return response

    def services(self) -> list[dict[str, Any]]:
        try:
            response = self._call("GET", "/os-services?binary=nova-compute", SERVICES_VERSION)
        except NovaError as exc:
            if "HTTP 406" not in str(exc):  # 406: a nova older than 2.53
                raise
            self._old = True
            response = self._call("GET", "/os-services?binary=nova-compute",
                                  OLD_SERVICES_VERSION)
        return list(response.json().get("services", []))

    def force_down(self, service: Mapping[str, Any]) -> bool:
        """Mark the service forced down; False when it already was."""
        if service.get("forced_down"):
            return False
        self._set_forced_down(service, True)
        return True

    def unforce(self, service: Mapping[str, Any]) -> None:
        self._set_forced_down(service, False)

    def _set_forced_down(self, service: Mapping[str, Any], down: bool) -> None:
        if self._old:
            self._call("PUT", "/os-services/force-down", OLD_SERVICES_VERSION,
                       {"host": service["host"], "binary": "nova-compute", "forced_down": down})
        else:
            self._call("PUT", f"/os-services/{service['id']}", SERVICES_VERSION,
                       {"forced_down": down})

    def servers_on(self, host: str) -> list[dict[str, Any]]:
        servers: list[dict[str, Any]] = []
        query = {"all_tenants": "1", "host": host, "limit": str(PAGE)}
        while True:
            answer = self._call("GET", "/servers/detail?" + urllib.parse.urlencode(query),
                                EVACUATE_VERSION).json()
            page = answer.get("servers", [])
            servers += page
            if not page or not answer.get("servers_links"):
                return servers
            query["marker"] = str(page[-1]["id"])

    def evacuate(self, server_id: str) -> None:
        self._call("POST", f"/servers/{server_id}/action", EVACUATE_VERSION, {"evacuate": {}})


def _message(response: Any) -> str:
    try:
        body = response.json()
        return str(next(iter(body.values()))["message"])
    except Exception:
        return str(getattr(response, "text", ""))[:200]


class Cluster:
    """Evacuation records as permanent node attributes (see ATTRIBUTE)."""

    def _run(self, argv: list[str]) -> str:
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=TOOL_TIMEOUT,
                                  check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ClusterError(f"{argv[0]}: {exc}") from exc
        if done.returncode != 0:  # cibadmin, crm_attribute: 0 is success, anything else not
            raise ClusterError(f"{' '.join(argv)}: exit {done.returncode} "
                               f"{done.stderr.strip()[:200]}")
        return done.stdout

    def records(self) -> dict[str, str]:
        return parse_records(self._run(["cibadmin", "--query", "--scope", "nodes"]))

    def _attribute(self, node: str, *op: str) -> None:
        self._run(["crm_attribute", "--type", "nodes", "--node", node, "--name", ATTRIBUTE,
                   *op])

    def record(self, node: str) -> None:
        self._attribute(node, "--update", PENDING)

    def clear(self, node: str) -> None:
        self._attribute(node, "--delete")

    def returning(self, node: str) -> None:
        self._attribute(node, "--update", RETURNING)


def logger(name: str, *, verbose: bool = False) -> logging.Logger:
    """Syslog (the journal) under the agent's name; stderr too for warnings, or everything
    when run by hand (Pacemaker logs an operation's stderr)."""
    logging.raiseExceptions = False  # a log line lost never fails an agent's action
    log = logging.getLogger(name)
    log.setLevel(logging.DEBUG if verbose else logging.INFO)
    log.propagate = False
    stderr_level = logging.DEBUG
    if _syslog_listening():
        syslog = logging.handlers.SysLogHandler(
            address=SYSLOG, facility=logging.handlers.SysLogHandler.LOG_DAEMON)
        syslog.ident = f"{name}[{os.getpid()}]: "
        log.addHandler(syslog)
        stderr_level = logging.DEBUG if sys.stderr.isatty() else logging.WARNING
    stderr = logging.StreamHandler(sys.stderr)
    stderr.setLevel(stderr_level)
    stderr.setFormatter(logging.Formatter(f"{name}: %(levelname)s %(message)s"))
    log.addHandler(stderr)
    return log


def _syslog_listening() -> bool:
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        probe.connect(SYSLOG)
        return True
    except OSError:
        return False
    finally:
        probe.close()


def config_problem(clouds: str, cloud: str) -> tuple[int, str] | None:
    """Cheap local check, no network and no openstacksdk import (monitors run every 3 s):
    (OCF code, reason) when the clouds file is unusable here."""
    try:
        with open(clouds, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as exc:
        return OCF_ERR_INSTALLED, f"cannot read {clouds}: {exc.strerror}"
    try:
        yaml = importlib.import_module("yaml")
        parsed = yaml.safe_load(text)
    except ImportError:
        return OCF_ERR_INSTALLED, "PyYAML is not installed (python3-yaml)"
    except Exception:  # a YAML error quotes the offending text, which may be a password
        return OCF_ERR_CONFIGURED, f"{clouds} is not valid YAML"
    problem = check_clouds(parsed, cloud)
    return (OCF_ERR_CONFIGURED, f"{clouds}: {problem}") if problem else None


def sdk_problem() -> tuple[int, str] | None:
    """openstacksdk found without importing it (an import costs most of a second)."""
    if importlib.util.find_spec("openstack") is None:
        return OCF_ERR_INSTALLED, "openstacksdk is not installed (python3-openstacksdk)"
    return None


def evacuate_node(nova: Nova, services: Sequence[Mapping[str, Any]], node: str) -> Outcome:
    """Force the node's service down, then request evacuation of what nova can move."""
    started = time.monotonic()
    service = find_service(services, node)
    if service is None:
        return Outcome(True, f"evacuation complete, node marked returning node={node}: nova has no "
                       "nova-compute service for it", True)
    nova.force_down(service)
    plan = plan_node(node, nova.servers_on(str(service["host"])))
    failed = []
    for sid in plan.evacuate:
        try:
            nova.evacuate(sid)
        except NovaError as exc:
            failed.append((sid, str(exc)))
    return judge(plan, failed, time.monotonic() - started)


def _report(log: logging.Logger, outcome: Outcome) -> None:
    log.log(logging.WARNING if outcome.problem else logging.INFO, outcome.sentence)


# --- fence_hastack_evacuate -----------------------------------------------------------------


def fence_main(argv: Sequence[str], stdin: TextIO, stdout: TextIO) -> int:
    """Fence-agent exit codes: 0 success (status: on), 1 failure, 2 status off."""
    try:
        opts = parse_fence_options("" if argv else stdin.read(), argv)
    except UsageError as exc:
        sys.stderr.write(f"{FENCE_NAME}: {exc}\n")
        return 1
    if opts.action == "metadata":
        stdout.write(fence_metadata())
        return 0
    log = logger(FENCE_NAME, verbose=opts.verbose)
    if opts.ignored:
        log.debug("ignored options %s", ",".join(opts.ignored))
    if opts.action == "on":
        log.info("on node=%s: nothing to do; nova keeps the service forced down until an "
                 "operator clears it", opts.plug)
        return 0
    problem = config_problem(opts.clouds, opts.cloud) or sdk_problem()
    if problem is not None:
        log.error("%s failed: %s", opts.action, problem[1])
        return 1
    if opts.action in ("monitor", "validate-all"):
        return 0
    if opts.action == "list" and opts.host_list:
        stdout.write("".join(f"{host},\n" for host in opts.host_list))
        return 0
    try:
        return _fence_nova(opts, log, stdout)
    except (NovaError, ClusterError) as exc:
        log.error("%s failed node=%s: %s", opts.action, opts.plug or "-", exc)
        return 1


def _fence_nova(opts: FenceOptions, log: logging.Logger, stdout: TextIO) -> int:
    if opts.action in ("off", "reboot"):
        assert opts.plug is not None
        # Recorded first: the record outlives a nova outage, and this device only runs once
        # the power device of the same level has switched the node off.
        Cluster().record(opts.plug)
    nova = Nova.connect(opts.clouds, opts.cloud)
    services = nova.services()
    if opts.action == "list":
        hosts = sorted(str(s["host"]) for s in services if s.get("binary") == "nova-compute")
        stdout.write("".join(f"{host},\n" for host in hosts))
        return 0
    service = find_service(services, opts.plug or "") if opts.plug else None
    if opts.action == "status":
        if service is None:
            log.error("status: nova has no nova-compute service for node=%s", opts.plug)
            return 1
        down = bool(service.get("forced_down")) or service.get("state") == "down"
        stdout.write("Status: OFF\n" if down else "Status: ON\n")
        return 2 if down else 0
    if service is None:
        log.warning("fenced node=%s: nova has no nova-compute service for it, recorded only",
                    opts.plug)
        return 0
    changed = nova.force_down(service)
    log.info("fenced node=%s: nova-compute %s forced down, recorded for evacuation",
             opts.plug, "now" if changed else "already")
    if opts.record_only:
        return 0
    outcome = evacuate_node(nova, services, str(opts.plug))
    _report(log, outcome)
    # Only a refused request fails fencing; instances nova is still busy with stay recorded.
    return 1 if outcome.failed else 0


# --- NovaEvacuate ---------------------------------------------------------------------------


def ocf_main(argv: Sequence[str], env: Mapping[str, str], stdout: TextIO) -> int:
    action = argv[0] if argv else ""
    if action in ("meta-data", "metadata"):
        stdout.write(ocf_metadata())
        return OCF_SUCCESS
    settings = ocf_settings(env)
    log = logger(OCF_NAME)
    running = os.path.exists(settings.state_file)
    if action == "stop":
        if running:
            os.remove(settings.state_file)
            log.info("stopped")
        return OCF_SUCCESS
    if action in ("monitor", "status") and not running:
        return OCF_NOT_RUNNING
    if action not in ("start", "monitor", "status", "validate-all"):
        sys.stderr.write(f"usage: {OCF_NAME} start|stop|monitor|validate-all|meta-data\n")
        return OCF_ERR_UNIMPLEMENTED
    problem = config_problem(settings.clouds, settings.cloud) or sdk_problem()
    if problem is not None:
        sys.stderr.write(f"ocf-exit-reason:{problem[1]}\n")
        log.error("%s failed: %s", action, problem[1])
        return problem[0]
    if action == "start" and not running:
        os.makedirs(os.path.dirname(settings.state_file), exist_ok=True)
        with open(settings.state_file, "w", encoding="utf-8") as handle:
            handle.write(f"{time.time():.0f}\n")
        log.info("started clouds=%s cloud=%s", settings.clouds, settings.cloud)
    if action in ("monitor", "status") and settings.interval_ms > 0:
        evacuation_tick(settings, log)
    return OCF_SUCCESS


def evacuation_tick(settings: OcfSettings, log: logging.Logger) -> None:
    """One monitor: every recorded node, one log line each; silent when nothing is recorded.
    Failures only delay: the records stay and the next monitor retries."""
    cluster = Cluster()
    try:
        records = cluster.records()
        pending, returning = pending_nodes(records), pending_nodes(records, RETURNING)
        if not pending and not returning:
            return
        nova = Nova.connect(settings.clouds, settings.cloud)
        services = nova.services()
    except (NovaError, ClusterError) as exc:
        log.warning("evacuation postponed: %s", exc)
        return
    for node in pending:
        try:
            outcome = evacuate_node(nova, services, node)
            if outcome.clear:
                cluster.returning(node)
        except (NovaError, ClusterError) as exc:
            outcome = Outcome(False, f"evacuation failed, retried at next monitor node={node}: "
                              f"{exc}", True, failed=True)
        _report(log, outcome)
    for node in returning:
        _welcome_back(nova, cluster, services, node, log)


def _welcome_back(nova: Nova, cluster: Cluster, services: Sequence[Mapping[str, Any]],
                  node: str, log: logging.Logger) -> None:
    """A returning node's nova-compute reports again: clear forced_down, then the record."""
    service = find_service(services, node)
    now = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
    try:
        if service is None:
            cluster.clear(node)
            return
        if not reports_again(service, now):
            return  # still rebooting: looked at again next monitor
        if service.get("forced_down"):
            nova.unforce(service)
        cluster.clear(node)
        log.info("node back in service, forced_down cleared node=%s", node)
    except (NovaError, ClusterError) as exc:
        log.warning("node back but not yet un-forced, retried at next monitor node=%s: %s",
                    node, exc)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv if argv is None else argv)
    name = os.path.basename(args[0]) if args else ""
    if name == FENCE_NAME:
        return fence_main(args[1:], sys.stdin, sys.stdout)
    if name == OCF_NAME:
        return ocf_main(args[1:], os.environ, sys.stdout)
    sys.stderr.write(f"run me as {FENCE_NAME} or {OCF_NAME} (got {name!r})\n")
    return 1


if __name__ == "__main__":
    sys.exit(main())
