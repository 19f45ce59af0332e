"""The Chinese twins of the auditors' pages: a link into the English page works on the twin (same
heading anchors), and the auditors' snippet is the one the English page's test runs."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest

AUDITORS = Path(__file__).resolve().parents[2] / "docs" / "auditors"
HEADING = re.compile(r"^#{1,6} (.+?)\s*$", re.M)
ATTR_ID = re.compile(r"\{\s*#([^\s}]+)\s*\}\s*$")
SNIPPET = re.compile(r"<!-- auditor-snippet -->\n```python\n(.*?)```", re.S)


def slug(title: str) -> str:
    """Python-Markdown's default toc slug (the site's), for a heading without an explicit id."""
    text = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^\w\s-]", "", text).strip().lower()
    return re.sub(r"[-\s]+", "-", text)


def anchors(page: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
    found = set()
    for title in HEADING.findall(text):
        m = ATTR_ID.search(title)
        found.add(m.group(1) if m else slug(title.replace("`", "")))
    return found


TWINS = sorted(p for p in AUDITORS.glob("*.zh.md"))


@pytest.mark.parametrize("twin", TWINS, ids=lambda p: p.name)
def test_a_twin_keeps_every_heading_anchor_of_its_english_page(twin: Path) -> None:
    english = twin.with_name(twin.name.replace(".zh.md", ".md"))
    missing = anchors(english) - anchors(twin)
    assert not missing, f"{twin.name} lacks the anchors {sorted(missing)} of {english.name}"


def test_the_chinese_verify_page_shows_the_tested_snippet_unchanged() -> None:
    english = SNIPPET.search((AUDITORS / "verify.md").read_text(encoding="utf-8"))
    chinese = SNIPPET.search((AUDITORS / "verify.zh.md").read_text(encoding="utf-8"))
    assert english and chinese
    assert chinese.group(1) == english.group(1)
