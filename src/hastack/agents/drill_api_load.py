# mypy: ignore-errors
"""The drills' load of one API through its VIP (drills/load.py), on the lab's client, as a
long-lived client sees it: one HTTP session reused (so a connection stuck on a dead VIP
holder would show as a long error window), replaced after an error. keystone: a token issued
per attempt (bcrypt makes each one cost CPU: paced at 1 s); others: a list call with a token
that is renewed when refused. Each attempt printed as ``ack|err ID UNIXTIME SECONDS``. argv:
API URL SECONDS PACE; the credentials in OS_AUTH_URL, OS_USERNAME, OS_PASSWORD and
OS_PROJECT_NAME, the site CA in OS_CACERT_PEM."""

import os
import sys
import time

import requests

from hastack.agents.site_ca import trust_site_ca

trust_site_ca()
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
stop = os.environ.get("DRILL_STOP", "")  # the drill saw the recovery: end early
while time.time() < end and not (stop and os.path.exists(stop)):
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
