"""The benchmark scripts stay runnable: the smallest configuration through the real CLI, and the report.

No timing is asserted (the benchmark measures; tests only check it did the right work). The run
asserts the API calls each contender made, which are exact by construction, and that the report
files are written. mypy checks the scripts too (pyproject's ``files``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "benchmarks"
sys.path.insert(0, str(BENCH))

import report  # noqa: E402


def _run(op: str, contender: str, n: int, calls: dict[str, int], **extra: object) -> dict[str, object]:
    return {
        "contender": contender,
        "n": n,
        "round": 0,
        "op": op,
        "wall_s": 1.0,
        "api_s": 0.1,
        "cpu_s": 0.5,
        "calls": calls,
        "cli_peak_kb": 100_000,
        "host_peak_kb": 50_000,
        "host_processes": 2,
        "peaks_kb": {},
        "state_bytes": 10_000,
        **extra,
    }


def test_report_ratios_and_targets_from_one_run(tmp_path: Path) -> None:
    """Medians, the ours ÷ floor ratio and a target verdict come out of a synthetic bench.json."""
    runs = [
        _run("create", "ours", 1000, {"ListPhoneNumbers": 1, "AddBulkPhoneNumbers": 10}, wall_s=12.0),
        _run("create", "ours", 1000, {"ListPhoneNumbers": 1, "AddBulkPhoneNumbers": 10}, wall_s=10.0),
        _run("create", "ours", 1000, {"ListPhoneNumbers": 1, "AddBulkPhoneNumbers": 10}, wall_s=11.0),
        _run("create", "floor", 1000, {}, wall_s=5.0),
        _run("preview", "ours", 1000, {}, wall_s=4.0),
    ]
    meta = {
        "date": "d",
        "commit": "c",
        "pulumi_cli": "v",
        "language_host": "h",
        "python": "3",
        "cpus": 2,
        "latency_ms": 50,
        "batch_size": 100,
        "max_concurrency": 4,
        "requests_per_second": 50,
        "plan": {"repeats": 3, "large_repeats": 1, "slow_repeats": 1},
        "run_seconds": 60,
    }
    report.write({"meta": meta, "runs": runs}, tmp_path, chart=False)
    text = (tmp_path / "bench.md").read_text()
    assert "| create | 11.00 s (10.00 s–12.00 s, 3 runs) | 5.00 s | 2.2× |" in text
    assert (
        "| 1,000-number create ≤ 1.3× the floor's `up` | 11.00 s vs 5.00 s: 2.20× the floor | **missed** |"
        in text
    )
    assert "| previews make 0 API calls | 1 preview sizes of ours, 0 calls in all | met |" in text


@pytest.mark.real_engine
@pytest.mark.slow
def test_smallest_configuration_runs_through_the_real_cli(tmp_path: Path) -> None:
    """bench.py at N = 2 (create and destroy, every contender) makes exactly the expected calls."""
    done = subprocess.run(
        ["bash", str(ROOT / "scripts" / "pulumi-cli")], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        pytest.skip(f"no Pulumi CLI: {done.stderr.strip().splitlines()[-1:]}")
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("http_proxy", "https_proxy", "all_proxy")}
    out = tmp_path / "out"
    argv = [
        sys.executable,
        str(BENCH / "bench.py"),
        "--sizes",
        "2",
        "--repeats",
        "1",
        "--ops",
        "create,destroy",
    ]
    bench = subprocess.run(
        [*argv, "--no-warm-up", "--no-chart", "--out", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert bench.returncode == 0, bench.stderr[-3000:]
    runs = json.loads((out / "bench.json").read_text())["runs"]
    calls = {(r["contender"], r["op"]): r["calls"] for r in runs}
    assert calls == {
        # The listing, the preflight's check of the contact flow, one batch.
        ("ours", "create"): {"AddBulkPhoneNumbers": 1, "ListContactFlows": 1, "ListPhoneNumbers": 1},
        # One listing, then only what is still bound is removed.
        ("ours", "destroy"): {"ListPhoneNumbers": 1, "RemovePhoneNumber": 2},
        ("floor", "create"): {},
        ("floor", "destroy"): {},
        ("per_number", "create"): {"AddPhoneNumber": 2},
        ("per_number", "destroy"): {"RemovePhoneNumber": 2},
        ("script", "create"): {"AddPhoneNumber": 2, "ListPhoneNumbers": 1},
        ("script", "destroy"): {"ListPhoneNumbers": 1, "RemovePhoneNumber": 2},
    }
    assert all(r["cli_peak_kb"] for r in runs), "every command's peak memory was read"
    assert all(r["host_peak_kb"] for r in runs if r["contender"] != "script"), "every provider host was seen"
    assert "## N = 2: wall time" in (out / "bench.md").read_text()
