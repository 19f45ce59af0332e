"""What every request goes through (the cookie session, the rate limiter's hooks, the headers
schema) answers as before where it is cut short: an API call without a cookie, on a path
without a limit, without the optional headers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import requests


def test_a_transition_without_the_optional_headers_and_with_them(
    login: Callable[..., Any], make_case: Callable[..., int]
) -> None:
    clerk = login("W-ZHL-01", "clerk")
    first, second, third = make_case(), make_case(), make_case()
    plain = clerk.post(f"/cases/{first}/transitions", json={"trigger": "accept"})
    assert plain.status_code == 200, plain.text
    assert plain.headers["ETag"] == f'"{plain.json()["version"]}"'
    # No cookie asked for or set, no rate-limit headers on a path without a limit.
    assert "Set-Cookie" not in plain.headers
    assert "Cookie" not in plain.headers.get("Vary", "")
    assert not [h for h in plain.headers if h.lower().startswith("x-ratelimit")]
    assert plain.headers["X-Frame-Options"] == "DENY"
    assert plain.headers["Content-Security-Policy"] == "frame-ancestors 'none'"
    # Sent, the headers are still read and checked by their schema.
    empty_key = clerk.post(
        f"/cases/{second}/transitions",
        json={"trigger": "accept"},
        headers={"Idempotency-Key": ""},
    )
    assert empty_key.status_code == 422
    assert empty_key.headers["Content-Type"] == "application/problem+json"
    assert "Idempotency-Key" in empty_key.json()["errors"]
    stale = clerk.post(
        f"/cases/{second}/transitions", json={"trigger": "accept"}, headers={"If-Match": '"9"'}
    )
    assert stale.status_code == 412
    keyed = clerk.post(
        f"/cases/{third}/transitions",
        json={"trigger": "accept"},
        headers={"Idempotency-Key": "hooks-1", "If-Match": '"1"'},
    )
    again = clerk.post(
        f"/cases/{third}/transitions",
        json={"trigger": "accept"},
        headers={"Idempotency-Key": "hooks-1"},
    )
    assert keyed.status_code == again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == keyed.json()


def test_the_sign_in_still_counts_failures_and_says_so(server: str) -> None:
    r = requests.post(
        f"{server}/api/v1/auth/token",
        json={"username": "nobody-hooks", "password": "wrong"},
        timeout=30,
    )
    assert r.status_code == 401
    assert r.headers["X-RateLimit-Limit"] == "5"
    assert r.headers["X-RateLimit-Remaining"] == "4"
