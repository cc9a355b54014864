"""The steady load a drill runs through its fault, and what its record says afterwards.

Every load prints one line per attempt, ``ack|err ID UNIXTIME``, so the error window and the
acknowledged set come from the same record: DB rows INSERTed through the DB VIP, messages
published with confirms to a quorum queue (the client fails over between members as
oslo.messaging does), and OpenStack API calls through their VIPs."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from hastack.catalog.galera import VERIFY_DB
from hastack.catalog.tls import AMQP_CLIENT

DB_TABLE = f"{VERIFY_DB}.drill"
BUS_QUEUE = "hastack-drill"

DB_LOAD = f"""
import subprocess, sys, time
vip, seconds, run = sys.argv[1], float(sys.argv[2]), sys.argv[3]
base = ["mysql", "-h", vip, "-u", "{VERIFY_DB}", "--connect-timeout=3"]
end, i = time.time() + seconds, 0
while time.time() < end:
    i += 1
    try:
        ok = subprocess.run(base, input=f"INSERT INTO {DB_TABLE} VALUES ('{{run}}', {{i}})",
                            text=True, timeout=5, capture_output=True).returncode == 0
    except subprocess.TimeoutExpired:
        ok = False
    print(("ack" if ok else "err"), i, time.time(), flush=True)
    time.sleep(0.1)
"""

DB_SETUP = (f"CREATE TABLE IF NOT EXISTS {DB_TABLE} (run VARCHAR(32), id INT, "
            "PRIMARY KEY (run, id))")

BUS_LOAD = AMQP_CLIENT + f"""
import os, socket, sys, time, amqp
seconds, run, hosts = float(sys.argv[1]), sys.argv[2], sys.argv[3:]
user, password = os.environ["AMQP_USER"], os.environ["AMQP_PASSWORD"]
end, i, turn, channel, conn = time.time() + seconds, 0, 0, None, None
while time.time() < end:
    i += 1
    ok = False
    try:
        if channel is None:
            # confirm_publish: py-amqp's basic_publish waits for the broker's confirm only
            # when the connection asks for it; confirm_select alone does not make it wait.
            conn = amqp.Connection(hosts[turn % len(hosts)], userid=user, password=password,
                                   connect_timeout=3, read_timeout=5, write_timeout=5,
                                   confirm_publish=True, ssl=amqp_tls(hosts[turn % len(hosts)]))
            conn.connect()
            channel = conn.channel()
            channel.queue_declare("{BUS_QUEUE}", durable=True, auto_delete=False,
                                  arguments={{"x-queue-type": "quorum"}})
        channel.basic_publish(amqp.Message(f"{{run}}:{{i}}", delivery_mode=2),
                              routing_key="{BUS_QUEUE}", confirm_timeout=5)
        ok = True
    except (OSError, amqp.exceptions.AMQPError, amqp.exceptions.MessageNacked, socket.timeout):
        turn += 1
        channel = None
        try:
            conn and conn.collect()
        except Exception:
            pass
    print(("ack" if ok else "err"), i, time.time(), flush=True)
    time.sleep(0.1)
"""

BUS_DRAIN = AMQP_CLIENT + f"""
import os, sys, amqp
run, hosts = sys.argv[1], sys.argv[2:]
user, password = os.environ["AMQP_USER"], os.environ["AMQP_PASSWORD"]
for host in hosts:
    try:
        with amqp.Connection(host, userid=user, password=password, connect_timeout=5,
                             ssl=amqp_tls(host)) as c:
            ch = c.channel()
            while True:
                msg = ch.basic_get("{BUS_QUEUE}", no_ack=True)
                if msg is None:
                    break
                body = msg.body.decode() if isinstance(msg.body, bytes) else msg.body
                name, _, number = body.partition(":")
                if name == run:
                    print(number)
        break
    except OSError:
        continue
"""


# The drills' client is outside every node: it gets the site CA's certificate in its
# environment (public; no file of the host is touched) and trusts only it for the VIPs.
CA_PRELUDE = """
import atexit, os, tempfile
if os.environ.get("OS_CACERT_PEM"):
    _fd, _path = tempfile.mkstemp(suffix=".pem")
    os.write(_fd, os.environ["OS_CACERT_PEM"].encode())
    os.close(_fd)
    atexit.register(os.unlink, _path)
    os.environ["OS_CACERT"] = _path
"""


# One API through its VIP, as a long-lived client sees it: one HTTP session reused (so a
# connection stuck on a dead VIP holder would show as a long error window), replaced after
# an error. keystone: a token issued per attempt (bcrypt makes each one cost CPU: paced at
# 1 s); others: a list call with a token that is renewed when refused.
API_LOAD = CA_PRELUDE + """
import os, sys, time, requests
api, url, seconds, pace = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
auth_url = os.environ["OS_AUTH_URL"] + "/auth/tokens"
domain = {"id": "default"}
body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
    "name": os.environ["OS_USERNAME"], "domain": domain, "password": os.environ["OS_PASSWORD"]}}},
    "scope": {"project": {"name": os.environ["OS_PROJECT_NAME"], "domain": domain}}}}
def new_session():
    s = requests.Session()
    s.verify = os.environ.get("OS_CACERT", True)  # the site CA, when the VIPs serve TLS
    return s
session, token = new_session(), None
end, i = time.time() + seconds, 0
while time.time() < end:
    i += 1
    ok, started = False, time.time()
    try:
        if api == "keystone" or token is None:
            r = session.post(auth_url, json=body, timeout=(3, 10))
            ok = r.status_code == 201
            token = r.headers.get("X-Subject-Token") if ok else None
        if api != "keystone" and token is not None:
            r = session.get(url, headers={"X-Auth-Token": token}, timeout=(3, 10))
            ok = r.status_code == 200
            if r.status_code == 401:
                token = None
    except requests.RequestException:
        session = new_session()
    now = time.time()
    print(("ack" if ok else "err"), i, now, now - started, flush=True)
    time.sleep(pace)
"""


# compute-loss: instances booted on the compute that will fail (nova's fake driver in the
# lab: no network, no disk), then watched until nova runs every one of them elsewhere.
# create: prints one server id per line; watch: "TIME MOVED TOTAL" per poll, until all moved;
# delete: removes them. Raw calls with microversions (2.74: boot on a named host).
SERVERS = CA_PRELUDE + """
import os, sys, time, openstack
mode, target, rest = sys.argv[1], sys.argv[2], sys.argv[3:]
conn = openstack.connect()
def call(method, url, version, **kw):
    # conn.compute authenticates on first use: inside the calls, where a keystone that is
    # not back yet is caught and retried.
    r = conn.compute.request(url, method, microversion=version, raise_exc=False, **kw)
    if r.status_code >= 400:
        raise SystemExit(f"{method} {url}: HTTP {r.status_code} {r.text[:300]}")
    return r
if mode == "create":
    flavor = conn.compute.find_flavor("hastack-drill") or conn.compute.create_flavor(
        name="hastack-drill", ram=64, vcpus=1, disk=0)
    image = conn.image.find_image("hastack-drill")
    if image is None:
        image = conn.image.create_image("hastack-drill", data=b"hastack" * 128,
                                        disk_format="raw", container_format="bare", wait=True)
    ids = []
    for i in range(int(rest[0])):
        body = {"server": {"name": f"hastack-drill-{target}-{i}", "flavorRef": flavor.id,
                           "imageRef": image.id, "networks": "none", "host": target}}
        ids.append(call("POST", "/servers", "2.74", json=body).json()["server"]["id"])
    end = time.time() + 300
    while time.time() < end:
        states = [call("GET", f"/servers/{i}", "2.74").json()["server"]["status"] for i in ids]
        if all(s == "ACTIVE" for s in states):
            break
        if "ERROR" in states:
            raise SystemExit(f"an instance went to ERROR on {target}")
        time.sleep(1)
    else:
        raise SystemExit(f"instances not ACTIVE on {target} within 300 s")
    print(*ids, sep=chr(10))
elif mode == "services":
    # Every nova service reporting "up" after `target` (unix time): a fresh report, not the
    # record of a host that died less than service_down_time ago.
    import calendar
    since, end = float(target), time.time() + float(rest[0])
    while time.time() < end:
        try:
            found = call("GET", "/os-services", "2.53").json()["services"]
        except (SystemExit, Exception):
            found = []
        def fresh(s):
            stamp = (s.get("updated_at") or "")[:19]
            return s["state"] == "up" and bool(stamp) and calendar.timegm(
                time.strptime(stamp, "%Y-%m-%dT%H:%M:%S")) >= since
        if found:
            print(time.time(), sum(1 for s in found if fresh(s)), len(found), flush=True)
            if all(fresh(s) for s in found):
                break
        time.sleep(2)
elif mode == "watch":
    seconds, ids = float(rest[0]), rest[1:]
    end = time.time() + seconds
    while time.time() < end:
        moved = 0
        for i in ids:
            try:
                server = call("GET", f"/servers/{i}", "2.74").json()["server"]
            except (SystemExit, Exception):
                continue
            if server["status"] == "ACTIVE" and server["OS-EXT-SRV-ATTR:host"] != target:
                moved += 1
        print(time.time(), moved, len(ids), flush=True)
        if moved == len(ids):
            break
        time.sleep(1)
else:
    for i in rest:
        conn.compute.request(f"/servers/{i}", "DELETE", raise_exc=False)
"""


@dataclass(frozen=True)
class ApiTarget:
    """An API the drill loads: where to call, and how often."""

    name: str
    url: str
    pace: float


@dataclass(frozen=True)
class Attempt:
    ok: bool
    id: int
    at: float  # when it ended
    seconds: float = 0.0  # how long it took (the API loads say; the others do not)


def attempts(lines: Iterable[str]) -> list[Attempt]:
    out = []
    for line in lines:
        parts = line.split()
        if len(parts) in (3, 4) and parts[0] in ("ack", "err"):
            took = float(parts[3]) if len(parts) == 4 else 0.0
            out.append(Attempt(parts[0] == "ack", int(parts[1]), float(parts[2]), took))
    return out


@dataclass(frozen=True)
class LoadRecord:
    """One load's record read against the fault's start time ``t0``."""

    attempts: tuple[Attempt, ...]
    t0: float

    @property
    def acked(self) -> set[int]:
        return {a.id for a in self.attempts if a.ok}

    @property
    def error_window(self) -> float:
        """The longest stretch of failed attempts after t0 (until the next success, or the
        end of the record when nothing succeeded again)."""
        window, start = 0.0, None
        for a in self.attempts:
            if a.ok:
                if start is not None:
                    window = max(window, a.at - start)
                    start = None
            elif a.at >= self.t0 and start is None:
                start = a.at
        if start is not None and self.attempts:
            window = max(window, self.attempts[-1].at - start)
        return window

    @property
    def slowest(self) -> float:
        """The longest an attempt took after t0, answered or not."""
        return max((a.seconds for a in self.attempts if a.at >= self.t0), default=0.0)

    def back_after(self, since: float) -> float | None:
        """Seconds from t0 to the first success at or after ``since``."""
        first = next((a.at for a in self.attempts if a.ok and a.at >= since), None)
        return first - self.t0 if first is not None else None
