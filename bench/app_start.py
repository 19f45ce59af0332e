"""How long making the application takes, and its first OpenAPI document: `create_app()` N
times (each app on its own new SQLite file, as each test of the suite makes one), then for one
more app the first and a second `GET /api/v1/openapi.json`.

    .venv/bin/python bench/app_start.py [--apps 30]
    # a baseline, side by side: the same script run on another checkout's code
    git archive df20878 | tar -x -C /tmp/base
    (cd /tmp/base && PYTHONPATH=/tmp/base /work/main/.venv/bin/python /work/main/bench/app_start.py)

The suite makes an app per test (a thousand and more), so what create_app costs is paid that
many times in CI. Printed: median and p90 of create_app in ms, and the first and second
document's time and size (the document is written on its first reading since 4e73027)."""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import sys
import tempfile
import time

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]
if not os.environ.get("PYTHONPATH"):
    sys.path.insert(0, os.path.dirname(_HERE))


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--apps", type=int, default=30, help="how many apps to make")
    args = ap.parse_args()
    if args.apps < 1:
        ap.error("--apps must be at least 1")
    from api import create_app

    tmp = tempfile.mkdtemp()
    config = {"TESTING": True, "SECRET_KEY": "bench"}

    def made(i: int) -> tuple[object, float]:
        url = f"sqlite:///{tmp}/app{i}.db"
        t = time.perf_counter()
        app = create_app({**config, "DATABASE_URL": url})
        return app, (time.perf_counter() - t) * 1000

    made(-1)  # imports and first-time caches, not counted
    times = sorted(made(i)[1] for i in range(args.apps))
    app, _ = made(args.apps)
    client = app.test_client()  # type: ignore[attr-defined]
    docs = []
    for _ in range(2):
        t = time.perf_counter()
        r = client.get("/api/v1/openapi.json")
        docs.append(((time.perf_counter() - t) * 1000, r.status_code, r.data))
    print(f"code: {os.path.dirname(sys.modules['api'].__file__ or '')}")
    print(
        f"create_app x{args.apps}: median {statistics.median(times):.1f} ms,"
        f" p90 {times[int(len(times) * 0.9) - 1]:.1f} ms"
    )
    for label, (ms, status, data) in zip(("first", "second"), docs, strict=True):
        digest = hashlib.sha256(data).hexdigest()[:12]
        print(
            f"{label} GET /api/v1/openapi.json: {ms:.1f} ms, {status},"
            f" {len(data):,} bytes, sha256 {digest}"
        )


if __name__ == "__main__":
    main()
