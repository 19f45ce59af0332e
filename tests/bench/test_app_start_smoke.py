"""bench/app_start.py still makes apps and reads their OpenAPI document (two apps: this checks
the script, not speed): both readings answer the same document."""

from __future__ import annotations

import re

from tests.bench.conftest import run_bench


def test_app_start_times_apps_and_reads_the_document_twice() -> None:
    done = run_bench("bench/app_start.py", "--apps", "2")
    assert done.returncode == 0, done.stderr
    assert re.search(r"^create_app x2: median [\d.]+ ms, p90 [\d.]+ ms$", done.stdout, re.M)
    reads = re.findall(
        r"^(first|second) GET /api/v1/openapi.json: [\d.]+ ms, (\d+), ([\d,]+) bytes,"
        r" sha256 ([0-9a-f]{12})$",
        done.stdout,
        re.M,
    )
    assert [r[0] for r in reads] == ["first", "second"], done.stdout
    (_, status1, size1, sha1), (_, status2, size2, sha2) = reads
    assert status1 == status2 == "200"
    assert (size1, sha1) == (size2, sha2) and int(size1.replace(",", "")) > 100_000


def test_no_apps_is_refused_with_a_message() -> None:
    done = run_bench("bench/app_start.py", "--apps", "0")
    assert done.returncode == 2
    assert "--apps must be at least 1" in done.stderr and not done.stdout
