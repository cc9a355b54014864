"""Results as JSON: the shape ``--format json`` prints is the result value itself."""

from __future__ import annotations

import dataclasses
import json
from enum import Enum
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from pathlib import Path
from typing import Any

_AS_STRING = (Path, IPv4Address, IPv6Address, IPv4Network, IPv6Network)


def plain(value: Any) -> Any:
    """``value`` as JSON-ready data: dataclasses as objects (with their ``ok`` when they have
    one), paths and addresses as strings, enums as their values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        data = {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)
                if not f.name.startswith("_")}
        ok = getattr(type(value), "ok", None)
        if isinstance(ok, property) and ok.fget is not None:
            data["ok"] = ok.fget(value)
        return data
    if isinstance(value, dict):
        return {str(plain(k)): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(v) for v in value]
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, _AS_STRING):
        return str(value)
    return value


def as_json(value: Any, *, indent: int | None = 2) -> str:
    """``indent=None``: the whole document on one line (a line per reading of a watch)."""
    return json.dumps(plain(value), indent=indent)
