# mypy: ignore-errors
"""The drills' database load (drills/load.py), on the lab's client: an INSERT through the DB
VIP every 0.1 s, each printed as ``ack|err ID UNIXTIME``. argv: VIP SECONDS RUN; the
password in MYSQL_PWD."""

import os
import subprocess
import sys
import time

DB_USER = "@VERIFY_DB@"
DB_TABLE = "@DB_TABLE@"

vip, seconds, run = sys.argv[1], float(sys.argv[2]), sys.argv[3]
base = ["mysql", "-h", vip, "-u", DB_USER, "--connect-timeout=3"]
end, i = time.time() + seconds, 0
stop = os.environ.get("DRILL_STOP", "")  # the drill saw the recovery: end early
while time.time() < end and not (stop and os.path.exists(stop)):
    i += 1
    try:
        ok = subprocess.run(base, input=f"INSERT INTO {DB_TABLE} VALUES ('{run}', {i})",
                            text=True, timeout=5, capture_output=True).returncode == 0
    except subprocess.TimeoutExpired:
        ok = False
    print(("ack" if ok else "err"), i, time.time(), flush=True)
    time.sleep(0.1)
