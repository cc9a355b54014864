"""oslo-style INI files: sections of ``key = value`` lines, secrets kept as references."""

from __future__ import annotations

from hastack.catalog.secret_text import Part, Text, as_text
from hastack.catalog.steps import IniSections


def render_ini(sections: IniSections) -> Text:
    """INI text with secrets left as references (mask or resolve the result, never both)."""
    parts: list[Part] = []
    for index, (name, options) in enumerate(sections):
        if index:
            parts.append("\n")
        parts.append(f"[{name}]\n")
        for key, value in options:
            parts.append(f"{key} = ")
            parts.extend(as_text(value).parts)
            parts.append("\n")
    return Text(tuple(parts))
