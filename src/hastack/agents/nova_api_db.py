# mypy: ignore-errors
"""Whether nova's API database already holds what a one-time action makes (catalog/nova.py,
catalog/compute.py), read in SQL over nova's own connection (pymysql, which nova uses): about
0.1 s, where each nova-manage call spends about 3 s starting.

Sent as ``python3 -c TEXT QUESTION ARG...``, run as nova (it reads nova.conf):
  cell NAME                       a cell of that name is mapped;
  templates CELL0 CELL TRANSPORT  cell0 maps its database, cell1 its database and bus, by
                                  these templates of nova.conf's URLs;
  hosts HOST...                   each host is mapped into a cell.
Exit 0 when it holds, 1 when not (also when the database cannot answer yet).
"""

import configparser
import sys
import urllib.parse

import pymysql

CELL0 = "00000000-0000-0000-0000-000000000000"


def connect():
    conf = configparser.RawConfigParser(strict=False)
    conf.read("/etc/nova/nova.conf")
    url = urllib.parse.urlsplit(conf.get("api_database", "connection"))
    query = dict(urllib.parse.parse_qsl(url.query))
    return pymysql.connect(host=url.hostname, port=url.port or 3306,
                           user=urllib.parse.unquote(url.username or ""),
                           password=urllib.parse.unquote(url.password or ""),
                           database=url.path.lstrip("/"), charset=query.get("charset", "utf8"),
                           connect_timeout=10)


def holds(cursor, question, args):
    if question == "cell":
        return cursor.execute("SELECT 1 FROM cell_mappings WHERE name = %s", args[:1]) > 0
    if question == "templates":
        cell0, cell, transport = args
        cursor.execute("SELECT uuid, name, database_connection, transport_url "
                       "FROM cell_mappings")
        cells = {row[0] if row[0] == CELL0 else row[1]: row[2:] for row in cursor.fetchall()}
        return cells.get(CELL0, (None,))[0] == cell0 and cells.get("cell1") == (cell, transport)
    if question == "hosts":
        cursor.execute("SELECT host FROM host_mappings")
        return set(args) <= {row[0] for row in cursor.fetchall()}
    raise SystemExit(f"nova_api_db: no question {question!r}")


def main():
    try:
        with connect() as connection, connection.cursor() as cursor:
            found = holds(cursor, sys.argv[1], sys.argv[2:])
    except (pymysql.MySQLError, configparser.Error) as e:
        print(f"nova_api_db: {e}", file=sys.stderr)
        found = False
    sys.exit(0 if found else 1)


main()
