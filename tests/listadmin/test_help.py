"""The list-admin commands explain themselves like every other command."""

from __future__ import annotations

from tests.listadmin.helpers import run


def test_every_list_admin_command_has_help_with_an_example() -> None:
    for command in (
        ["list", "import"],
        ["list", "export"],
        ["routing", "show"],
        ["routing", "set"],
        ["routes", "migrate"],
        ["routes", "publish"],
    ):
        code, out = run(*command, "--help")
        assert code == 0
        assert "Example:" in out and "Exit codes:" in out, command
