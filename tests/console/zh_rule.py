"""The rule "Chinese to the last word", as the walk and the journeys check it.

A page breaks the rule when a run of its text without a Chinese character holds two or more
English words (words of letters only, two letters or more) that are not codes or names. Codes and
names are: what is inside <code>, <pre>, <script>, <style> and <svg>; tokens with a digit, a
hyphen, an underscore, a dot, a slash or an @ (case numbers, unit codes, routes, versions,
addresses); and the ALLOWED words below (user names, product names, abbreviations).

A page also breaks it when it shows one of the engine's English wordings (workflow/messages.py)
or one of marshmallow's: an untranslated refusal."""

from __future__ import annotations

import re
from html import unescape
from html.parser import HTMLParser

from workflow.messages import MESSAGES

CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")
WORD = re.compile(r"^[A-Za-z]{2,}$")
# Names and abbreviations a Chinese page may show as they are.
ALLOWED = {
    "open311",
    "api",
    "svg",
    "csv",
    "xlsx",
    "yaml",
    "json",
    "jsonl",
    "pdf",
    "english",  # the language switch, written in the language it switches to
    "streetflow",
    "ok",
    "app",
    "id",
    "sla",
    "wd",  # the working-day unit's abbreviation beside a number
}
SKIPPED = {"code", "pre", "script", "style", "svg", "kbd", "samp"}
ATTRIBUTES = ("title", "alt", "placeholder", "aria-label")


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.depth = 0
        self.runs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in SKIPPED:
            self.depth += 1
        for name, value in attrs:
            if name in ATTRIBUTES and value:
                self.runs.append(value)

    def handle_endtag(self, tag: str) -> None:
        if tag in SKIPPED and self.depth:
            self.depth -= 1

    def handle_data(self, data: str) -> None:
        if not self.depth and data.strip():
            self.runs.append(data)


def texts(html: str) -> list[str]:
    parser = _Text()
    parser.feed(html)
    return parser.runs


def english_runs(html: str, names: set[str] = frozenset()) -> list[str]:  # type: ignore[assignment]
    """The runs of text (between Chinese characters) holding two English words or more."""
    allowed = ALLOWED | {n.lower() for n in names}
    out = []
    for text in texts(html):
        for run in CJK.split(text):
            words = [
                w
                for w in re.split(r"[\s,;:()（）\[\]'\"“”·|/+~−→—=<>!?]+", run)
                if WORD.match(w.strip(".")) and w.strip(".").lower() not in allowed
            ]
            if len(words) >= 2:
                out.append(run.strip())
    return out


def _pattern(wording: str) -> re.Pattern[str]:
    parts = re.split(r"%\(\w+\)s", wording)
    return re.compile(".{1,80}?".join(re.escape(p) for p in parts))


ENGINE = [_pattern(w) for w in MESSAGES.values()]
MARSHMALLOW = [
    re.compile(re.escape(s))
    for s in (
        "Not a valid integer.",
        "Not a valid number.",
        "Not a valid string.",
        "Missing data for required field.",
        "Unknown field.",
        "Field may not be null.",
        "Must be greater than or equal to",
        "Must be less than or equal to",
        "Longer than maximum length",
    )
]


def untranslated(html: str) -> list[str]:
    """The engine's or marshmallow's English wordings shown on a Chinese page."""
    shown = "\n".join(texts(html))
    found = []
    for p in ENGINE + MARSHMALLOW:
        m = p.search(shown)
        if m:
            found.append(m.group())
    return found


def is_chinese_page(html: str) -> bool:
    return '<html lang="zh-CN">' in html[:200]


def text_of(html: str) -> str:
    return unescape(" ".join(texts(html)))
