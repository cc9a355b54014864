# mypy: ignore-errors
"""compute-loss's instances (drills/run.py, drills/cold.py), on the lab's client: booted on
the compute that will fail (nova's fake driver in the lab: no network, no disk), then watched
until nova runs every one of them elsewhere. argv: MODE TARGET ARG...: create (once nova
reports TARGET's compute up; prints one server id per line), services (every nova service
reporting "up" since TARGET, a unix time), watch ("TIME MOVED TOTAL" per poll, until all
moved), hypervisors (scale-computes: one JSON line, each hypervisor's short host name and
state), delete (removes them). Raw calls with microversions (2.74: boot on a named host).
The credentials in OS_* (openstack.connect), the site CA in OS_CACERT_PEM."""

import sys
import time

import openstack

from hastack.agents.site_ca import trust_site_ca

trust_site_ca()
mode, target, rest = sys.argv[1], sys.argv[2], sys.argv[3:]
conn = openstack.connect()
def call(method, url, version, **kw):
    # conn.compute authenticates on first use: inside the calls, where a keystone that is
    # not back yet is caught and retried.
    r = conn.compute.request(url, method, microversion=version, raise_exc=False, **kw)
    if r.status_code >= 400:
        raise SystemExit(f"{method} {url}: HTTP {r.status_code} {r.text[:300]}")
    return r
def compute_up(host):
    # What nova's scheduler asks (ComputeFilter): the compute reported within
    # service_down_time and is enabled. Right after a failure of the message bus it may not
    # have reported yet, and a boot on it would end in ERROR (no valid host).
    found = call("GET", f"/os-services?binary=nova-compute&host={host}", "2.53").json()
    return any(s["state"] == "up" and s["status"] == "enabled" for s in found["services"])
if mode == "create":
    end = time.time() + 240
    while not compute_up(target):
        if time.time() > end:
            raise SystemExit(f"nova-compute on {target} not reported up within 240 s")
        time.sleep(2)
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
            failed = call("GET", f"/servers/{ids[states.index('ERROR')]}", "2.74").json()
            fault = failed["server"].get("fault", {}).get("message", "no fault recorded")
            raise SystemExit(f"an instance went to ERROR on {target}: {fault}")
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
elif mode == "hypervisors":
    import json
    found = call("GET", "/os-hypervisors/detail", "2.53").json()["hypervisors"]
    print(json.dumps({h["hypervisor_hostname"].split(".")[0]: h["state"] for h in found}))
else:
    for i in rest:
        conn.compute.request(f"/servers/{i}", "DELETE", raise_exc=False)
