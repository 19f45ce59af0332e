"""The residents' SMS texts: definitions/notifications.yaml, checked as the other definitions."""

from __future__ import annotations

import functools
import re
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workflow.spec.files import Problem, read_yaml_file

FILE = "notifications.yaml"
TEMPLATES = ("receipt", "materials", "extension", "result")
PLACES = frozenset({"case", "item", "due", "reason", "days", "link"})
# 【…】: the signature the law requires on a government SMS, 2 to 16 characters inside.
SIGNATURE = re.compile(r"^【[^【】]{2,16}】$")
MAX_TEXT = 300


@dataclass(frozen=True)
class Texts:
    signature: str
    sms: dict[str, str]

    def render(self, template: str, values: dict[str, Any]) -> str:
        text = self.sms[template].format_map({k: values.get(k, "") for k in PLACES})
        return self.signature + text


def check(data: Any, rel: str = FILE) -> tuple[Texts | None, list[Problem]]:
    problems: list[Problem] = []
    if not isinstance(data, dict):
        return None, [Problem(rel, "", "must be a mapping with signature and sms")]
    for key in data:
        if key not in ("signature", "sms"):
            problems.append(Problem(rel, str(key), "unknown key (signature, sms)"))
    sig = data.get("signature")
    if not isinstance(sig, str) or not SIGNATURE.match(sig):
        problems.append(Problem(rel, "signature", "must be 【name】 (2 to 16 characters)"))
    sms = data.get("sms")
    if not isinstance(sms, dict):
        return None, [*problems, Problem(rel, "sms", f"must map {', '.join(TEMPLATES)} to texts")]
    for name in TEMPLATES:
        text = sms.get(name)
        if not isinstance(text, str) or not text.strip():
            problems.append(Problem(rel, f"sms.{name}", "missing text"))
            continue
        if len(text) > MAX_TEXT:
            problems.append(Problem(rel, f"sms.{name}", f"longer than {MAX_TEXT} characters"))
        try:
            fields = {f for _, f, _, _ in string.Formatter().parse(text) if f is not None}
        except ValueError as exc:
            problems.append(Problem(rel, f"sms.{name}", f"bad placeholder: {exc}"))
            continue
        unknown = fields - PLACES
        if unknown:
            problems.append(
                Problem(
                    rel,
                    f"sms.{name}",
                    f"unknown placeholder {', '.join(sorted(unknown))} "
                    f"(use {', '.join(sorted(PLACES))})",
                )
            )
    for name in sms:
        if name not in TEMPLATES:
            problems.append(
                Problem(rel, f"sms.{name}", f"unknown text (use {', '.join(TEMPLATES)})")
            )
    if problems:
        return None, problems
    assert isinstance(sig, str)
    return Texts(sig, {k: sms[k] for k in TEMPLATES}), []


def read(root: Path) -> tuple[Texts | None, list[Problem]]:
    """The texts of the definitions folder ROOT (a folder without the file: no problem, None)."""
    path = Path(root) / FILE
    try:
        stamp = path.stat().st_mtime_ns
    except OSError:
        return None, []
    return _read(path, stamp)


@functools.lru_cache(maxsize=8)
def _read(path: Path, stamp: int) -> tuple[Texts | None, list[Problem]]:
    """Read once per version of the file (STAMP: its mtime): the worker renders every SMS."""
    data, _, problems = read_yaml_file(path, FILE)
    if problems:
        return None, problems
    return check(data)
