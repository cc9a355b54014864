"""Programs hastack sends to nodes: real files, shell (``.sh``) or Python (``.py``), shipped as
package data and linted like the rest (ruff; ``bash -n`` in tests/unit/test_agent_files.py).

hastack never imports them at run time (a node has no hastack): ``agent_text`` reads one as a
node gets it, and the caller sends it one of these ways:

* installed as a file: ``evacuate.py`` is instance HA's pair, installed under two names,
  fence_hastack_evacuate (stonith) and NovaEvacuate (OCF) (catalog/compute.py);
  ``galera_check.py`` answers HAProxy's health checks of a Galera member (catalog/galera.py);
  ``haproxy_node_lost.sh`` is a Pacemaker alert agent (catalog/loadbalancer.py);
  ``cinder_lab_volume.py`` is the lab's cinder volume driver, a module (catalog/cinder.py);
  ``neutron_api_wsgi.py`` is neutron-api's WSGI file (catalog/neutron_server.py);
* a shell program as argv, ``sh -c TEXT NAME ARG...`` (its ``$0`` is NAME);
* a Python program on stdin, ``python3 - ARG...``, or as argv, ``python3 -c TEXT ARG...``
  when its stdin carries data of its own (rabbitmq_accounts.py reads the accounts' passwords
  there).

What a node gets differs from the file here in two ways only:

* ``@NAME@`` is a value of hastack's (a word in shell, inside a string in Python, so the file
  is valid as it is): ``agent_text(file, NAME=value)`` fills it in, and refuses one left
  unfilled, a value never used, or a value that is not a plain word (these are constants,
  never site data: anything else goes in argv, the environment or stdin);
* a Python line ``from hastack.agents.OTHER import ...`` is replaced by the text of OTHER.py
  (code shared by programs, which must each be whole on the node).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache
from importlib import resources

EVACUATE = "evacuate.py"
GALERA_CHECK = "galera_check.py"  # HAProxy's Galera health check (catalog/galera.py)
LAB_VOLUME_DRIVER = "cinder_lab_volume.py"  # the lab's cinder backend (catalog/cinder.py)
NEUTRON_API_WSGI = "neutron_api_wsgi.py"  # neutron-api's WSGI file (catalog/neutron_server.py)

_VALUE = re.compile(r"@([A-Z][A-Z0-9_]*)@")
_PLAIN = re.compile(r"[\w.:/-]+")
_SHARED = re.compile(r"^from hastack\.agents\.(\w+) import .*$", re.MULTILINE)
# The text of every program read, for shown_argv: a command shows a program by its file.
_names: dict[str, str] = {}


@cache
def _source(name: str) -> str:
    return resources.files(__name__).joinpath(name).read_text(encoding="utf-8")


def agent_text(name: str, **values: str | int) -> str:
    """The text of the program in file ``name``, as it goes to a node (see the module).

    Raises:
        ValueError: a value is missing, unused or not a plain word (a mistake of hastack's).
    """
    text = _source(name)
    if name.endswith(".py"):
        text = _SHARED.sub(lambda m: _source(f"{m[1]}.py").rstrip("\n"), text)
    wanted = set(_VALUE.findall(text))
    given = {key: str(value) for key, value in values.items()}
    bad = sorted(k for k, v in given.items() if not _PLAIN.fullmatch(v))
    if wanted != set(given) or bad:
        raise ValueError(f"agents/{name}: needs {sorted(wanted)}, given {sorted(given)}"
                         + (f"; not plain words: {bad}" if bad else ""))
    text = _VALUE.sub(lambda m: given[m[1]], text)
    _names.setdefault(text, f"<agents/{name}>")
    return text


def shown_argv(argv: Iterable[str]) -> str:
    """``argv`` as logs and errors show it: a program's text as its file's name, so a command
    that carries one stays one line."""
    return " ".join(_names.get(arg, arg) for arg in argv)
