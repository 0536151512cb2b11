"""CPU micro-benchmark: check + diff + plan of one binding, in process, no I/O.

The work of a 1% contact-flow update of ``N`` numbers, hook by hook as the provider host runs it:

* **check**: ``PhoneNumberBindingProvider.check(olds, news)`` with ``news`` in the mapping form (1% of
  the numbers override the contact flow), plus the list form (``check_list``, reported apart: it is
  what a create or an unchanged ``up`` checks);
* **diff**: ``PhoneNumberBindingProvider.diff(id, olds, news)`` with ``olds`` the previous outputs
  (canonical inputs + ``phone_number_ids``, decoded from JSON so that no object
  is shared with ``news``, as after the gRPC round trip); an update's diff can stop at the first
  changed number, so the diff of a no-change ``up``, which compares every number, is reported too
  (``diff_noop``);
* **plan**: ``spec_from_canonical(news)`` then ``compute_plan(live, desired, owned)`` against a live
  listing of the ``N`` numbers (building the listing is the client's work and is left out).

Timing: the median of several runs per size (``time.perf_counter``, garbage collector on, as in the
host). Memory: the peak of ``tracemalloc`` over one check + diff + plan, measured in a separate run
(tracing slows the code down) and counted from after the inputs were built.

Run alone: ``python benchmarks/micro.py [--sizes 1000,10000,100000]``; ``bench.py`` runs it too.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from pulumi.dynamic.dynamic import serialize_provider

from ccc_numbers.binding import PhoneNumberBindingProvider
from ccc_numbers.models import Settings, Usage, spec_from_canonical
from ccc_numbers.plan import Limits, LiveNumber, compute_plan

INSTANCE_ID = "be4c0000-0000-4000-8000-00000000be4c"
FLOW_A = "bench_FlowA001"
FLOW_B = "bench_FlowB002"
DEFAULT_SIZES = (1_000, 10_000, 100_000)


def _number(index: int) -> str:
    return f"0571{index:07d}"


@dataclass
class MicroResult:
    """One size: median seconds per phase, per-number microseconds, and traced peak memory."""

    n: int
    runs: int
    check_s: float
    check_list_s: float
    diff_s: float
    diff_noop_s: float
    plan_s: float
    total_s: float
    us_per_number: float
    peak_bytes: int
    bytes_per_number: float
    plan_summary: str


class _Case:
    """The inputs of one size, built once: the goal, the previous outputs and the live listing."""

    def __init__(self, n: int) -> None:
        self.n = n
        # The string the host receives in every request: the provider pickled by reference.
        pickle = serialize_provider(PhoneNumberBindingProvider())
        numbers = [_number(i) for i in range(n)]
        k = max(1, round(n / 100))
        changed = set(numbers[:: max(1, n // k)][:k])
        self.news_mapping: dict[str, Any] = {
            "instance_id": INSTANCE_ID,
            "usage": "Bidirection",
            "contact_flow_id": FLOW_A,
            "numbers": {num: ({"contact_flow_id": FLOW_B} if num in changed else {}) for num in numbers},
            "__provider": pickle,
        }
        self.news_list: dict[str, Any] = {
            "instance_id": INSTANCE_ID,
            "usage": "Bidirection",
            "contact_flow_id": FLOW_A,
            "numbers": list(numbers),
            "__provider": pickle,
        }
        pids = {num: f"pid-{i:08d}-0000-4000-8000-000000000000" for i, num in enumerate(numbers)}
        outputs = {
            "adopt_existing": False,
            "instance_id": INSTANCE_ID,
            "numbers": {
                num: {"contact_flow_id": FLOW_A, "skill_group_ids": [], "usage": "Bidirection"}
                for num in numbers
            },
            "phone_number_ids": pids,
            "__provider": pickle,
        }
        # Through JSON, as the host gets them from the wire: no object shared with the goal.
        self.olds: dict[str, Any] = json.loads(json.dumps(outputs))
        self.old_inputs: dict[str, Any] = json.loads(
            json.dumps({k: outputs[k] for k in ("adopt_existing", "instance_id", "numbers")})
        )
        current = Settings(Usage.BIDIRECTION, FLOW_A, ())
        self.live = {num: LiveNumber(num, pids[num], current) for num in numbers}
        self.owned = frozenset(numbers)
        self.provider = PhoneNumberBindingProvider()
        # A no-change up: the checked goal equals the stored outputs, so diff compares every number.
        unchanged = self.provider.check({}, self.news_list)
        self.unchanged_inputs: dict[str, Any] = dict(unchanged.inputs)


def _one_pass(case: _Case) -> tuple[float, float, float, str]:
    """check, diff, plan once; seconds of each phase and the plan summary."""
    provider = case.provider
    t0 = time.perf_counter()
    checked = provider.check(case.old_inputs, case.news_mapping)
    t1 = time.perf_counter()
    if checked.failures:
        raise RuntimeError(f"check failed: {checked.failures[:3]}")
    diff = provider.diff("id", case.olds, checked.inputs)
    t2 = time.perf_counter()
    if diff.changes is False:
        raise RuntimeError("diff saw no change in a 1% update")
    spec = spec_from_canonical(checked.inputs)
    plan = compute_plan(case.live, spec.numbers, case.owned, Limits(100))
    t3 = time.perf_counter()
    return t1 - t0, t2 - t1, t3 - t2, plan.summary


def _timed(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def measure(n: int, runs: int | None = None) -> MicroResult:
    """Median time per phase over ``runs`` runs, then the traced peak memory of one more."""
    case = _Case(n)
    runs = runs if runs is not None else max(3, min(15, 100_000 // n))
    _one_pass(case)  # warm-up: caches, first-call costs
    checks, diffs, plans, lists, noops = [], [], [], [], []
    summary = ""
    for _ in range(runs):
        gc.collect()
        c, d, p, summary = _one_pass(case)
        checks.append(c)
        diffs.append(d)
        plans.append(p)
        gc.collect()
        lists.append(_timed(lambda: case.provider.check({}, case.news_list)))
        noops.append(_timed(lambda: case.provider.diff("id", case.olds, case.unchanged_inputs)))
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    tracemalloc.reset_peak()
    _one_pass(case)
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    check_s, diff_s, plan_s = (statistics.median(x) for x in (checks, diffs, plans))
    total = check_s + diff_s + plan_s
    return MicroResult(
        n=n,
        runs=runs,
        check_s=check_s,
        check_list_s=statistics.median(lists),
        diff_s=diff_s,
        diff_noop_s=statistics.median(noops),
        plan_s=plan_s,
        total_s=total,
        us_per_number=total / n * 1e6,
        peak_bytes=peak,
        bytes_per_number=peak / n,
        plan_summary=summary,
    )


def run(sizes: tuple[int, ...] = DEFAULT_SIZES) -> list[dict[str, Any]]:
    """Every size, smallest first, as plain dicts."""
    return [asdict(measure(n)) for n in sizes]


def table(results: list[dict[str, Any]]) -> str:
    """A plain-text table of the results."""
    head = (
        f"{'N':>8} {'check':>9} {'diff':>9} {'diff noop':>9} {'plan':>9} {'total':>9} {'µs/number':>10} "
        f"{'check list':>10} {'peak MiB':>9} {'B/number':>9}  plan"
    )
    lines = [head]
    for r in results:
        lines.append(
            f"{r['n']:>8,} {r['check_s'] * 1e3:>7.1f}ms {r['diff_s'] * 1e3:>7.2f}ms "
            f"{r['diff_noop_s'] * 1e3:>7.2f}ms {r['plan_s'] * 1e3:>7.1f}ms "
            f"{r['total_s'] * 1e3:>7.1f}ms {r['us_per_number']:>10.2f} {r['check_list_s'] * 1e3:>8.1f}ms "
            f"{r['peak_bytes'] / 2**20:>9.1f} {r['bytes_per_number']:>9.0f}  {r['plan_summary']}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", default=",".join(map(str, DEFAULT_SIZES)), help="comma-separated N")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args()
    results = run(tuple(int(s) for s in args.sizes.split(",")))
    print(json.dumps(results, indent=2) if args.json else table(results))


if __name__ == "__main__":
    main()
