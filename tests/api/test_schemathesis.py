"""Schemathesis against the live app: generated requests (valid and invalid) for every operation
of the OpenAPI document, a bounded number of examples each, asserting no 5xx and answers that
conform to the document (status codes, content types, headers, schemas, invalid data refused).

One check is left out: `positive_data_acceptance` expects every schema-valid body to succeed,
but the contract answers 422 for well-formed yet unknown things (an item or trigger not in the
list or route, text with NUL characters), which a schema cannot express."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import positive_data_acceptance

from api import create_app
from tests.api.conftest import Client

EXAMPLES = 5


def _operations() -> list[tuple[str, str]]:
    """(method, path) of every documented operation, read from the app's own document."""
    app = create_app({"DATABASE_URL": "sqlite://", "SECRET_KEY": "collect"})
    paths = app.extensions["streetflow.api"].spec.to_dict()["paths"]
    app.extensions["streetflow.engine"].dispose()
    return [(m.upper(), p) for p, ops in paths.items() for m in ops if m != "parameters"]


@pytest.fixture
def clerk_token(login: Callable[..., Client], make_case: Callable[..., int]) -> str:
    make_case("UD-01")  # a case for ids to hit
    return str(login("W-ZHL-01", "clerk").http.headers["Authorization"])


def test_every_operation_conforms(server: str, clerk_token: str) -> None:
    schema = schemathesis.openapi.from_url(f"{server}/api/v1/openapi.json")
    failures: list[str] = []
    for method, path in _operations():
        operation = schema[path][method]
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                derandomize=True,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            def run(case: schemathesis.Case) -> None:
                case.call_and_validate(
                    base_url=server,
                    headers={"Authorization": clerk_token},
                    excluded_checks=[positive_data_acceptance],
                    timeout=30,
                )

            try:
                run()
            except Exception as exc:  # report every operation, not just the first
                failures.append(f"{method} {path} ({mode.value}):\n{exc}")
    assert not failures, "\n\n".join(failures)
