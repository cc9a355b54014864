# mypy: ignore-errors
"""RabbitMQ's accounts as the site wants them (catalog/rabbitmq.py), read from one export of
the broker's definitions: a start of the Erlang CLI costs about 1.5 s of CPU, and a query
per account and question took one each.

Sent as ``python3 -c TEXT MODE GRANTS ABSENT``: MODE is "check" or "apply"; GRANTS a JSON list
of each account's permissions on / (configure, write, read), in the order of the accounts'
"name\\npassword\\n" lines on stdin (never in argv); ABSENT a JSON list of users that must not
exist. check: exit 0 when each account logs in with its password (compared with its stored
salted hash), holds exactly its permissions, and no user of ABSENT is left; else 1. apply:
changes what differs.
"""

import base64
import hashlib
import json
import subprocess
import sys

HASHES = {"rabbit_password_hashing_sha256": hashlib.sha256,
          "rabbit_password_hashing_sha512": hashlib.sha512,
          "rabbit_password_hashing_md5": hashlib.md5}


def ctl(*args, password=None):
    return subprocess.run(["rabbitmqctl", *args], check=True, capture_output=True, text=True,
                          input=None if password is None else password + "\n").stdout


def logs_in(user, password):
    """RabbitMQ stores base64(salt + hash(salt + password)), salt 4 bytes."""
    algorithm = HASHES.get(user.get("hashing_algorithm"))
    stored = base64.b64decode(user.get("password_hash") or "")
    return algorithm is not None and len(stored) > 4 and \
        algorithm(stored[:4] + password.encode()).digest() == stored[4:]


def main():
    mode, grants, absent = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
    lines = sys.stdin.read().split("\n")
    accounts = list(zip(lines[0::2], lines[1::2], strict=False))[:len(grants)]
    definitions = json.loads(ctl("-q", "export_definitions", "-", "--format", "json"))
    users = {u["name"]: u for u in definitions["users"]}
    held = {p["user"]: (p["configure"], p["write"], p["read"])
            for p in definitions["permissions"] if p["vhost"] == "/"}
    wrong_password = [(n, p) for n, p in accounts if n not in users
                      or not logs_in(users[n], p)]
    wrong_grant = [(n, tuple(g)) for (n, _), g in zip(accounts, grants, strict=True)
                   if held.get(n) != tuple(g)]
    left = [n for n in absent if n in users]
    if mode == "check":
        sys.exit(1 if wrong_password or wrong_grant or left else 0)
    for name, password in wrong_password:
        ctl("change_password" if name in users else "add_user", name, password=password)
    for name, grant in wrong_grant:
        ctl("set_permissions", "-p", "/", name, *grant)
    for name in left:
        ctl("delete_user", name)


main()
