"""Benchmarks of pulumi-ccc-numbers against the CCC emulator: our provider vs one call per number.

Usage::

    python benchmarks/bench.py                 # full run: N = 10, 100, 1,000, 10,000 at 50 ms per call
    python benchmarks/bench.py --quick         # smoke run: N = 10, 100 at 5 ms, fewer repetitions
    python benchmarks/bench.py --sizes 10,1000 --latency-ms 20 --naive-max 100 --out /tmp/bench

For each N, in one process and one run (so the ratios compare like with like):

* **ours**: the provider through its real host (``python -m pulumi.dynamic``), driven over gRPC as the
  Pulumi engine drives it (``tests/engine``): create, a no-change up, an update changing 1% of the
  numbers' contact flow, an update adding 1% new numbers, refresh, destroy. Each ``up`` is a preview
  pass and a real pass, each with a fresh host, as ``pulumi up`` does. Measured: API calls by action
  (the emulator's journal), wall time of the whole operation, the API phase (first request in to
  last answer out), and the host's peak memory (``VmHWM`` read just before the host is stopped);
* **ours, concurrency 1**: the same with ``ccc:maxConcurrency: 1``;
* **naive**: the same work one call per number in sequence (AddPhoneNumber, ModifyPhoneNumber,
  one ListPhoneNumbers per number read, RemovePhoneNumber) on the provider's own SDK stack: what a
  provider with one resource per number ends up sending. It is a lower bound for such a provider
  (no engine round trips, no host starts). Above ``--naive-max`` it is not run: its time is
  projected as calls × the per-call time measured at the largest size run, and marked so. The
  concurrency-1 destroy (one RemovePhoneNumber per number: CCC 2017 has no bulk remove) is capped
  the same way.

Then: refresh of 50 bindings in one instance (ListPhoneNumbers per provider process, also with the
50 Reads sent concurrently to one host), the CPU micro-benchmark (``micro.py``) and the cold start
(``coldstart.py``). Writes ``bench.json``, ``bench.md`` and ``bench.png`` (if matplotlib is
installed: ``pip install -e '.[bench]'``) to ``--out`` (default ``benchmarks/results``, or
``benchmarks/results/quick`` with ``--quick``). Prints tables; never asserts a timing.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import coldstart
import harness
import micro
import report

DEFAULT_SIZES = (10, 100, 1_000, 10_000)
HERE = Path(__file__).resolve().parent


def _log_to_stderr(started: float) -> Callable[[str], None]:
    def log(message: str) -> None:
        print(f"[{time.perf_counter() - started:7.1f} s] {message}", file=sys.stderr, flush=True)

    return log


def _commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=harness.REPO,
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return out.stdout.strip()


def _per_call(run: harness.OpResult) -> float | None:
    calls = run.total_calls
    return run.wall_s / calls if run.measured and calls else None


def _capped_note(naive_max: int, per_call: float, base_n: int) -> str:
    return (
        f"not run (N > --naive-max {naive_max:,}): calls × {per_call * 1e3:.1f} ms per call measured at "
        f"N={base_n:,}"
    )


class _ProviderRuns:
    """ours, ours at concurrency 1 and naive, size after size; projections above ``naive_max``."""

    def __init__(self, emulator: harness.BenchEmulator, naive_max: int, log: Callable[[str], None]) -> None:
        self.emulator = emulator
        self.naive_max = naive_max
        self.log = log
        self.ours: list[harness.OpResult] = []
        self.c1: list[harness.OpResult] = []
        self.naive: list[harness.OpResult] = []
        self.last_naive: dict[str, harness.OpResult] = {}
        self.last_c1_destroy: harness.OpResult | None = None

    def progress(self, n: int, variant: str) -> Callable[[str], None]:
        return lambda op: self.log(f"N={n:,} {variant}: {op}")

    def size(self, n: int) -> None:
        capped = n > self.naive_max
        ours = harness.run_ours(self.emulator, n, progress=self.progress(n, "ours"))
        self.ours += ours
        c1 = harness.run_ours(
            self.emulator,
            n,
            max_concurrency=1,
            skip=("destroy",) if capped else (),
            progress=self.progress(n, "ours, concurrency 1"),
        )
        self.c1 += c1
        if not capped:
            self.last_c1_destroy = next(r for r in c1 if r.op == "destroy")
            naive = harness.run_naive(self.emulator, n, progress=self.progress(n, "naive"))
            self.naive += naive
            self.last_naive = {r.op: r for r in naive}
            return
        # The concurrency-1 destroy is one RemovePhoneNumber per number in sequence: capped like naive.
        base = self.last_c1_destroy
        per_call = _per_call(base) if base else None
        if base is not None and per_call is not None:
            destroy = next(r for r in ours if r.op == "destroy")
            note = _capped_note(self.naive_max, per_call, base.n)
            self.c1.append(harness.projected("destroy", n, destroy.calls, per_call, note))
        for op, calls in harness.naive_call_counts(n).items():
            if not calls:
                self.naive.append(harness.OpResult(op, n, 0, 0.0, {}, 0.0, note="no call by construction"))
                continue
            base = self.last_naive.get(op)
            per_call = _per_call(base) if base else None
            if base is None or per_call is None:
                continue
            note = _capped_note(self.naive_max, per_call, base.n)
            if op == "refresh":
                note += "; an underestimate: each read lists the whole instance, which grows with N"
            self.naive.append(harness.projected(op, n, calls, per_call, note))


def run_provider_benchmarks(
    sizes: list[int], latency_ms: float, naive_max: int, log: Callable[[str], None]
) -> dict[str, list[dict[str, Any]]]:
    """ours, ours at concurrency 1 and naive for every size, smallest first, on one emulator."""
    with harness.BenchEmulator(harness.bench_seed(max(sizes)), latency_ms) as emulator:
        runs = _ProviderRuns(emulator, naive_max, log)
        # Warm-up, discarded: .pyc files, the page cache and first-use costs would bias the first size.
        log("warm-up (discarded)")
        harness.run_ours(emulator, min(sizes))
        harness.run_naive(emulator, min(*sizes, naive_max))
        for n in sizes:
            runs.size(n)
    return {
        "ours": [r.as_dict() for r in runs.ours],
        "ours_c1": [r.as_dict() for r in runs.c1],
        "naive": [r.as_dict() for r in runs.naive],
    }


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Benchmark pulumi-ccc-numbers against the CCC emulator (see the module docstring)."
    )
    add = parser.add_argument
    add("--sizes", help="comma-separated numbers of phone numbers (default 10,100,1000,10000)")
    add("--latency-ms", type=float, help="emulator latency added to every call (default 50)")
    add(
        "--naive-max",
        type=int,
        default=1000,
        help="largest N for one-call-per-number sequential work (default 1000); above: projected",
    )
    add("--quick", action="store_true", help="smoke run: sizes 10,100, latency 5 ms")
    add("--micro-sizes", help="CPU micro-benchmark sizes (default 1000,10000,100000)")
    add("--cold-runs", type=int, help="cold starts per provider (default 7, quick 3)")
    add("--skip", default="", help="comma-separated parts to skip: provider,refresh50,micro,coldstart")
    add("--out", type=Path, help="output directory (default benchmarks/results, quick: results/quick)")
    add("--no-chart", action="store_true", help="do not draw the PNG chart")
    add(
        "--report-only",
        action="store_true",
        help="measure nothing: rewrite the table, markdown and chart from --out's bench.json",
    )
    return parser


def _ints(text: str | None, default: tuple[int, ...]) -> list[int]:
    return sorted(int(s) for s in text.split(",")) if text else list(default)


def _meta(args: argparse.Namespace, sizes: list[int], latency: float) -> dict[str, Any]:
    from ccc_numbers.config import ProviderSettings  # noqa: PLC0415 - after the environment is settled

    defaults = ProviderSettings()
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": _commit(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "latency_ms": latency,
        "sizes": sizes,
        "naive_max": args.naive_max,
        "batch_size": defaults.batch_size,
        "max_concurrency": defaults.max_concurrency,
        "requests_per_second": defaults.requests_per_second,
        "quick": args.quick,
    }


def _print_summary(results: dict[str, Any]) -> None:
    print(report.conditions(results))
    if results["runs"]["ours"]:
        print()
        print(report.main_table(results))
    many = results.get("refresh_many")
    if many:
        passes = [p["list_calls"] for p in many["sequential_refresh"]["passes"]]
        conc = many["concurrent_reads"]
        print(
            f"\nrefresh of {many['bindings']} bindings: ListPhoneNumbers per process {passes} (preview, "
            f"real pass); {conc['reads']} concurrent Reads in one host: {conc['list_calls']}"
        )
    if results.get("micro"):
        print()
        print(report.micro_table(results["micro"]))
    if results.get("coldstart"):
        print()
        print(report.coldstart_table(results["coldstart"]))
        for line in report.importtime_lines(results["coldstart"]):
            print(line)
    print()
    print(report.targets_table(results))


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    sizes = _ints(args.sizes, (10, 100) if args.quick else DEFAULT_SIZES)
    latency = args.latency_ms if args.latency_ms is not None else (5.0 if args.quick else 50.0)
    micro_sizes = _ints(args.micro_sizes, (1_000, 10_000) if args.quick else micro.DEFAULT_SIZES)
    cold_runs = args.cold_runs if args.cold_runs is not None else (3 if args.quick else 7)
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    out: Path = args.out or (HERE / "results" / "quick" if args.quick else HERE / "results")
    out.mkdir(parents=True, exist_ok=True)

    # Loopback only: the Alibaba SDK honours these and ignores NO_PROXY; the hosts inherit this environment.
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
        os.environ.pop(name, None)

    if args.report_only:
        _write(json.loads((out / "bench.json").read_text()), out, chart=not args.no_chart, log=print)
        return

    started = time.perf_counter()
    log = _log_to_stderr(started)
    results: dict[str, Any] = {
        "meta": _meta(args, sizes, latency),
        "runs": {"ours": [], "ours_c1": [], "naive": []},
    }
    if "provider" not in skip:
        results["runs"] = run_provider_benchmarks(sizes, latency, args.naive_max, log)
    if "refresh50" not in skip:
        log("refresh of 50 bindings")
        with harness.BenchEmulator(harness.bench_seed(100), latency) as emulator:
            results["refresh_many"] = harness.run_refresh_many(emulator)
    if "micro" not in skip:
        log(f"check + diff + plan micro-benchmark: {', '.join(map(str, micro_sizes))}")
        results["micro"] = micro.run(tuple(micro_sizes))
    if "coldstart" not in skip:
        results["coldstart"] = coldstart.measure(cold_runs, progress=log)
    results["meta"]["run_seconds"] = time.perf_counter() - started
    _write(results, out, chart=not args.no_chart, log=log)


def _write(results: dict[str, Any], out: Path, *, chart: bool, log: Callable[[str], None]) -> None:
    """Derived figures (rows, targets), then bench.json, bench.md, bench.png and the printed summary."""
    results["rows"] = report.rows(results) if results["runs"]["ours"] else []
    results["targets"] = report.targets(results)
    chart_name = None
    if chart and results["runs"]["ours"]:
        chart_name = report.chart(results, out / "bench.png")
        if chart_name is None:
            log("matplotlib is not installed: chart skipped (pip install -e '.[bench]')")
    (out / "bench.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    (out / "bench.md").write_text(report.markdown(results, chart_name))
    _print_summary(results)
    written = [out / "bench.json", out / "bench.md", *([out / chart_name] if chart_name else [])]
    print(f"\nwrote {', '.join(map(str, written))}")


if __name__ == "__main__":
    main()
