"""The residents' SMS texts: definitions/notifications.yaml, checked as the other definitions."""

from __future__ import annotations

import functools
import re
import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workflow.spec.files import Problem, read_yaml_file

FILE = "notifications.yaml"
TEMPLATES = ("receipt", "materials", "extension", "result", "merged")
PLACES = frozenset({"case", "item", "due", "reason", "days", "link", "into"})
# 【…】: the signature the law requires on a government SMS, 2 to 16 characters inside.
SIGNATURE = re.compile(r"^【[^【】]{2,16}】$")
MAX_TEXT = 300


# The staff's texts, one per kind of notification, for a unit's duty phone or address.
KINDS = ("whistle", "task", "supervision", "return_review", "rectify", "yellow", "red")
STAFF_PLACES = frozenset({"case", "item", "reason", "unit", "due"})
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PHONE = re.compile(r"^\+?[0-9]{5,20}$")


@dataclass(frozen=True)
class Duty:
    """A unit's duty phone and e-mail address (either may be missing)."""

    phone: str | None = None
    email: str | None = None


@dataclass(frozen=True)
class Texts:
    signature: str
    sms: dict[str, str]
    staff: dict[str, str] = field(default_factory=dict)
    duty: dict[str, Duty] = field(default_factory=dict)

    def render(self, template: str, values: dict[str, Any]) -> str:
        text = self.sms[template].format_map({k: values.get(k, "") for k in PLACES})
        return self.signature + text

    def render_staff(self, kind: str, values: dict[str, Any]) -> str:
        text = self.staff[kind].format_map({k: values.get(k, "") for k in STAFF_PLACES})
        return self.signature + text


NONE = Texts("", {})


def check(
    data: Any, rel: str = FILE, units: frozenset[str] | None = None
) -> tuple[Texts | None, list[Problem]]:
    """The file's data checked; UNITS (the codes of units.csv) checks the duty contacts."""
    problems: list[Problem] = []
    if not isinstance(data, dict):
        return None, [Problem(rel, "", "must be a mapping with signature and sms")]
    for key in data:
        if key not in ("signature", "sms", "staff", "duty"):
            problems.append(Problem(rel, str(key), "unknown key (signature, sms, staff, duty)"))
    sig = data.get("signature")
    if not isinstance(sig, str) or not SIGNATURE.match(sig):
        problems.append(Problem(rel, "signature", "must be 【name】 (2 to 16 characters)"))
    sms = data.get("sms")
    if not isinstance(sms, dict):
        return None, [*problems, Problem(rel, "sms", f"must map {', '.join(TEMPLATES)} to texts")]
    problems += _texts(sms, "sms", TEMPLATES, PLACES, rel, required=True)
    staff = data.get("staff") or {}
    if not isinstance(staff, dict):
        problems.append(Problem(rel, "staff", f"must map {', '.join(KINDS)} to texts"))
        staff = {}
    problems += _texts(staff, "staff", KINDS, STAFF_PLACES, rel, required=False)
    duty, p = _duty(data.get("duty") or {}, rel, units)
    problems += p
    for unit, contact in duty.items():
        missing = [k for k in KINDS if k not in staff]
        if missing and (contact.phone or contact.email):
            problems.append(
                Problem(rel, f"duty.{unit}", f"staff texts needed: {', '.join(missing)}")
            )
            break
    if problems:
        return None, problems
    assert isinstance(sig, str)
    return Texts(sig, {k: sms[k] for k in TEMPLATES}, dict(staff), duty), []


def _texts(
    texts: dict[Any, Any],
    section: str,
    names: tuple[str, ...],
    places: frozenset[str],
    rel: str,
    *,
    required: bool,
) -> list[Problem]:
    problems: list[Problem] = []
    for name in names:
        text = texts.get(name)
        if text is None and not required:
            continue
        if not isinstance(text, str) or not text.strip():
            problems.append(Problem(rel, f"{section}.{name}", "missing text"))
            continue
        if len(text) > MAX_TEXT:
            problems.append(Problem(rel, f"{section}.{name}", f"longer than {MAX_TEXT} characters"))
        try:
            fields = {f for _, f, _, _ in string.Formatter().parse(text) if f is not None}
        except ValueError as exc:
            problems.append(Problem(rel, f"{section}.{name}", f"bad placeholder: {exc}"))
            continue
        unknown = fields - places
        if unknown:
            problems.append(
                Problem(
                    rel,
                    f"{section}.{name}",
                    f"unknown placeholder {', '.join(sorted(unknown))} "
                    f"(use {', '.join(sorted(places))})",
                )
            )
    for name in texts:
        if name not in names:
            problems.append(
                Problem(rel, f"{section}.{name}", f"unknown text (use {', '.join(names)})")
            )
    return problems


def _duty(
    data: Any, rel: str, units: frozenset[str] | None
) -> tuple[dict[str, Duty], list[Problem]]:
    if not isinstance(data, dict):
        return {}, [Problem(rel, "duty", "must map unit codes to {phone, email}")]
    out: dict[str, Duty] = {}
    problems: list[Problem] = []
    for unit, contact in data.items():
        place = f"duty.{unit}"
        if units is not None and unit not in units:
            problems.append(Problem(rel, place, "no such unit in units.csv"))
        if not isinstance(contact, dict) or not contact or set(contact) - {"phone", "email"}:
            problems.append(Problem(rel, place, "must be {phone: ..., email: ...}"))
            continue
        phone, email = contact.get("phone"), contact.get("email")
        if phone is not None and not PHONE.match(str(phone)):
            problems.append(Problem(rel, f"{place}.phone", "not a phone number"))
        if email is not None and not EMAIL.match(str(email)):
            problems.append(Problem(rel, f"{place}.email", "not an e-mail address"))
        out[str(unit)] = Duty(
            str(phone) if phone is not None else None, str(email) if email is not None else None
        )
    return out, problems


def read(root: Path, units: frozenset[str] | None = None) -> tuple[Texts | None, list[Problem]]:
    """The texts of the definitions folder ROOT (a folder without the file: no problem, None);
    UNITS: the unit codes the duty contacts must name (the loader's check)."""
    path = Path(root) / FILE
    try:
        stamp = path.stat().st_mtime_ns
    except OSError:
        return None, []
    return _read(path, stamp, units)


@functools.lru_cache(maxsize=8)
def _read(
    path: Path, stamp: int, units: frozenset[str] | None
) -> tuple[Texts | None, list[Problem]]:
    """Read once per version of the file (STAMP: its mtime): the worker renders every SMS."""
    data, _, problems = read_yaml_file(path, FILE)
    if problems:
        return None, problems
    return check(data, FILE, units)
