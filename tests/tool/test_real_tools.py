"""Every rendered file goes through the real program that will read it.

crm_verify (Pacemaker), haproxy -c, corosync -t, oslo.config's own INI parser and mariadbd with
the Galera provider (after the lab tier installed them on the host). A test
skips only when its binary is absent; `make test` installs them, so CI never skips.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from oslo_config import iniparser

from hastack import catalog, pki
from hastack.catalog import galera, rabbitmq, tls
from hastack.pacemaker.tools import verify_cib
from hastack.render.corosync import KEYFILE
from hastack.render.pacemaker_units import NOWHERE, TMPFILES
from hastack.render.site import SiteRendering, render_site
from hastack.site.load import LoadedSite

pytestmark = pytest.mark.tool
ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(p.stem for p in (ROOT / "examples").glob("*.yaml")
                  if not p.name.endswith(".secrets.yaml"))


def need(tool: str) -> str:
    path = shutil.which(tool) or next((p for p in (f"/usr/sbin/{tool}",)
                                       if Path(p).exists()), None)
    if path is None:
        pytest.skip(f"{tool} is not installed (make test installs it)")
    return path


@pytest.fixture(scope="module", params=EXAMPLES)
def site(request: pytest.FixtureRequest) -> tuple[LoadedSite, SiteRendering]:
    loaded = catalog.load(ROOT / "examples" / f"{request.param}.yaml")
    return loaded, render_site(loaded.site, loaded.placement, catalog.BASE, catalog.SERVICES)


def test_every_cib_passes_crm_verify(site: tuple[LoadedSite, SiteRendering]) -> None:
    need("crm_verify")
    for cluster in site[1].clusters:
        verdict = verify_cib(cluster.cib_online)
        assert verdict.ok, f"{cluster.name}: " + "\n".join(verdict.messages)
        assert not [m for m in verdict.messages if "error" in m.lower()], verdict.messages


def test_haproxy_accepts_every_haproxy_cfg(site: tuple[LoadedSite, SiteRendering],
                                           tmp_path: Path) -> None:
    haproxy = need("haproxy")
    configs = [c for c in site[1].clusters if c.haproxy is not None]
    assert configs, "no cluster runs the load balancer"
    ca = pki.new_ca()
    for cluster in configs:
        assert cluster.haproxy is not None
        # Each VIP's certificate where the config names it: real ones, as deploy writes them.
        for name in re.findall(rf"crt {tls.CERT_DIR}/([a-z0-9-]+)\.pem", cluster.haproxy):
            leaf = pki.issue(ca, "198.18.0.200", name)
            (tmp_path / f"{name}.pem").write_text(pki.bundle_pem(leaf), encoding="utf-8")
        path = tmp_path / f"{cluster.name}.cfg"
        path.write_text(cluster.haproxy.replace(f"crt {tls.CERT_DIR}/", f"crt {tmp_path}/"),
                        encoding="utf-8")
        proc = subprocess.run([haproxy, "-c", "-f", str(path)], capture_output=True, text=True,
                              check=False, timeout=60)
        assert proc.returncode == 0, proc.stdout + proc.stderr


def test_corosync_accepts_every_corosync_conf(site: tuple[LoadedSite, SiteRendering],
                                              tmp_path: Path) -> None:
    """corosync -t checks the file as the first member would read it.

    corosync finds its own node by address, so the check runs in a private network namespace
    (unshare, gone when the command exits) whose loopback carries the member's address:
    nothing there can reach any network.
    """
    corosync = need("corosync")
    need("unshare")
    key = tmp_path / "authkey"
    key.write_bytes(os.urandom(256))
    loaded, rendering = site
    for cluster in rendering.clusters:
        assert f"keyfile: {KEYFILE}" in cluster.corosync
        path = tmp_path / f"{cluster.name}.conf"
        # corosync -t reads the crypto key: point it at a throwaway one, not the host's.
        path.write_text(cluster.corosync.replace(KEYFILE, str(key)), encoding="utf-8")
        address = loaded.site.node(next(iter(cluster.model.node_ids))).address
        script = (f"ip link set lo up && ip addr add {address}/32 dev lo && "
                  f"exec {corosync} -c {path} -t")
        proc = subprocess.run(["unshare", "--net", "sh", "-c", script], capture_output=True,
                              text=True, check=False, timeout=60)
        assert proc.returncode == 0, proc.stdout + proc.stderr


class _Collect(iniparser.BaseParser):
    def __init__(self) -> None:
        super().__init__()
        self.sections: dict[str, dict[str, list[str]]] = {}
        self._section = ""

    def new_section(self, section: str) -> None:
        self._section = section
        self.sections.setdefault(section, {})

    def assignment(self, key: str, value: list[str]) -> None:
        self.sections.setdefault(self._section, {})[key] = value

    def parse_exc(self, msg: str, lineno: int, line: str | None = None) -> Exception:
        return AssertionError(f"line {lineno}: {msg}: {line}")


def parse_ini(text: str) -> dict[str, dict[str, str]]:
    parser = _Collect()
    parser.parse(text.splitlines(keepends=True))
    return {s: {k: "\n".join(v) for k, v in opts.items()} for s, opts in parser.sections.items()}


def test_openstack_ini_files_parse_and_carry_the_essentials(
        site: tuple[LoadedSite, SiteRendering]) -> None:
    loaded, rendering = site
    placement = loaded.placement
    db_vip = str(placement.vips["db"])
    rabbit = [str(loaded.site.node(n).address)
              for n in placement.cluster_of("rabbitmq").members]
    memcached = [str(loaded.site.node(n).address)
                 for n in placement.cluster_of("memcached").members]
    checked = 0
    for f in rendering.files:
        if not f.path.endswith((".conf", ".ini")) or not f.path.startswith(
                ("/etc/keystone", "/etc/glance", "/etc/nova", "/etc/neutron", "/etc/cinder",
                 "/etc/heat", "/etc/placement", "/etc/ceilometer")):
            continue
        sections = parse_ini(f.text.masked())
        checked += 1
        for section, options in sections.items():
            where = f"{f.node}:{f.path} [{section}]"
            if "connection" in options and options["connection"].startswith("mysql"):
                assert f"@{db_vip}/" in options["connection"], f"{where} DB not via the VIP"
            if "transport_url" in options:
                for address in rabbit:
                    assert f"@{address}:" in options["transport_url"], f"{where} misses {address}"
            for key in ("memcached_servers", "memcache_servers"):
                if key in options and section != "coordination":
                    for address in memcached:
                        assert address in options[key], f"{where} {key} misses {address}"
            for key in ("bind_host", "osapi_compute_listen", "metadata_listen",
                        "osapi_volume_listen", "bind_ip", "novncproxy_host"):
                if key in options:
                    node = loaded.site.node(f.node)
                    assert options[key] == str(node.address), f"{where} {key} not own address"
    assert checked, "no OpenStack INI file rendered"


def test_mariadb_with_galera_starts_from_every_rendered_galera_cnf(
        site: tuple[LoadedSite, SiteRendering]) -> None:
    """The rendered 60-galera.cnf (with its member list), on a real mariadbd with the Galera
    provider, bootstraps a one-member cluster on loopback and reaches Synced (Galera refuses
    options it finds out of range, e.g. a keepalive not below a third of the suspect
    timeout, only when it starts)."""
    mariadbd = need("mariadbd")
    if os.geteuid() != 0:
        pytest.skip("mariadbd runs as the mysql user: needs root")
    loaded, rendering = site
    cnf = next((f for f in rendering.files if f.path.endswith("/60-galera.cnf")), None)
    if cnf is None:
        pytest.skip("no Galera in this site")
    provider = next(line.split("=", 1)[1].strip() for line in cnf.text.masked().splitlines()
                    if line.startswith("wsrep_provider ="))
    if not Path(provider).exists():
        pytest.skip(f"{provider} is not installed (the lab installs galera-4)")
    # mysql must reach it: pytest's own temporary directories are root's alone.
    # mysqld reads every file of mariadb.conf.d: the member list is in its own.
    members = next(f for f in rendering.files
                   if f.node == cnf.node and f.path == galera.MEMBERS_FILE)
    text = cnf.text.masked() + "\n" + members.text.masked()
    with tempfile.TemporaryDirectory(prefix="hastack-galera-") as name:
        _bootstrap_one_member(mariadbd, loaded, cnf.node, text, Path(name))


def _with_test_certificates(text: str, where: Path) -> str:
    """``text`` with the internal TLS files it names (openstack.internal_tls) replaced by
    test ones under ``where``: Galera opens them when it starts."""
    if tls.INTERNAL_CA_PATH not in text:
        return text
    ca = pki.new_ca()
    node = pki.issue(ca, "127.0.0.1", "test-node", peer=True)
    files = {tls.INTERNAL_CA_PATH: ca.certificate_pem(),
             f"{galera.TLS_DIR}/node.crt": node.certificate_pem(),
             f"{galera.TLS_DIR}/node.key": node.key_pem()}
    for path, content in files.items():
        copy = where / Path(path).name
        copy.write_text(content, encoding="utf-8")
        copy.chmod(0o600)
        shutil.chown(copy, "mysql", "mysql")
        text = text.replace(path, str(copy))
    return text


def _bootstrap_one_member(mariadbd: str, loaded: LoadedSite, node: str, text: str,
                          tmp_path: Path) -> None:
    address = str(loaded.site.node(node).address)
    data = tmp_path / "data"
    data.mkdir()
    config = tmp_path / "my.cnf"
    config.write_text(_with_test_certificates(text, tmp_path).replace(address, "127.0.0.1"),
                      encoding="utf-8")
    log, pid = tmp_path / "error.log", tmp_path / "mariadbd.pid"
    local = [f"--datadir={data}", f"--socket={tmp_path}/sock", "--port=13306",
             f"--log-error={log}", f"--pid-file={pid}", "--wsrep-cluster-address=gcomm://"]
    shutil.chown(tmp_path, "mysql", "mysql")
    for path in (data, config):
        shutil.chown(path, "mysql", "mysql")
    install = subprocess.run(["mariadb-install-db", f"--defaults-file={config}", "--user=mysql",
                              f"--datadir={data}"], capture_output=True, text=True,
                             timeout=300, check=False)
    assert install.returncode == 0, install.stdout + install.stderr
    server = subprocess.Popen(["runuser", "-u", "mysql", "--", mariadbd,
                               f"--defaults-file={config}", *local, "--wsrep-new-cluster"])
    try:
        deadline = time.monotonic() + 120
        text = ""
        while time.monotonic() < deadline and server.poll() is None:
            text = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
            if "ready for connections" in text or "[ERROR]" in text:
                break
            time.sleep(0.5)
        assert "ready for connections" in text and "[ERROR]" not in text, text[-3000:]
    finally:
        server.terminate()
        server.wait(timeout=120)


def test_erlang_reads_every_rendered_inter_node_tls_config(
        site: tuple[LoadedSite, SiteRendering], tmp_path: Path) -> None:
    """RabbitMQ's distribution over TLS (openstack.internal_tls): Erlang itself reads the
    rendered ssl_dist_optfile as the server and client options it expects."""
    erl = need("erl")
    _, rendering = site
    files = [f for f in rendering.files if f.path == rabbitmq.DIST_TLS_OPTIONS]
    if not files:
        pytest.skip("no RabbitMQ over internal TLS in this site")
    check = ('try {ok, [Opts]} = file:consult(os:getenv("OPTFILE")), '
             "[server, client] = [K || {K, _} <- Opts], "
             "[true = lists:keymember(verify, 1, O) || {_, O} <- Opts] "
             'of _ -> halt(0) catch C:E -> io:format("~p:~p~n", [C, E]), halt(1) end.')
    for f in files:
        path = tmp_path / f"{f.node}.config"
        path.write_text(f.text.masked(), encoding="utf-8")
        done = subprocess.run([erl, "-noshell", "-eval", check], capture_output=True,
                              text=True, timeout=120, check=False,
                              env={**os.environ, "OPTFILE": str(path)})
        assert done.returncode == 0, f"{f.node}: {done.stdout}{done.stderr}"


def test_systemd_tmpfiles_points_every_pacemaker_runtime_dropin_dir_nowhere(
        site: tuple[LoadedSite, SiteRendering], tmp_path: Path) -> None:
    """render/pacemaker_units.py's tmpfiles.d entries, as systemd-tmpfiles applies them at
    boot and deploy: each unit Pacemaker drives gets its runtime drop-in directory replaced
    (one Pacemaker wrote for a running unit too) by a symlink to nowhere."""
    tmpfiles = need("systemd-tmpfiles")
    files = [f for f in site[1].files if f.path == TMPFILES]
    if not files:
        pytest.skip("systemd runs every service of this site")
    for file in files:
        root = tmp_path / file.node
        text = file.text.masked()  # no secret in it
        units = re.findall(r"^L\+ /run/systemd/system/(\S+)\.service\.d ", text, re.M)
        assert units, text
        written = root / "run/systemd/system" / f"{units[0]}.service.d" / "50-pacemaker.conf"
        written.parent.mkdir(parents=True)
        written.write_text("[Service]\nRestart=no\n")
        config = tmp_path / f"{file.node}.conf"
        config.write_text(text)
        done = subprocess.run([tmpfiles, "--create", f"--root={root}", str(config)],
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        for unit in units:
            link = root / "run/systemd/system" / f"{unit}.service.d"
            assert link.is_symlink() and os.readlink(link) == NOWHERE, (file.node, unit)
