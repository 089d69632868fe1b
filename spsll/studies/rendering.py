"""Reports from templates: ``spsll/studies/templates/<name>`` filled with ``str.format`` fields.

A template file holds named sections; a section starts at a line ``%% <name>`` and runs to the next
one (its trailing blank lines dropped, leading spaces kept). Text before the first section is a
comment for the reader of the template. Fields are ``str.format`` fields filled from the study's
JSON of numbers: ``{seconds:.0f}``, ``{c[realisations]}``; literal braces are doubled. The
conversion ``!m`` prints a missing number (None or NaN) as "–": ``{err!m:.2f}``.

A table section is three lines: the header, the alignment row, and the row template, which
:func:`markdown_table` fills once per record.
"""

from __future__ import annotations

import math
import string
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parent / "templates"


class _Missing:
    def __format__(self, spec: str) -> str:
        return "–"


class _Formatter(string.Formatter):
    def convert_field(self, value, conversion):
        if conversion == "m":
            missing = value is None or (isinstance(value, float) and math.isnan(value))
            return _Missing() if missing else value
        return super().convert_field(value, conversion)


_FORMATTER = _Formatter()


@cache
def template_sections(name: str) -> dict[str, str]:
    """The sections of ``templates/<name>`` by name."""
    sections: dict[str, list[str]] = {}
    current = None
    for line in (TEMPLATES / name).read_text().splitlines():
        if line.startswith("%% "):
            current = line[3:].strip()
            sections[current] = []
        elif current is not None:
            sections[current].append(line)
    return {key: "\n".join(lines).rstrip("\n") for key, lines in sections.items()}


def fill(template: str, fields: Mapping) -> str:
    """``template`` with its fields taken from ``fields``."""
    return _FORMATTER.vformat(template, (), fields)


def markdown_table(section: str, records: Iterable[Mapping]) -> str:
    """A table section (header, alignment row, row template) with one row per record."""
    header, align, row = section.split("\n")
    return "\n".join([header, align] + [fill(row, r) for r in records])
