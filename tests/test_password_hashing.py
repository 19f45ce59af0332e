"""Passwords are hashed with Argon2id at argon2-cffi's default cost (64 MiB, three passes) in
service; the suite's switch (STREETFLOW_TEST_CHEAP_PASSWORD_HASHES=1, set by tests/conftest.py)
takes the library's cheapest parameters and says so in the log."""

from __future__ import annotations

import logging

import pytest
from argon2 import extract_parameters

from workflow import users
from workflow.store.models import User


def test_in_service_a_password_is_hashed_with_argon2id_at_64_mib_and_three_passes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(users.CHEAP_HASHES, raising=False)
    hashed = users.hash_password("a long passphrase")
    assert hashed.startswith("$argon2id$")
    p = extract_parameters(hashed)
    assert (p.memory_cost, p.time_cost, p.parallelism) == (65536, 3, 4)
    assert users.check_password(User(password_hash=hashed), "a long passphrase")
    assert not users.check_password(User(password_hash=hashed), "a long passphrasf")


def test_the_suites_switch_hashes_cheaply_says_so_and_still_checks_service_hashes(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv(users.CHEAP_HASHES, raising=False)
    made_in_service = users.hash_password("a long passphrase")
    monkeypatch.setenv(users.CHEAP_HASHES, "1")
    users._say_cheap.cache_clear()  # as a new process: it has not said so yet
    with caplog.at_level(logging.WARNING, logger="streetflow.auth"):
        cheap = users.hash_password("a long passphrase")
    assert extract_parameters(cheap).memory_cost < 1024
    assert "for tests only" in caplog.text
    # A hash keeps its own parameters: either checks under either setting.
    for hashed in (made_in_service, cheap):
        assert users.check_password(User(password_hash=hashed), "a long passphrase")
        assert not users.check_password(User(password_hash=hashed), "wrong")
    monkeypatch.delenv(users.CHEAP_HASHES)
    assert users.check_password(User(password_hash=cheap), "a long passphrase")
