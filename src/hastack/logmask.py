"""Keep secret values out of every log line: values are registered when the store is read,
and the filter on each handler replaces them before the line is written."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

MASK = "********"
# A value this long is masked wherever it appears; a shorter one (a vendor's BMC password)
# only as a whole word, so that masking it does not cut ordinary words apart.
ANYWHERE_LENGTH = 8
_values: set[str] = set()


def register(values: Iterable[str]) -> None:
    _values.update(v for v in values if v)


def mask(text: str) -> str:
    for value in sorted(_values, key=len, reverse=True):
        if value not in text:
            continue
        if len(value) >= ANYWHERE_LENGTH:
            text = text.replace(value, MASK)
        else:
            text = re.sub(rf"(?<![A-Za-z0-9]){re.escape(value)}(?![A-Za-z0-9])", MASK, text)
    return text


class SecretFilter(logging.Filter):
    """Render the message once, masked, so arguments cannot smuggle a secret past it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if _values:
            record.msg = mask(record.getMessage())
            record.args = None
        return True
