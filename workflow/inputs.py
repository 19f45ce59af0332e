"""What outside input may hold, decided once for every interface (API, console, Open311, CLI).

Text: any Unicode except NUL, the other C0 control characters (tab, newline and carriage return
are allowed), DEL, and lone surrogates (which are not characters and cannot be stored as UTF-8).
Such text is refused, never stripped: what is stored is exactly what was sent.

Numbers and dates: what the database columns and Python's calendar hold, with room to spare."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from workflow.errors import InvalidInput

# Ids, versions, days: the database's INTEGER. Trail sequence numbers: BIGINT.
INT32 = 2**31 - 1
INT64 = 2**63 - 1
# Dates and instants given as input: a wide window that no time zone shift can overflow.
FIRST_YEAR, LAST_YEAR = 1900, 2999
# Appraisal periods (YYYY-MM).
FIRST_PERIOD_YEAR = 2000
# A transition's `data` and a case's `form` are kept for ever: at most this much JSON.
MAX_DATA_BYTES = 16 * 1024

_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def text_problem(value: str) -> str | None:
    """Why VALUE is not acceptable text, or None."""
    m = _FORBIDDEN.search(value)
    if m is None:
        return None
    ch = m.group()
    if ch == "\x00":
        return "contains a NUL character"
    if "\ud800" <= ch <= "\udfff":
        return f"contains a lone surrogate (U+{ord(ch):04X}), which is not a character"
    return f"contains a control character (U+{ord(ch):04X})"


def text_errors(value: Any, field: str = "") -> dict[str, list[str]]:
    """Every string in VALUE (nested dicts and lists, their keys too) checked: field -> messages.
    Fields are dotted paths (`applicant.name`, `data.notes.0`)."""
    out: dict[str, list[str]] = {}

    def walk(v: Any, path: str) -> None:
        if isinstance(v, str):
            why = text_problem(v)
            if why:
                out.setdefault(path or "_schema", []).append(why)
        elif isinstance(v, Mapping):
            for k, sub in v.items():
                key = str(k)
                inner = f"{path}.{key}" if path else key
                if isinstance(k, str) and (why := text_problem(k)):
                    # The key itself is bad: name the field by its position, not its text.
                    out.setdefault(path or "_schema", []).append(f"a key {why}")
                    continue
                walk(sub, inner)
        elif isinstance(v, list | tuple):
            for i, sub in enumerate(v):
                walk(sub, f"{path}.{i}" if path else str(i))

    walk(value, field)
    return out


def check_text(**fields: Any) -> None:
    """Raise InvalidInput naming each field whose text (at any depth) is not acceptable."""
    errors: dict[str, list[str]] = {}
    for name, value in fields.items():
        errors.update(text_errors(value, name))
    if errors:
        raise InvalidInput(
            describe(errors), errors, code="bad_text", params={"fields": list(errors)}
        )


def describe(errors: Mapping[str, list[str]]) -> str:
    """One line: `field: message; field: message`."""
    return "; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items())


def in_range(value: dt.date | dt.datetime) -> bool:
    """Whether a date or instant given as input lies in the years FIRST_YEAR..LAST_YEAR."""
    return FIRST_YEAR <= value.year <= LAST_YEAR


def date_range_text() -> str:
    return f"between {FIRST_YEAR}-01-01 and {LAST_YEAR}-12-31"


# A resident's phone: a mainland mobile (1[3-9] and nine digits, +86 allowed before it) or a
# landline with its area code (0 and 2-3 digits, then 7-8 digits, an extension after "-" or
# "转" allowed): 13912345678, 0532-82871234, 053282871234, 0532-82871234-801.
_MOBILE = re.compile(r"(?:\+?86[- ]?)?1[3-9]\d{9}")
_LANDLINE = re.compile(r"0\d{2,3}[- ]?[2-9]\d{6,7}(?:(?:-|转)\d{1,6})?")
PHONE_RULE = (
    "a mobile number (1[3-9] and 9 digits) or a landline with its area code (0532-8xxxxxxx)"
)


def phone_problem(phone: str) -> str | None:
    """Why PHONE (stripped, not empty) is not a Chinese mobile or landline number, or None."""
    p = phone.strip().replace("（", "(").replace("）", ")")
    # (0532)82871234 is written too: the brackets are the area code's.
    m = re.fullmatch(r"\((0\d{2,3})\)\s*(.*)", p)
    if m:
        p = f"{m.group(1)}-{m.group(2)}"
    if _MOBILE.fullmatch(p) or _LANDLINE.fullmatch(p):
        return None
    return f"not a phone number: {PHONE_RULE}"


def check_phone(phone: str | None, field: str = "applicant.phone") -> None:
    """Raise InvalidInput when PHONE is given and is not a phone number; an empty one passes."""
    if phone and phone.strip() and (why := phone_problem(phone)):
        raise InvalidInput(
            f"{field}: {why}", {field: [why]}, code="not_a_phone", params={"field": field}
        )
