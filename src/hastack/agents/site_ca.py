# mypy: ignore-errors
"""The drills' client is outside every node: it gets the site CA's certificate in its
environment (OS_CACERT_PEM, public; no file of the host is touched) and trusts only it for
the VIPs. Inlined into each program that imports it."""

import atexit
import os
import tempfile


def trust_site_ca():
    """OS_CACERT names a copy of OS_CACERT_PEM, removed at exit; nothing without one."""
    if os.environ.get("OS_CACERT_PEM"):
        fd, path = tempfile.mkstemp(suffix=".pem")
        os.write(fd, os.environ["OS_CACERT_PEM"].encode())
        os.close(fd)
        atexit.register(os.unlink, path)
        os.environ["OS_CACERT"] = path
