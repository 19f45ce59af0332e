"""streetflow's HTTP side: the Flask application factory."""

from __future__ import annotations

from typing import Any

from flask import Flask

from api.sweeper import start_sweeper


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    if test_config:
        app.config.update(test_config)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    start_sweeper(app)  # the SLA sweep every SWEEP_EVERY seconds; off when unset
    return app
