"""Keep secret values out of every log line: values are registered when the store is read,
and the filter on each handler replaces them before the line is written."""

from __future__ import annotations

import logging
from collections.abc import Iterable

MASK = "********"
MIN_LENGTH = 6  # shorter values would mask ordinary words; hastack never generates them
_values: set[str] = set()


def register(values: Iterable[str]) -> None:
    _values.update(v for v in values if len(v) >= MIN_LENGTH)


def mask(text: str) -> str:
    for value in sorted(_values, key=len, reverse=True):
        if value in text:
            text = text.replace(value, MASK)
    return text


class SecretFilter(logging.Filter):
    """Render the message once, masked, so arguments cannot smuggle a secret past it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if _values:
            record.msg = mask(record.getMessage())
            record.args = None
        return True
