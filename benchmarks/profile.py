"""Where an operation's time goes, from the engine's own log: ``pulumi ... -v=7 --logtostderr``.

Usage::

    python benchmarks/profile.py                      # ours and the floor at N = 1,000
    python benchmarks/profile.py --n 10000 --contenders ours --ops create,noop

Runs the operations (default: all six, in order) of one stack per contender, each with the engine's
verbose log, and prints for each operation the spans the engine logs between an ``executing`` line
and its ``success`` / ``failed`` line: the language host's calls (``GetRequiredPackages`` and
``GetRequiredPlugins``: the plugin lookup, with its ``pip list``; ``Run``: the program, per pass),
the engine's attempts to install a resource plugin the language host asked for, and the provider's
RPCs (``Check``, ``Diff``, ``Create``, ``Update``, ``Read``, ``Delete``, ``Configure``) per host
process (one per pass), with their start and end in seconds from the command's first log line.
Verbose logging costs time of its own: these figures show the shape, ``bench.py`` the figures.
Must not be used for the benchmark's figures, nor assert anything.
"""

from __future__ import annotations

import argparse
import json
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import contenders
import harness
import report
import venvs
from bench import pulumi_cli

_LINE = re.compile(r"^[IWE]\d{4} (\d\d:\d\d:\d\d\.\d+)\s+\d+ [^\]]+\] (.*)$")
_LANGHOST = re.compile(r"^langhost\[\w+\]\.(\w+)\((.*)\) (executing|success|failed)")
#: The engine installing a resource plugin the language host asked for, and the end of that attempt.
_INSTALL_BEGIN = re.compile(r"^installPlugin\(([^,]+), [^)]*\): beginning install")
_INSTALL_END = re.compile(r"^InstallPlugin\(\): |^installPlugin\([^)]*\): (?!beginning)")
_PASS = re.compile(r"^\*\*\* Starting Update\(preview=(\w+)\) \*\*\*")
# Diff logs "label: executing", the other RPCs "label executing".
_PROVIDER = re.compile(r"^(Provider\[[^\]]+\])\.(\w+)\((.*)\):? (executing|success|failed)")


@dataclass
class Span:
    """One logged call: what, in which pass (host), start and end seconds from the first log line."""

    what: str
    host: int
    start: float
    end: float


def _entries(log: str) -> Iterator[tuple[datetime, str]]:
    """(time, message) of each engine log line: JSON lines (the CLI's own) or glog lines (plugins')."""
    for line in log.splitlines():
        if line.startswith("{"):
            try:
                entry = json.loads(line)
                # RFC 3339 with nanoseconds: keep microseconds, which datetime can hold.
                yield datetime.fromisoformat(entry["time"][:26]), str(entry.get("msg", ""))
            except (ValueError, KeyError):
                continue
        elif m := _LINE.match(line):
            yield datetime.strptime(m.group(1), "%H:%M:%S.%f"), m.group(2)


def spans(log: str) -> tuple[list[Span], float]:
    """The paired spans of an engine log and the log's own length in seconds."""
    open_: dict[str, list[tuple[str, int, float]]] = {}
    hosts: dict[str, int] = {}
    out: list[Span] = []
    first: datetime | None = None
    last = 0.0
    for when, message in _entries(log):
        if first is None or when.tzinfo != first.tzinfo:
            first = when
        t = (when - first).total_seconds()
        last = max(last, t)
        if passing := _PASS.match(message):
            out.append(Span(f"engine: pass starts (preview={passing.group(1)})", 0, t, t))
            continue
        if install := _INSTALL_BEGIN.match(message):
            what, key, host, state = f"engine: install plugin {install.group(1)}", "install", 0, "executing"
        elif _INSTALL_END.match(message):
            what, key, host, state = "", "install", 0, "success"
        elif lang := _LANGHOST.match(message):
            method, args, state = lang.groups()
            dry = re.search(r"dryrun=(\w+)", args)
            what = f"language host {method}" + (f" (dryrun={dry.group(1)})" if dry else "")
            key, host = what, 0
        elif prov := _PROVIDER.match(message):
            pointer, method, args, state = prov.groups()
            host = hosts.setdefault(pointer, len(hosts) + 1)
            what, key = f"provider {method}", f"{pointer}.{method}({args})"
        else:
            continue
        if state == "executing":
            open_.setdefault(key, []).append((what, host, t))
        elif open_.get(key):
            name, pass_, start = open_[key].pop(0)
            out.append(Span(name, pass_, start, t))
    return out, last


def summary(found: list[Span]) -> list[list[str]]:
    """Per (call, host): how many, time summed, first start and last end."""
    groups: dict[tuple[str, int], list[Span]] = {}
    for span in found:
        groups.setdefault((span.what, span.host), []).append(span)
    rows = []
    for (what, host), group in sorted(groups.items(), key=lambda item: min(s.start for s in item[1])):
        total = sum(s.end - s.start for s in group)
        start, end = min(s.start for s in group), max(s.end for s in group)
        rows.append(
            [
                what,
                str(host) if host else "—",
                str(len(group)),
                report.seconds(total),
                f"{start:.2f}–{end:.2f} s",
            ]
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--contenders", default="ours,floor")
    parser.add_argument("--ops", default=",".join(contenders.OPS))
    parser.add_argument("--latency-ms", type=float, default=50.0)
    args = parser.parse_args()
    names = [c for c in args.contenders.split(",") if c]
    ops = [op for op in contenders.OPS if op in args.ops.split(",")]
    cli_dir = pulumi_cli()
    envs = {kind: venvs.ensure(kind) for kind in ("floor", "ours")}
    make = contenders.factories(cli_dir, envs)
    with tempfile.TemporaryDirectory(prefix="ccc-profile-") as tmp:
        root = Path(tmp)
        logs = root / "logs"
        logs.mkdir()
        with harness.BenchEmulator(args.n + 10, args.latency_ms, root) as emulator:
            subjects = [make[name](root, emulator, args.n) for name in names]
            for subject in subjects:
                if isinstance(subject, contenders.PulumiContender):
                    subject.extra_args = ("-v=7", "--logtostderr", "--logflow")
                    subject.keep_stderr_in = logs
                subject.prepare()
            try:
                # Each operation needs the ones before it; none after the last asked for (the stack is
                # then removed without a destroy: a 10,000-number destroy is minutes of removes).
                last = contenders.OPS.index(ops[-1])
                for op in contenders.OPS[: last + 1]:
                    for subject in subjects:
                        measured = subject.run(op)
                        if op not in ops:
                            continue
                        log = (logs / f"{subject.name}-{args.n}-{op}.log").read_text(errors="replace")
                        found, length = spans(log)
                        title = (
                            f"{contenders.LABELS[subject.name]}, N = {args.n:,}: {contenders.OP_LABELS[op]}"
                        )
                        figures = (
                            f"wall {report.seconds(measured.wall_s)}, log {length:.2f} s, API phase "
                            f"{report.seconds(measured.api_s)}, {report.calls_text(measured.calls)}"
                        )
                        print(f"\n### {title} — {figures}\n")
                        print(report.table(["call", "host", "count", "time", "from–to"], summary(found)))
            finally:
                for subject in subjects:
                    subject.finish()


if __name__ == "__main__":
    main()
