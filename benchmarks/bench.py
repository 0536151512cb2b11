"""Benchmark of pulumi-ccc-numbers through the real Pulumi CLI, side by side with three baselines.

Usage::

    python benchmarks/bench.py            # full run: N = 100, 1,000, 10,000 (one resource per number
                                          # up to 1,000), 3 rounds of N < 10,000; writes benchmarks/results
    python benchmarks/bench.py --quick    # N = 10, one round: about 3 minutes; benchmarks/results/quick
    python benchmarks/bench.py --max-n 1000 --repeats 2 --out /tmp/bench
    python benchmarks/bench.py --report-only   # redraw tables and chart from --out's bench.json

Contenders (``contenders.py``): ours (one ``PhoneNumberBinding`` of N numbers), (a) the floor (one
do-nothing dynamic resource), (b) one dynamic resource per number (``AddPhoneNumber`` each, official
SDK), (c) an operator's script with 4 threads (official SDK, no Pulumi). Operations: create, preview
with no change, no-change ``up``, a one-number change, refresh, destroy. The emulator runs in this
process (state in a SQLite file, ``--latency-ms`` per call); the CLI from ``scripts/pulumi-cli``.

Interleaving: a round runs every size, smallest first; at each size, all contenders are set up,
then each operation runs for every contender in turn (the order rotates between rounds), so a
disturbance of the shared machine hits all contenders of an operation alike. Rounds repeat the sizes
below 10,000 (``--repeats``) and 10,000 itself ``--large-repeats`` times; (b) at 1,000 runs
``--slow-repeats`` times. Prints markdown tables, writes ``bench.json``, ``bench.md``, ``bench.png``
(matplotlib, the ``bench`` extra) to ``--out``. Never asserts a timing; it stops if an operation did
the wrong work (``contenders.BenchError``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import contenders
import harness
import report
import venvs

DEFAULT_SIZES = (100, 1_000, 10_000)
QUICK_SIZES = (10,)
#: Sizes at or above this one are "large": repeated --large-repeats times.
LARGE_N = 10_000
#: One resource per number is run up to this N (the issue's scope: it is very slow beyond).
PER_NUMBER_MAX = 1_000
#: At or above this N, one resource per number is run --slow-repeats times.
SLOW_N = 1_000

Log = Callable[[str], None]


def _log_to_stderr(started: float) -> Log:
    def log(message: str) -> None:
        print(f"[{time.perf_counter() - started:7.1f} s] {message}", file=sys.stderr, flush=True)

    return log


def _git(*args: str) -> str:
    try:
        done = subprocess.run(["git", *args], cwd=harness.REPO, capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return done.stdout.strip()


def pulumi_cli() -> Path:
    """The folder of the real CLI (``scripts/pulumi-cli``: $PULUMI_CLI_DIR, PATH, or a cached build)."""
    done = subprocess.run(
        ["bash", str(harness.REPO / "scripts" / "pulumi-cli")], capture_output=True, text=True, check=False
    )
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        sys.exit(done.stderr.strip() or "scripts/pulumi-cli failed")
    return Path(lines[-1])


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    add = parser.add_argument
    add("--sizes", help="comma-separated N (default 100,1000,10000; quick: 10)")
    add("--max-n", type=int, help="drop sizes above this N (a quicker partial run)")
    add("--latency-ms", type=float, default=50.0, help="emulator latency per call (default 50)")
    add("--repeats", type=int, help=f"rounds of sizes below {LARGE_N:,} (default 3; quick: 1)")
    add("--large-repeats", type=int, default=1, help=f"rounds of sizes from {LARGE_N:,} (default 1)")
    add("--slow-repeats", type=int, default=1, help=f"rounds of (b) from N={SLOW_N:,} (default 1)")
    add("--per-number-max", type=int, default=PER_NUMBER_MAX, help="largest N for (b) (default 1000)")
    add(
        "--contenders", default=",".join(contenders.CONTENDERS), help="subset of ours,floor,per_number,script"
    )
    add("--ops", default=",".join(contenders.OPS), help="subset of the operations (create is required)")
    add("--quick", action="store_true", help="N = 10, one round: about 3 minutes")
    add(
        "--out", type=Path, help="output folder (default benchmarks/results; quick: benchmarks/results/quick)"
    )
    add("--no-warm-up", action="store_true", help="skip the discarded warm-up create and destroy")
    add("--no-chart", action="store_true", help="do not draw bench.png")
    add(
        "--report-only", action="store_true", help="measure nothing: rewrite tables and chart from bench.json"
    )
    return parser


def _list(text: str, allowed: Sequence[str], what: str) -> list[str]:
    chosen = [s.strip() for s in text.split(",") if s.strip()]
    unknown = [c for c in chosen if c not in allowed]
    if unknown:
        sys.exit(f"unknown {what}: {', '.join(unknown)} (choose from {', '.join(allowed)})")
    return [a for a in allowed if a in chosen]


class Plan:
    """Which contender runs at which size in which round."""

    def __init__(self, args: argparse.Namespace) -> None:
        sizes = (
            [int(s) for s in args.sizes.split(",")]
            if args.sizes
            else list(QUICK_SIZES if args.quick else DEFAULT_SIZES)
        )
        if args.max_n is not None:
            sizes = [n for n in sizes if n <= args.max_n]
        if not sizes:
            sys.exit("no size left to run")
        self.sizes = sorted(set(sizes))
        self.repeats: int = args.repeats if args.repeats is not None else (1 if args.quick else 3)
        self.large_repeats: int = args.large_repeats
        self.slow_repeats: int = args.slow_repeats
        self.per_number_max: int = args.per_number_max
        self.contenders = _list(args.contenders, contenders.CONTENDERS, "contenders")
        self.ops = _list(args.ops, contenders.OPS, "operations")
        if "create" not in self.ops:
            sys.exit("--ops must include create")

    def rounds_of(self, name: str, n: int) -> int:
        if name == "per_number":
            if n > self.per_number_max:
                return 0
            if n >= SLOW_N:
                return min(self.slow_repeats, self._rounds(n))
        return self._rounds(n)

    def _rounds(self, n: int) -> int:
        return self.large_repeats if n >= LARGE_N else self.repeats

    @property
    def round_count(self) -> int:
        return max(self.rounds_of(c, n) for c in self.contenders for n in self.sizes)

    def at(self, round_: int, n: int) -> list[str]:
        """The contenders of one (round, size), in this round's rotated order."""
        names = [c for c in self.contenders if round_ < self.rounds_of(c, n)]
        if not names:
            return []
        shift = (round_ + self.sizes.index(n)) % len(names)
        return names[shift:] + names[:shift]

    def as_dict(self) -> dict[str, Any]:
        return {
            "sizes": self.sizes,
            "repeats": self.repeats,
            "large_repeats": self.large_repeats,
            "slow_repeats": self.slow_repeats,
            "per_number_max": self.per_number_max,
            "contenders": self.contenders,
            "ops": self.ops,
            "rounds": {c: {str(n): self.rounds_of(c, n) for n in self.sizes} for c in self.contenders},
        }


def _record(subject: contenders.Contender, round_: int, op: str, m: harness.Measurement) -> dict[str, Any]:
    roles = sorted({p.role for p in m.processes})
    return {
        "contender": subject.name,
        "n": subject.n,
        "round": round_,
        "op": op,
        "wall_s": m.wall_s,
        "api_s": m.api_s,
        "cpu_s": m.cpu_s,
        "calls": m.calls,
        "cli_peak_kb": m.peak_kb("script" if subject.name == "script" else "cli"),
        "host_peak_kb": m.peak_kb("provider host"),
        "host_processes": m.count("provider host"),
        "peaks_kb": {role: m.peak_kb(role) for role in roles},
        # Untimed, after the operation: what the next operation will load.
        "state_bytes": subject.state_bytes() if op != "destroy" else None,
    }


class Runner:
    """Runs (round, size) blocks on one emulator and one scratch folder."""

    def __init__(
        self, emulator: harness.BenchEmulator, make: dict[str, contenders.Factory], root: Path, log: Log
    ) -> None:
        self.emulator = emulator
        self.make = make
        self.root = root
        self.log = log

    def size(self, plan: Plan, round_: int, n: int) -> list[dict[str, Any]]:
        """Set every contender of (round, n) up, then each operation for each of them in turn."""
        self.emulator.reset()
        subjects = [self.make[name](self.root, self.emulator, n) for name in plan.at(round_, n)]
        for subject in subjects:
            subject.prepare()
        records = []
        try:
            for op in plan.ops:
                for subject in subjects:
                    self.log(f"round {round_ + 1} N={n:,} {subject.name}: {op}")
                    measured = subject.run(op)
                    records.append(_record(subject, round_, op, measured))
                    cli = measured.peak_kb("cli") or measured.peak_kb("script")
                    self.log(
                        f"    {measured.wall_s:8.2f} s  {report.calls_text(measured.calls)}  "
                        f"cli {report.mib(cli)}  host {report.mib(measured.peak_kb('provider host'))}"
                    )
        finally:
            for subject in subjects:
                subject.finish()
        return records


def _meta(plan: Plan, latency_ms: float, cli_dir: Path, pins: list[str]) -> dict[str, Any]:
    from ccc_numbers.config import ProviderSettings  # noqa: PLC0415 - the defaults of the code measured

    defaults = ProviderSettings()
    cli_version = subprocess.run(
        [str(cli_dir / "pulumi"), "version"], capture_output=True, text=True, check=False
    ).stdout
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": _git("rev-parse", "--short", "HEAD"),
        "dirty": bool(_git("status", "--porcelain", "--untracked-files=no")),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "pulumi_cli": cli_version.strip(),
        "language_host": "pulumi-language-python v3.68.0 (scripts/pulumi-cli's stand-in)",
        "latency_ms": latency_ms,
        "batch_size": defaults.batch_size,
        "max_concurrency": defaults.max_concurrency,
        "requests_per_second": defaults.requests_per_second,
        "pins": pins,
        "plan": plan.as_dict(),
        "api_phase": "busy",
        # The machine's 1-minute load average at the start and after each (round, size) block:
        # other work on a shared machine inflates the floor's fixed costs far more than the work a
        # contender adds, so ratios to the floor shrink under load.
        "load_1min": [os.getloadavg()[0]],
        "memory_method": (
            f"VmHWM of every process in the command's tree, polled every {harness.POLL_SECONDS * 1e3:g} ms"
        ),
    }


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    out: Path = args.out or (harness.HERE / "results" / ("quick" if args.quick else ""))
    out.mkdir(parents=True, exist_ok=True)
    if args.report_only:
        report.write(json.loads((out / "bench.json").read_text()), out, chart=not args.no_chart)
        return
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
        os.environ.pop(name, None)  # the Alibaba SDK ignores NO_PROXY; loopback must not go to a proxy
    plan = Plan(args)
    started = time.perf_counter()
    log = _log_to_stderr(started)
    cli_dir = pulumi_cli()
    kinds = {"floor"} | ({"ours"} if "ours" in plan.contenders else set())
    envs = {kind: venvs.ensure(kind, log) for kind in sorted(kinds)}
    make = contenders.factories(cli_dir, envs)
    results: dict[str, Any] = {"meta": _meta(plan, args.latency_ms, cli_dir, venvs.pins()), "runs": []}
    with tempfile.TemporaryDirectory(prefix="ccc-bench-") as tmp:
        root = Path(tmp)
        with harness.BenchEmulator(max(plan.sizes) + 10, args.latency_ms, root) as emulator:
            runner = Runner(emulator, make, root, log)
            if not args.no_warm_up:
                # Discarded: .pyc files, the page cache, the CLI's first-run work.
                log("warm-up (discarded)")
                warm = Plan(args)
                warm.ops = ["create", "destroy"]
                runner.size(warm, 0, min(plan.sizes))
            for round_ in range(plan.round_count):
                for n in plan.sizes:
                    if plan.at(round_, n):
                        results["runs"] += runner.size(plan, round_, n)
                        results["meta"]["run_seconds"] = time.perf_counter() - started
                        results["meta"]["load_1min"].append(os.getloadavg()[0])
                        (out / "bench.json").write_text(json.dumps(results, indent=1) + "\n")
    results["meta"]["run_seconds"] = time.perf_counter() - started
    report.write(results, out, chart=not args.no_chart)


if __name__ == "__main__":
    main()
