"""Turns the benchmark's figures into ratios, target verdicts, a text table, a markdown page and a chart.

Owns presentation only: every number here comes from the results dict that ``bench.py`` assembles
(see ``bench.py`` for its shape). Verdicts compare measured figures with the targets of issue 5 and
say by how much one is missed; nothing here asserts, a missed target is a reported finding.
matplotlib is optional (the ``bench`` extra): without it the chart is skipped with a note.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

OP_LABELS = {
    "create": "create",
    "noop": "no-change up",
    "update_flow": "update: 1% contact flow",
    "update_add": "update: +1% numbers",
    "refresh": "refresh",
    "destroy": "destroy",
}
SHORT = {
    "ListPhoneNumbers": "List",
    "AddBulkPhoneNumbers": "AddBulk",
    "AddPhoneNumber": "Add",
    "ModifyPhoneNumber": "Modify",
    "RemovePhoneNumber": "Remove",
}
WRITE_ACTIONS = ("AddBulkPhoneNumbers", "AddPhoneNumber", "ModifyPhoneNumber", "RemovePhoneNumber")


def calls_text(calls: Mapping[str, int]) -> str:
    """``{"ListPhoneNumbers": 1, "AddBulkPhoneNumbers": 10}`` → ``1 List + 10 AddBulk``; ``0`` when empty."""
    order = list(SHORT)
    parts = [
        f"{calls[a]:,} {SHORT.get(a, a)}"
        for a in sorted(calls, key=lambda a: order.index(a) if a in order else 99)
        if calls[a]
    ]
    return " + ".join(parts) if parts else "0"


def seconds_text(value: float | None, measured: bool = True) -> str:
    if value is None:
        return "not run"
    text = f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s" if value < 100 else f"{value:.0f} s"
    return text if measured else f"~{text} (projected)"


def ratio_text(value: float | None) -> str:
    if value is None or math.isnan(value):
        return "—"
    if value >= 100:
        return f"{value:.0f}"
    return f"{value:.3g}"


def _index(runs: Iterable[Mapping[str, Any]]) -> dict[tuple[int, str], Mapping[str, Any]]:
    return {(r["n"], r["op"]): r for r in runs}


def total_calls(run: Mapping[str, Any] | None) -> int | None:
    if run is None:
        return None
    calls: Mapping[str, int] = run["calls"] if run["measured"] else run.get("projected_calls", {})
    return sum(calls.values())


def rows(results: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One row per (N, operation): ours, ours at concurrency 1, naive, and the ratios ours / naive."""
    ours = _index(results["runs"]["ours"])
    c1 = _index(results["runs"]["ours_c1"])
    naive = _index(results["runs"]["naive"])
    out = []
    for (n, op), run in ours.items():
        c1_run = c1.get((n, op))
        naive_run = naive.get((n, op))
        ours_calls = total_calls(run) or 0
        naive_calls = total_calls(naive_run)
        naive_wall = naive_run["wall_s"] if naive_run else None
        out.append(
            {
                "n": n,
                "op": op,
                "ours_calls": run["calls"],
                "ours_writes": sum(run["calls"].get(a, 0) for a in WRITE_ACTIONS),
                "ours_wall_s": run["wall_s"],
                "ours_api_s": run["api_s"],
                "ours_real_pass_s": run["passes"][-1]["seconds"] if run["passes"] else None,
                "preview_calls": sum(sum(p["calls"].values()) for p in run["passes"] if p["preview"]),
                "host_peak_mib": run["host_peak_kb"] / 1024 if run.get("host_peak_kb") else None,
                "c1_wall_s": c1_run["wall_s"] if c1_run else None,
                "c1_measured": c1_run["measured"] if c1_run else False,
                "c1_api_s": c1_run["api_s"] if c1_run and c1_run["measured"] else None,
                "naive_calls": naive_run["calls"]
                if naive_run and naive_run["measured"]
                else (naive_run or {}).get("projected_calls"),
                "naive_wall_s": naive_wall,
                "naive_measured": naive_run["measured"] if naive_run else False,
                "calls_ratio": ours_calls / naive_calls if naive_calls else None,
                # No call either way (a no-change up): nothing to compare.
                "wall_ratio": run["wall_s"] / naive_wall if naive_wall and naive_calls else None,
                "c1_speedup": c1_run["wall_s"] / run["wall_s"] if c1_run else None,
            }
        )
    return out


def _table(head: list[str], body: list[list[str]], markdown: bool) -> str:
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
        lines += ["| " + " | ".join(cells) + " |" for cells in body]
        return "\n".join(lines)
    widths = [max(len(h), *(len(r[i]) for r in body)) if body else len(h) for i, h in enumerate(head)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) for cells in body]
    return "\n".join(lines)


def main_table(results: Mapping[str, Any], *, markdown: bool = False) -> str:
    """The operations table: calls, wall time, host peak memory, and the ratios."""
    head = [
        "N",
        "operation",
        "ours: API calls",
        "ours: wall",
        "ours: API phase",
        "ours: host peak",
        "ours, concurrency 1: wall",
        "naive: API calls",
        "naive: wall",
        "calls ours/naive",
        "time ours/naive",
        "time c1/ours",
    ]
    body = []
    for r in rows(results):
        naive_calls = r["naive_calls"]
        body.append(
            [
                f"{r['n']:,}",
                OP_LABELS[r["op"]],
                calls_text(r["ours_calls"]),
                seconds_text(r["ours_wall_s"]),
                seconds_text(r["ours_api_s"]) if r["ours_api_s"] else "—",
                f"{r['host_peak_mib']:.0f} MiB" if r["host_peak_mib"] else "—",
                seconds_text(r["c1_wall_s"], r["c1_measured"]),
                (calls_text(naive_calls) if r["naive_measured"] else f"{calls_text(naive_calls)} (not run)")
                if naive_calls is not None
                else "not run",
                seconds_text(r["naive_wall_s"], r["naive_measured"]),
                ratio_text(r["calls_ratio"]),
                ratio_text(r["wall_ratio"])
                + ("" if r["naive_measured"] or r["wall_ratio"] is None else " (proj.)"),
                ratio_text(r["c1_speedup"])
                + ("" if r["c1_measured"] or r["c1_speedup"] is None else " (proj.)"),
            ]
        )
    return _table(head, body, markdown)


def micro_table(micro: list[Mapping[str, Any]], *, markdown: bool = False) -> str:
    head = [
        "N",
        "check",
        "diff (update)",
        "diff (no change)",
        "plan",
        "check+diff+plan",
        "per number",
        "check, list form",
        "peak memory",
        "per number",
    ]
    body = [
        [
            f"{m['n']:,}",
            f"{m['check_s'] * 1e3:.1f} ms",
            f"{m['diff_s'] * 1e3:.2f} ms",
            f"{m['diff_noop_s'] * 1e3:.2f} ms",
            f"{m['plan_s'] * 1e3:.1f} ms",
            f"{m['total_s'] * 1e3:.1f} ms",
            f"{m['us_per_number']:.2f} µs",
            f"{m['check_list_s'] * 1e3:.1f} ms",
            f"{m['peak_bytes'] / 2**20:.1f} MiB",
            f"{m['bytes_per_number']:.0f} B",
        ]
        for m in micro
    ]
    return _table(head, body, markdown)


def coldstart_table(cold: Mapping[str, Any], *, markdown: bool = False) -> str:
    head = ["provider", "port ready (median)", "first Check answered (median)", "min", "max", "runs"]
    body = [
        [
            name,
            f"{f['port_ready_median_s'] * 1e3:.0f} ms",
            f"{f['first_check_median_s'] * 1e3:.0f} ms",
            f"{f['first_check_min_s'] * 1e3:.0f} ms",
            f"{f['first_check_max_s'] * 1e3:.0f} ms",
            str(f["runs"]),
        ]
        for name, f in cold["starts"].items()
    ]
    return _table(head, body, markdown)


def importtime_lines(cold: Mapping[str, Any]) -> list[str]:
    lines = []
    for imp in cold["importtime"].values():
        largest = ", ".join(f"{name} {us / 1000:.0f} ms" for name, us in imp["largest_self_us"][:5])
        sdk = ", ".join(imp["sdk_modules_imported"]) or "none"
        lines.append(
            f"`python -X importtime`: `import {imp['module']}` adds {imp['cumulative_us'] / 1000:.0f} ms and "
            f"{imp['modules_added']} modules to what the host imports anyway"
            + (f" (self time: {largest})" if largest else "")
            + f"; Alibaba SDK modules among them: {sdk}."
        )
    return lines


# --- Targets -------------------------------------------------------------------------------------


def _verdict(ok: bool | None, miss: str = "") -> str:
    if ok is None:
        return "not measured"
    return "met" if ok else f"missed{': ' + miss if miss else ''}"


Target = dict[str, str]


def _target(target: str, measured: str, verdict: str) -> Target:
    return {"target": target, "measured": measured, "verdict": verdict}


def _writes(calls: Mapping[str, int]) -> int:
    return sum(calls.get(a, 0) for a in WRITE_ACTIONS)


def _call_targets(results: Mapping[str, Any]) -> list[Target]:
    """Create, no-change up, preview and update call counts."""
    batch = results["meta"]["batch_size"]
    ours = sorted(_index(results["runs"]["ours"]).items())
    out = []
    creates = [(n, r) for (n, op), r in ours if op == "create"]
    ok = all(
        dict(r["calls"]) == {"ListPhoneNumbers": 1, "AddBulkPhoneNumbers": math.ceil(n / batch)}
        for n, r in creates
    )
    out.append(
        _target(
            f"Create of N numbers, one settings group: 1 ListPhoneNumbers + ceil(N/{batch}) "
            "AddBulkPhoneNumbers, no other write",
            "; ".join(f"N={n:,}: {calls_text(r['calls'])}" for n, r in creates),
            _verdict(ok if creates else None),
        )
    )
    noops = [(n, r) for (n, op), r in ours if op == "noop"]
    out.append(
        _target(
            "No-change up: 0 write calls",
            "; ".join(f"N={n:,}: {calls_text(r['calls'])}" for n, r in noops),
            _verdict(all(_writes(r["calls"]) == 0 for _, r in noops) if noops else None),
        )
    )
    previews = [
        sum(p["calls"].values()) for _, r in ours if r["op"] != "refresh" for p in r["passes"] if p["preview"]
    ]
    out.append(
        _target(
            "Preview: 0 API calls",
            f"{len(previews)} preview passes (of every up and destroy), {sum(previews)} API calls in all",
            _verdict(sum(previews) == 0 if previews else None, f"{sum(previews)} calls"),
        )
    )
    figures, ok = [], True
    for op in ("update_flow", "update_add"):
        for (n, run_op), run in ours:
            if run_op != op:
                continue
            k = run["k"]
            bound = k if op == "update_flow" else math.ceil(k / batch)
            ok = ok and run["calls"].get("ListPhoneNumbers", 0) == 1 and _writes(run["calls"]) <= bound
            figures.append(f"{OP_LABELS[op]}, N={n:,} k={k}: {calls_text(run['calls'])}")
    out.append(
        _target(
            "Update changing k of N numbers: writes proportional to k, exactly 1 listing",
            "; ".join(figures),
            _verdict(ok if figures else None),
        )
    )
    return out


def _refresh_target(results: Mapping[str, Any]) -> Target:
    many = results.get("refresh_many")
    if not many:
        return _target("Refresh of 50 bindings: ≤ 2 ListPhoneNumbers per process", "not run", "not measured")
    per_pass = [p["list_calls"] for p in many["sequential_refresh"]["passes"]]
    conc = many["concurrent_reads"]["list_calls"]
    worst = max([*per_pass, conc])
    return _target(
        f"Refresh of {many['bindings']} bindings in one instance, one provider process: ≤ 2 ListPhoneNumbers",
        f"`pulumi refresh` (Reads in sequence): {' / '.join(map(str, per_pass))} per process (preview / "
        f"real pass); {many['concurrent_reads']['reads']} concurrent Reads in one host: {conc}",
        _verdict(worst <= 2, f"{worst} listings, {worst - 2} over"),
    )


def _speed_targets(results: Mapping[str, Any]) -> list[Target]:
    """Create of 1,000 at 50 ms: against naive and against concurrency 1."""
    meta = results["meta"]
    row = {(r["n"], r["op"]): r for r in rows(results)}.get((1000, "create"))
    if not row or meta["latency_ms"] != 50:
        why = "N=1,000 not run" if not row else f"latency was {meta['latency_ms']:g} ms, not 50 ms"
        return [
            _target("Create of 1,000 numbers at 50 ms: ≥ 100× naive, ≥ 2× concurrency 1", why, "not measured")
        ]
    ours_s, naive_s, c1_s, api_s = (
        row["ours_wall_s"],
        row["naive_wall_s"],
        row["c1_wall_s"],
        row["ours_api_s"],
    )
    out = []
    if naive_s:
        speed = naive_s / ours_s
        api = (
            f"; API phase alone (ours: first call in to last answer out): {naive_s / api_s:.0f}×"
            if api_s
            else ""
        )
        out.append(
            _target(
                "Create of 1,000 numbers at 50 ms: ≥ 100× faster than the naive way",
                f"ours {seconds_text(ours_s)} (whole `up`: preview and real pass, two host starts), naive "
                f"{seconds_text(naive_s, row['naive_measured'])}: {speed:.0f}× faster{api}",
                _verdict(speed >= 100, f"{speed:.0f}× of 100× ({100 / speed:.1f}× short)"),
            )
        )
    if c1_s:
        speed = c1_s / ours_s
        c1_api = row["c1_api_s"]
        api = f"; API phase alone: {c1_api / api_s:.2f}×" if c1_api and api_s else ""
        out.append(
            _target(
                "Create of 1,000 numbers at 50 ms: ≥ 2× faster than ours at concurrency 1",
                f"concurrency 1 {seconds_text(c1_s)} vs default {seconds_text(ours_s)}: {speed:.2f}×{api}",
                _verdict(speed >= 2, f"{speed:.2f}× of 2× ({2 / speed:.2f}× short)"),
            )
        )
    return out


def _cpu_targets(results: Mapping[str, Any]) -> list[Target]:
    micro = {m["n"]: m for m in results.get("micro") or []}
    out = []
    if 10_000 in micro:
        us = micro[10_000]["us_per_number"]
        out.append(
            _target(
                "Check + diff + plan: < 10 µs per number at 10,000",
                f"{us:.2f} µs per number",
                _verdict(us < 10, f"{us - 10:.2f} µs over"),
            )
        )
    else:
        out.append(_target("Check + diff + plan: < 10 µs per number at 10,000", "not run", "not measured"))
    if len(micro) >= 2:
        per = [m["bytes_per_number"] for m in micro.values()]
        spread = max(per) / min(per)
        out.append(
            _target(
                "Check + diff + plan: memory linear in N",
                ", ".join(f"N={n:,}: {m['bytes_per_number']:.0f} B/number" for n, m in micro.items())
                + f" (max/min {spread:.2f})",
                _verdict(spread <= 1.5, f"bytes per number vary {spread:.2f}×"),
            )
        )
    return out


def _coldstart_targets(results: Mapping[str, Any]) -> list[Target]:
    cold = results.get("coldstart")
    if not cold:
        return [
            _target("Provider host cold start within 1.5× of a trivial provider's", "not run", "not measured")
        ]
    ratio = cold["ratio"]
    ours_ms = cold["starts"]["PhoneNumberBinding"]["first_check_median_s"] * 1e3
    trivial_ms = cold["starts"]["trivial provider"]["first_check_median_s"] * 1e3
    sdk = cold["importtime"]["ccc_numbers"]["sdk_modules_imported"]
    return [
        _target(
            "Provider host cold start within 1.5× of a trivial dynamic provider's",
            f"{ours_ms:.0f} ms vs {trivial_ms:.0f} ms to the first Check (medians): {ratio:.2f}×",
            _verdict(ratio <= 1.5, f"{ratio:.2f}×, {ours_ms - 1.5 * trivial_ms:.0f} ms over the 1.5× line"),
        ),
        _target(
            "Check and diff do not import the Alibaba SDK",
            f"`-X importtime` of `import ccc_numbers`: SDK modules {', '.join(sdk) or 'none'}; "
            "tests/unit/test_imports.py checks sys.modules after check and diff",
            _verdict(not sdk, ", ".join(sdk)),
        ),
    ]


def targets(results: Mapping[str, Any]) -> list[Target]:
    """Each target of issue 5 with the measured figure and a verdict (met / missed by how much)."""
    return [
        *_call_targets(results),
        _refresh_target(results),
        *_speed_targets(results),
        *_cpu_targets(results),
        *_coldstart_targets(results),
    ]


def targets_table(results: Mapping[str, Any], *, markdown: bool = False) -> str:
    body = [[t["target"], t["measured"], t["verdict"]] for t in targets(results)]
    return _table(["target", "measured", "verdict"], body, markdown)


# --- Markdown and chart --------------------------------------------------------------------------


def conditions(results: Mapping[str, Any]) -> str:
    meta = results["meta"]
    return (
        f"{meta['date']}, commit {meta['commit']}, Python {meta['python']}, {meta['cpus']} CPUs; emulator "
        f"latency {meta['latency_ms']:g} ms per call; provider defaults: batch size {meta['batch_size']}, "
        f"max concurrency {meta['max_concurrency']}, {meta['requests_per_second']:g} requests/s; naive "
        f"run up to N = {meta['naive_max']:,}; whole run {meta['run_seconds']:.0f} s"
    )


def markdown(results: Mapping[str, Any], chart_name: str | None) -> str:
    """The results page (benchmarks/results/bench.md)."""
    parts = [
        "# Benchmark results",
        "",
        conditions(results),
        "",
        "## Operations (through the provider host, driven as the engine drives it)",
        "",
        main_table(results, markdown=True),
        "",
    ]
    if chart_name:
        parts += [f"![calls and wall time against N]({chart_name})", ""]
    many = results.get("refresh_many")
    if many:
        seq = many["sequential_refresh"]
        conc = many["concurrent_reads"]
        parts += [
            f"## Refresh of {many['bindings']} bindings in one instance",
            "",
            f"- `pulumi refresh` through the driver (Reads in sequence, one host per pass): "
            f"{' / '.join(str(p['list_calls']) for p in seq['passes'])} ListPhoneNumbers per process "
            f"(preview / real pass), {seconds_text(seq['wall_s'])}.",
            f"- {conc['reads']} Read requests sent concurrently to one host: {conc['list_calls']} "
            f"ListPhoneNumbers ({calls_text(conc['calls'])}), {seconds_text(conc['wall_s'])}.",
            "",
        ]
    if results.get("micro"):
        parts += [
            "## Check + diff + plan, in process (no I/O)",
            "",
            micro_table(results["micro"], markdown=True),
            "",
        ]
    if results.get("coldstart"):
        parts += [
            "## Provider host cold start",
            "",
            coldstart_table(results["coldstart"], markdown=True),
            "",
            *[f"- {line}" for line in importtime_lines(results["coldstart"])],
            "",
        ]
    parts += ["## Targets", "", targets_table(results, markdown=True), ""]
    return "\n".join(parts)


def chart(results: Mapping[str, Any], path: Path) -> str | None:
    """Calls and wall time against N: ours, ours at concurrency 1, naive. None without matplotlib."""
    try:
        import matplotlib  # noqa: PLC0415 - optional dependency (the bench extra)

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt  # noqa: PLC0415
    except ImportError:
        return None
    ops = ["create", "update_flow", "refresh", "destroy"]
    data = rows(results)
    fig, axes = plt.subplots(2, len(ops), figsize=(4.2 * len(ops), 7.5), sharex=True)
    series = [
        ("ours", "ours_calls", "ours_wall_s", None, "tab:blue", "o", "-"),
        ("ours, concurrency 1", "ours_calls", "c1_wall_s", "c1_measured", "tab:green", "s", "-."),
        (
            "naive (1 call per number, in sequence; API time only)",
            "naive_calls",
            "naive_wall_s",
            "naive_measured",
            "tab:red",
            "^",
            "--",
        ),
    ]
    for col, op in enumerate(ops):
        op_rows = sorted((r for r in data if r["op"] == op), key=lambda r: r["n"])
        api = [(r["n"], r["ours_api_s"]) for r in op_rows if r["ours_api_s"]]
        if api:
            axes[1][col].plot(
                [a[0] for a in api],
                [a[1] for a in api],
                ":",
                color="tab:blue",
                alpha=0.6,
                linewidth=1.5,
                label="ours: API phase only (first call in to last answer out)",
            )
        for label, calls_key, wall_key, measured_key, color, marker, style in series:
            for row_index, value_of in (
                (0, lambda r, k=calls_key: total_of(r[k])),
                (1, lambda r, k=wall_key: r[k]),
            ):
                if row_index == 0 and label.startswith("ours, concurrency"):
                    continue  # concurrency changes no call count: the line would sit on ours
                ax = axes[row_index][col]
                points = [(r["n"], value_of(r), measured_key is None or r[measured_key]) for r in op_rows]
                points = [p for p in points if p[1] is not None and p[1] > 0]
                if not points:
                    continue
                xs = [p[0] for p in points]
                ys = [p[1] for p in points]
                ax.plot(xs, ys, style, color=color, label=label, linewidth=1.5)
                meas = [p for p in points if p[2]]
                proj = [p for p in points if not p[2]]
                ax.scatter([p[0] for p in meas], [p[1] for p in meas], color=color, marker=marker, zorder=3)
                if proj:
                    ax.scatter(
                        [p[0] for p in proj],
                        [p[1] for p in proj],
                        facecolors="none",
                        edgecolors=color,
                        marker=marker,
                        zorder=3,
                        label=f"{label.split(' (')[0]}: projected, not run",
                    )
        axes[0][col].set_title(OP_LABELS[op])
        for row_index in (0, 1):
            ax = axes[row_index][col]
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.grid(True, which="both", alpha=0.3)
        axes[1][col].set_xlabel("numbers (N)")
    axes[0][0].set_ylabel("API calls")
    axes[1][0].set_ylabel("wall time (s)")
    handles: dict[str, Any] = {}
    for ax in axes.flat:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(label, handle)
    fig.legend(list(handles.values()), list(handles.keys()), loc="lower center", ncol=4, frameon=False)
    meta = results["meta"]
    fig.suptitle(
        f"pulumi-ccc-numbers vs one call per number — emulator latency {meta['latency_ms']:g} ms/call"
    )
    fig.tight_layout(rect=(0, 0.06, 1, 0.96))
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path.name


def total_of(calls: Mapping[str, int] | None) -> int | None:
    return sum(calls.values()) if calls is not None else None
