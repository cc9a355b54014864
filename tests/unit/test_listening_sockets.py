"""verify's listening-sockets check judges `ss -Htlnp` output: loopback, the node's own
address and the VIPs are fine; every address is not, but for sshd and epmd."""

from __future__ import annotations

from hastack.verify.checks import stray_listeners

SS = """\
LISTEN 0 4096 198.18.0.11:5672 0.0.0.0:* users:(("beam.smp",pid=812,fd=38))
LISTEN 0 128 0.0.0.0:22 0.0.0.0:* users:(("sshd",pid=90,fd=3))
LISTEN 0 4096 0.0.0.0:4369 0.0.0.0:* users:(("epmd",pid=700,fd=3))
LISTEN 0 4096 0.0.0.0:4567 0.0.0.0:* users:(("mariadbd",pid=1,fd=11))
LISTEN 0 80 127.0.0.1:3306 0.0.0.0:* users:(("mariadbd",pid=1,fd=20))
LISTEN 0 4096 198.18.0.200:3306 0.0.0.0:* users:(("haproxy",pid=5,fd=7))
LISTEN 0 4096 [::]:25672 [::]:* users:(("beam.smp",pid=812,fd=17))
LISTEN 0 4096 [::1]:631 [::]:* users:(("cupsd",pid=3,fd=4))
LISTEN 0 4096 10.0.0.5:8080 0.0.0.0:* users:(("python3",pid=9,fd=4))
"""


def test_only_wildcards_and_unknown_addresses_are_stray() -> None:
    assert stray_listeners(SS, {"198.18.0.11", "198.18.0.200"}) == [
        "beam.smp on :::25672", "mariadbd on 0.0.0.0:4567", "python3 on 10.0.0.5:8080"]


def test_a_node_that_binds_only_its_addresses_is_clean() -> None:
    clean = "\n".join(line for line in SS.splitlines()
                      if "4567" not in line and "25672" not in line and "10.0.0.5" not in line)
    assert stray_listeners(clean, {"198.18.0.11", "198.18.0.200"}) == []
