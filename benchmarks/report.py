"""Tables, ratios, targets and the chart of a benchmark run (``bench.json`` in, markdown and PNG out).

Owns how the measured runs are summarised: the median and the spread (min–max) of each
(contender, N, operation) over its rounds, the ratios of ours against each baseline from the same
run, and issue 9's targets with a verdict. Must not measure or assert: a missed target is reported,
never raised.
"""

from __future__ import annotations

import json
import statistics
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from contenders import CONTENDERS, LABELS, OP_LABELS, OPS

SHORT = {
    "AddBulkPhoneNumbers": "AddBulk",
    "AddPhoneNumber": "Add",
    "ListPhoneNumbers": "List",
    "ModifyPhoneNumber": "Modify",
    "RemovePhoneNumber": "Remove",
}
Stats = dict[str, Any]
#: What "API phase" meant in a run (``meta.api_phase``; runs without it used "span").
API_PHASE = {
    "busy": "API phase: time with at least one request in the emulator (the union of their spans).",
    "span": "API phase: first request in to last answer out, for the whole operation (in this run; a "
    "refresh lists once per pass, so its figure spans the gap between its two passes too).",
}


# --- Formatting ---------------------------------------------------------------------------------


def calls_text(calls: Mapping[str, int]) -> str:
    """``1 List + 10 AddBulk``; ``0`` for no call."""
    if not calls:
        return "0"
    return " + ".join(f"{count:,} {SHORT.get(action, action)}" for action, count in sorted(calls.items()))


def seconds(value: float | None) -> str:
    if value is None:
        return "—"
    if value < 1:
        return f"{value * 1e3:.0f} ms"
    if value < 100:
        return f"{value:.2f} s"
    return f"{value:.0f} s"


def mib(kb: float | None) -> str:
    return "—" if kb is None else f"{kb / 1024:.0f} MiB"


def size_text(count: float | None) -> str:
    if count is None:
        return "—"
    if count < 1024 * 1024:
        return f"{count / 1024:.1f} KiB"
    return f"{count / 1024 / 1024:.2f} MiB"


def ratio(a: float | None, b: float | None) -> str:
    if a is None or b is None or b == 0:
        return "—"
    value = a / b
    return f"{value:.3g}×" if value < 1000 else f"{value:,.0f}×"


def table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


# --- Statistics ---------------------------------------------------------------------------------


def _spread(values: Sequence[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def summarise(runs: Sequence[Mapping[str, Any]]) -> dict[tuple[str, int, str], Stats]:
    """Per (contender, N, operation): runs, wall/API/CPU spreads, calls, peaks and state size."""
    groups: dict[tuple[str, int, str], list[Mapping[str, Any]]] = {}
    for run in runs:
        groups.setdefault((run["contender"], run["n"], run["op"]), []).append(run)
    out: dict[tuple[str, int, str], Stats] = {}
    for key, group in groups.items():
        calls = Counter(tuple(sorted(r["calls"].items())) for r in group)
        common, _ = calls.most_common(1)[0]

        def med(field: str, rows: list[Mapping[str, Any]] = group) -> float | None:
            values = [r[field] for r in rows if r.get(field) is not None]
            return statistics.median(values) if values else None

        out[key] = {
            "runs": len(group),
            "wall": _spread([r["wall_s"] for r in group]),
            "api": _spread([r["api_s"] for r in group]),
            "cpu": _spread([r["cpu_s"] for r in group]),
            "calls": dict(common),
            "calls_vary": len(calls) > 1,
            "cli_peak_kb": med("cli_peak_kb"),
            "host_peak_kb": med("host_peak_kb"),
            "host_processes": med("host_processes"),
            "state_bytes": med("state_bytes"),
        }
    return out


def _wall(
    stats: Mapping[tuple[str, int, str], Stats], name: str, n: int, op: str, metric: str = "wall"
) -> float | None:
    entry = stats.get((name, n, op))
    return entry[metric]["median"] if entry else None


def _cell(entry: Stats | None, metric: str = "wall") -> str:
    if not entry:
        return "—"
    spread = entry[metric]
    if entry["runs"] == 1:
        return seconds(spread["median"])
    low, high = seconds(spread["min"]), seconds(spread["max"])
    return f"{seconds(spread['median'])} ({low}–{high}, {entry['runs']} runs)"


def sizes_of(results: Mapping[str, Any]) -> list[int]:
    return sorted({r["n"] for r in results["runs"]})


def present(results: Mapping[str, Any]) -> list[str]:
    names = {r["contender"] for r in results["runs"]}
    return [c for c in CONTENDERS if c in names]


def _ops(results: Mapping[str, Any]) -> list[str]:
    seen = {r["op"] for r in results["runs"]}
    return [op for op in OPS if op in seen]


# --- Tables -------------------------------------------------------------------------------------


def wall_table(
    results: Mapping[str, Any], stats: Mapping[tuple[str, int, str], Stats], n: int, metric: str = "wall"
) -> str:
    """Wall (or CPU) time per operation at one N: each contender (median, spread), ours ÷ each baseline."""
    names = present(results)
    others = [c for c in names if c != "ours"]
    header = ["operation", *[LABELS[c] for c in names]]
    if "ours" in names:
        header += [f"ours ÷ {LABELS[c].split(' ')[0]}" for c in others]
    rows = []
    for op in _ops(results):
        row = [OP_LABELS[op], *[_cell(stats.get((c, n, op)), metric) for c in names]]
        if "ours" in names:
            ours = _wall(stats, "ours", n, op, metric)
            row += [ratio(ours, _wall(stats, c, n, op, metric)) for c in others]
        rows.append(row)
    return table(header, rows)


def calls_table(results: Mapping[str, Any], stats: Mapping[tuple[str, int, str], Stats]) -> str:
    names = [c for c in present(results) if c != "floor"]
    rows = []
    for n in sizes_of(results):
        for op in _ops(results):
            cells = []
            for c in names:
                entry = stats.get((c, n, op))
                text = calls_text(entry["calls"]) if entry else "—"
                cells.append(text + (" (varied)" if entry and entry["calls_vary"] else ""))
            rows.append([f"{n:,}", OP_LABELS[op], *cells])
    return table(["N", "operation", *[LABELS[c] for c in names]], rows)


def memory_table(results: Mapping[str, Any], stats: Mapping[tuple[str, int, str], Stats]) -> str:
    """Peak memory of the CLI and of the provider host, per contender, N and operation."""
    names = [c for c in present(results) if c != "script"]
    header = ["N", "operation"]
    for c in names:
        header += [f"{LABELS[c]}: CLI", f"{LABELS[c]}: host"]
    if "script" in present(results):
        header.append(f"{LABELS['script']}: process")
    rows = []
    for n in sizes_of(results):
        for op in _ops(results):
            row = [f"{n:,}", OP_LABELS[op]]
            for c in names:
                entry = stats.get((c, n, op))
                row += [
                    mib(entry["cli_peak_kb"]) if entry else "—",
                    mib(entry["host_peak_kb"]) if entry else "—",
                ]
            if "script" in present(results):
                entry = stats.get(("script", n, op))
                row.append(mib(entry["cli_peak_kb"]) if entry else "—")
            rows.append(row)
    return table(header, rows)


def state_table(results: Mapping[str, Any], stats: Mapping[tuple[str, int, str], Stats]) -> str:
    names = [c for c in present(results) if c != "script"]
    rows = []
    for n in sizes_of(results):
        row = [f"{n:,}"]
        for c in names:
            entry = stats.get((c, n, "create"))
            row.append(size_text(entry["state_bytes"]) if entry else "—")
        rows.append(row)
    return table(["N", *[f"{LABELS[c]}: state after create" for c in names]], rows)


def profile_table(results: Mapping[str, Any], stats: Mapping[tuple[str, int, str], Stats]) -> str:
    """Ours: where the wall time goes, API phase against the rest, CPU of the whole process tree."""
    rows = []
    for n in sizes_of(results):
        for op in _ops(results):
            entry = stats.get(("ours", n, op))
            if not entry:
                continue
            wall, api, cpu = entry["wall"]["median"], entry["api"]["median"], entry["cpu"]["median"]
            floor = _wall(stats, "floor", n, op)
            rows.append(
                [
                    f"{n:,}",
                    OP_LABELS[op],
                    seconds(wall),
                    seconds(api) if api else "0",
                    seconds(wall - api),
                    seconds(floor),
                    seconds(wall - api - floor) if floor is not None else "—",
                    seconds(cpu),
                    str(int(entry["host_processes"] or 0)),
                ]
            )
    header = [
        "N",
        "operation",
        "wall",
        "API phase",
        "wall − API",
        "floor's wall",
        "wall − API − floor",
        "CPU (tree)",
        "hosts",
    ]
    return table(header, rows)


# --- Targets ------------------------------------------------------------------------------------


def _target(
    stats: Mapping[tuple[str, int, str], Stats],
    text: str,
    *,
    a: tuple[str, int, str],
    b: tuple[str, int, str],
    ok: Callable[[float], bool],
    describe: Callable[[float], str],
) -> list[str]:
    wa, wb = _wall(stats, *a), _wall(stats, *b)
    if wa is None or wb is None:
        return [text, "not measured in this run", "—"]
    value = wa / wb
    measured = f"{seconds(wa)} vs {seconds(wb)}: {describe(value)}"
    return [text, measured, "met" if ok(value) else "**missed**"]


def targets(stats: Mapping[tuple[str, int, str], Stats]) -> list[list[str]]:
    """Issue 9's targets, each as [target, measured, verdict]; ratios from this run's medians."""
    rows = [
        _target(
            stats,
            "1,000-number create ≤ 1.3× the floor's `up`",
            a=("ours", 1000, "create"),
            b=("floor", 1000, "create"),
            ok=lambda v: v <= 1.3,
            describe=lambda v: f"{v:.2f}× the floor",
        ),
        _target(
            stats,
            "10,000-number no-change `up` ≤ 2× the floor's",
            a=("ours", 10000, "noop"),
            b=("floor", 10000, "noop"),
            ok=lambda v: v <= 2,
            describe=lambda v: f"{v:.2f}× the floor",
        ),
        _target(
            stats,
            "create of 100 ≥ 1.5× faster than one resource per number",
            a=("per_number", 100, "create"),
            b=("ours", 100, "create"),
            ok=lambda v: v >= 1.5,
            describe=lambda v: f"{v:.2f}× faster" if v >= 1 else f"{1 / v:.2f}× slower",
        ),
        _target(
            stats,
            "create of 1,000 ≥ 30× faster than one resource per number",
            a=("per_number", 1000, "create"),
            b=("ours", 1000, "create"),
            ok=lambda v: v >= 30,
            describe=lambda v: f"{v:.1f}× faster",
        ),
        _target(
            stats,
            "destroy of 1,000 no slower than the 4-thread script",
            a=("ours", 1000, "destroy"),
            b=("script", 1000, "destroy"),
            ok=lambda v: v <= 1,
            describe=lambda v: f"{v:.2f}× the script's time",
        ),
    ]
    previews = [
        sum(entry["calls"].values())
        for (c, _n, op), entry in stats.items()
        if c == "ours" and op == "preview"
    ]
    rows.append(
        [
            "previews make 0 API calls",
            f"{len(previews)} preview sizes of ours, {sum(previews)} calls in all"
            if previews
            else "not measured",
            ("met" if sum(previews) == 0 else "**missed**") if previews else "—",
        ]
    )
    return rows


def _load(meta: Mapping[str, Any]) -> str:
    """The machine's load during the run, when the run recorded it (runs before 2026-12-04 did not)."""
    load = meta.get("load_1min") or []
    if not load:
        return " (load not recorded)"
    return f" (1-minute load average {min(load):.1f}–{max(load):.1f} during the run)"


def conditions(results: Mapping[str, Any]) -> str:
    meta = results["meta"]
    plan = meta["plan"]
    return (
        f"{meta['date']}, commit {meta['commit']}{' (uncommitted changes)' if meta.get('dirty') else ''}, "
        f"Pulumi CLI {meta['pulumi_cli']} with {meta['language_host']}, Python {meta['python']}, "
        f"{meta['cpus']} CPUs{_load(meta)}; emulator latency "
        f"{meta['latency_ms']:g} ms per call; provider defaults: batch {meta['batch_size']}, concurrency "
        f"{meta['max_concurrency']}, {meta['requests_per_second']:g} requests/s; rounds: {plan['repeats']} "
        f"below N = 10,000, {plan['large_repeats']} at 10,000, (b) {plan['slow_repeats']} from 1,000; "
        f"whole run {meta.get('run_seconds', 0) / 60:.0f} min"
    )


def markdown(results: Mapping[str, Any], chart_name: str | None) -> str:
    stats = summarise(results["runs"])
    parts = ["# Benchmark results", "", conditions(results), ""]
    parts += [
        "Wall time: median of the rounds, (min–max, runs) when there was more than one. Ratios: "
        "ours ÷ the baseline's median (below 1: ours is faster).",
        "",
    ]
    for n in sizes_of(results):
        parts += [f"## N = {n:,}: wall time", "", wall_table(results, stats, n), ""]
    if chart_name:
        parts += [f"![wall time against N]({chart_name})", ""]
    parts += [
        "CPU time (user + system of the command's whole process tree) moves less than wall time when the "
        "machine is loaded by others:",
        "",
    ]
    for n in sizes_of(results):
        parts += [f"## N = {n:,}: CPU time", "", wall_table(results, stats, n, "cpu"), ""]
    parts += ["## API calls by action", "", calls_table(results, stats), ""]
    parts += [
        "## Peak memory (VmHWM): the CLI process and the provider host (largest of the operation's hosts)",
        "",
        memory_table(results, stats),
        "",
    ]
    parts += ["## State size (`pulumi stack export`)", "", state_table(results, stats), ""]
    if "ours" in present(results):
        parts += [
            "## Ours: where the time goes",
            "",
            API_PHASE.get(results["meta"].get("api_phase", "span"), "")
            + " CPU: user + system of the CLI and every process it reaped (language host, program, "
            "provider hosts).",
            "",
            profile_table(results, stats),
            "",
        ]
    parts += [
        "## Targets (issue 9)",
        "",
        table(["target", "measured", "verdict"], targets(stats)),
        "",
    ]
    return "\n".join(parts)


def draw_chart(results: Mapping[str, Any], path: Path) -> str | None:
    """Wall time against N for each operation, one line per contender; None without matplotlib."""
    try:
        import matplotlib  # noqa: PLC0415 - optional (the bench extra)

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt  # noqa: PLC0415
        from matplotlib.ticker import FuncFormatter, NullFormatter  # noqa: PLC0415
    except ImportError:
        return None
    stats = summarise(results["runs"])
    ops = _ops(results)
    colours = {"ours": "tab:blue", "floor": "tab:gray", "per_number": "tab:red", "script": "tab:green"}
    fig, axes = plt.subplots(2, 3, figsize=(14, 8.5), sharex=True)
    for ax, op in zip(axes.flat, ops, strict=False):
        for c in present(results):
            points = sorted((n, e) for (name, n, o), e in stats.items() if name == c and o == op)
            if not points:
                continue
            xs = [n for n, _ in points]
            mids = [e["wall"]["median"] for _, e in points]
            low = [m - e["wall"]["min"] for m, (_, e) in zip(mids, points, strict=True)]
            high = [e["wall"]["max"] - m for m, (_, e) in zip(mids, points, strict=True)]
            style = "--" if c == "floor" else "-"
            ax.errorbar(
                xs, mids, yerr=[low, high], fmt=style + "o", color=colours[c], label=LABELS[c], capsize=3
            )
        ax.set_title(OP_LABELS[op])
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.grid(True, which="both", alpha=0.3)
        # Plain seconds on the log axis ("40", not "4×10¹"); minor ticks unlabelled.
        ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _pos: f"{value:g}"))
        ax.yaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel("numbers (N)")
        ax.set_ylabel("wall time (s)")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=4, frameon=False)
    meta = results["meta"]
    fig.suptitle(
        f"pulumi-ccc-numbers through the real Pulumi CLI — emulator {meta['latency_ms']:g} ms/call, "
        f"commit {meta['commit']} (median, min–max bars)"
    )
    fig.tight_layout(rect=(0, 0.05, 1, 0.96))
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path.name


def write(results: dict[str, Any], out: Path, *, chart: bool = True) -> None:
    """bench.json, bench.md and (with ``chart``) bench.png in ``out``; prints the markdown."""
    name = draw_chart(results, out / "bench.png") if chart else None
    (out / "bench.json").write_text(json.dumps(results, indent=1) + "\n")
    text = markdown(results, name)
    (out / "bench.md").write_text(text)
    print(text)
    written = ["bench.json", "bench.md", *([name] if name else [])]
    print(f"wrote {', '.join(str(out / w) for w in written)}")
