"""Rate limits: only sign-ins and the resident pages carry one, and the API's other paths and
the console's pages but its sign-in skip Flask-Limiter's lookup (api.auth._no_limit_here). A
limit put on one of those paths would never apply: this fails first."""

from __future__ import annotations

from flask import Flask
from flask_limiter.util import get_qualified_name

from api import auth


def test_every_limited_view_lies_where_limits_are_looked_up(app: Flask) -> None:
    limited = auth.limiter._marked_for_limiting  # the views a limit decorates
    seen = []
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        names = {get_qualified_name(view)}
        cls = getattr(view, "view_class", None)  # a MethodView: its methods are decorated
        if cls is not None:
            names |= {get_qualified_name(getattr(cls, m.lower())) for m in cls.methods or ()}
        if not names & limited:
            continue
        seen.append(rule.rule)
        skipped = auth.skips_limits(rule.rule)
        assert not skipped, f"{rule.rule} has a rate limit but its path skips the limiter"
    # The API's and the console's sign-in, and the resident pages.
    assert "/api/v1/auth/token" in seen
    assert any(r.startswith("/console") for r in seen)
    assert len(seen) >= 4, seen


def test_the_api_sign_in_is_still_limited(app: Flask) -> None:
    app.config["LOGIN_LIMIT"] = "2 per 5 minutes"
    client = app.test_client()
    codes = [
        client.post(
            "/api/v1/auth/token", json={"username": "nobody-here", "password": "wrong"}
        ).status_code
        for _ in range(3)
    ]
    assert codes == [401, 401, 429]
