"""The API's live server and logged-in clients (tests/api/conftest.py) for these tests too."""

from tests.api.conftest import (  # noqa: F401
    Client,
    add_user,
    anon,
    login,
    server,
)
from tests.conftest import make_case  # noqa: F401
