"""notifications.yaml is checked with the other definitions: `definitions validate` names each
problem (a signature without 【】, an unknown placeholder, a duty unit not in units.csv)."""

from __future__ import annotations

import shutil
from pathlib import Path

from click.testing import CliRunner

from api.cli import main
from workflow.config import DEFAULT_DEFINITIONS


def test_a_bad_notifications_file_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "definitions"
    shutil.copytree(DEFAULT_DEFINITIONS, folder)
    result = CliRunner().invoke(main, ["definitions", "validate", str(folder)])
    assert result.exit_code == 0, result.output
    path = folder / "notifications.yaml"
    text = path.read_text(encoding="utf-8")
    text = text.replace('signature: "【石楠街道便民服务】"', 'signature: "石楠街道"')
    text = text.replace("承诺于{due}前办结", "承诺于{deadline}前办结")
    text = text.replace("D-GA: {email:", "D-NOPE: {email:")
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(main, ["definitions", "validate", str(folder)])
    assert result.exit_code == 1
    out = result.output
    assert "notifications.yaml" in out and "signature" in out
    assert "unknown placeholder deadline" in out
    assert "duty.D-NOPE" in out and "no such unit" in out
