"""Benchmark harness: the emulator with latency, metered provider hosts, our provider's runs, the naive runs.

Owns what the benchmark measures and how: a seed big enough for every size, an emulator whose request
handler is timed, a :class:`MeteredHost` (the engine driver's provider host plus its peak memory, its
RPC times and the API calls made while it lived), the operation sequence run through the engine
driver (:func:`run_ours`) and the same work done one call per number (:func:`run_naive`). Must not
assert timings or print: ``bench.py`` reports, this module only measures.

The engine driver lives in ``tests/engine`` and is used unchanged: the metered host is installed by
replacing the name ``ProviderHost`` in ``engine.stack`` (where each pass looks it up) for the
duration of a run, so nothing in ``tests/engine`` had to change.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO / "tests") not in sys.path:
    sys.path.insert(0, str(REPO / "tests"))

from engine import Stack  # noqa: E402
from engine import stack as engine_stack  # noqa: E402
from engine.driver import ProviderHost  # noqa: E402

from ccc_emulator import Emulator, demo  # noqa: E402

__all__ = [
    "BENCH_INSTANCE_ID",
    "FLOW_A",
    "FLOW_B",
    "REPO",
    "WRITE_ACTIONS",
    "BenchEmulator",
    "HostRecord",
    "MeteredHost",
    "OpResult",
    "ProviderHost",
    "Stack",
    "bench_number",
    "bench_seed",
    "k_for",
    "metered",
    "project_dir",
    "run_naive",
    "run_ours",
    "run_refresh_many",
    "stack_config",
]

BENCH_INSTANCE_ID = "be4c0000-0000-4000-8000-00000000be4c"
FLOW_A = "bench_FlowA001"
FLOW_B = "bench_FlowB002"
USAGE = "Bidirection"
WRITE_ACTIONS = ("AddBulkPhoneNumbers", "AddPhoneNumber", "ModifyPhoneNumber", "RemovePhoneNumber")
#: The name every benchmark stack gives its one binding.
RESOURCE_NAME = "numbers"


def bench_number(index: int) -> str:
    """The benchmark's purchased number with this index: ``0571`` + seven digits (Hangzhou landlines)."""
    return f"0571{index:07d}"


def k_for(n: int) -> int:
    """How many numbers "1%" of ``n`` is: at least one."""
    return max(1, round(n / 100))


def bench_seed(max_n: int) -> dict[str, Any]:
    """A seed in ``demo_seed()``'s shape with one instance and enough unbound numbers for ``max_n`` + 1%."""
    count = max_n + k_for(max_n) + 10
    return {
        "access_keys": [{"id": demo.DEMO_ACCESS_KEY_ID, "secret": demo.DEMO_ACCESS_KEY_SECRET}],
        "instances": [
            {
                "id": BENCH_INSTANCE_ID,
                "contact_flows": [
                    {"id": FLOW_A, "name": "Bench main", "description": "main", "type": "Mainflow"},
                    {"id": FLOW_B, "name": "Bench alternate", "description": "alternate", "type": "Mainflow"},
                ],
                "skill_groups": [{"id": "be4c5k11-0000-4000-8000-000000000001", "name": "Bench"}],
            }
        ],
        "numbers": [
            {"number": bench_number(i), "trunks": 1, "description": "Bench Telecom"} for i in range(count)
        ],
    }


# --- The emulator, timed --------------------------------------------------------------------------


class BenchEmulator:
    """An :class:`Emulator` with per-call latency whose API handler records when each request ran."""

    def __init__(self, seed: Mapping[str, Any], latency_ms: float, max_batch_size: int = 100) -> None:
        self.seed = seed
        self.emu = Emulator(seed=seed, latency_ms=latency_ms, max_batch_size=max_batch_size)
        self.spans: list[tuple[float, float]] = []
        self._lock = threading.Lock()
        pipeline = self.emu.pipeline
        original = pipeline.handle

        async def timed(request: Any) -> Any:
            started = time.perf_counter()
            try:
                return await original(request)
            finally:
                ended = time.perf_counter()
                with self._lock:
                    self.spans.append((started, ended))

        # start() routes to ``pipeline.handle`` as it is then, so the instance attribute wins.
        setattr(pipeline, "handle", timed)  # noqa: B010 - assigning to a method name on purpose

    def __enter__(self) -> BenchEmulator:
        self.emu.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.emu.close()

    def reset(self) -> None:
        """Back to the seed: state, journal and faults; timing spans cleared."""
        self.emu.reset(self.seed)
        self.clear()

    def clear(self) -> None:
        self.emu.clear_journal()
        with self._lock:
            self.spans.clear()

    def calls_since(self, start: int) -> Counter[str]:
        """API calls by action recorded after the first ``start`` journal entries."""
        return Counter(entry.action for entry in self.emu.journal[start:])

    def span_between(self, t0: float, t1: float) -> float:
        """Seconds from the first API request that started in [t0, t1] to the last one's end (0: none)."""
        with self._lock:
            inside = [s for s in self.spans if t0 <= s[0] <= t1]
        if not inside:
            return 0.0
        return max(end for _, end in inside) - min(start for start, _ in inside)


# --- The metered provider host ------------------------------------------------------------------


@dataclass
class HostRecord:
    """One provider host process: when it lived, its peak memory, its RPC times and its API calls."""

    pid: int
    started: float
    ready: float = 0.0
    closed: float = 0.0
    vm_hwm_kb: int | None = None
    rpc_seconds: dict[str, float] = field(default_factory=dict)
    journal_start: int = 0
    journal_end: int = 0
    calls: dict[str, int] = field(default_factory=dict)


def vm_hwm_kb(pid: int) -> int | None:
    """The peak resident set size (``VmHWM``) of a live process, in kB; None once it has exited."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return None


class MeteredHost(ProviderHost):
    """The driver's provider host, also recording VmHWM just before it stops, RPC times and API calls."""

    #: The run's emulator and the records of every host started while :func:`metered` is active.
    emulator: BenchEmulator | None = None
    records: list[HostRecord] = []  # noqa: RUF012 - one shared registry per run, reset by metered()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        started = time.perf_counter()
        journal_start = self.emulator.emu.calls() if self.emulator else 0
        super().__init__(*args, **kwargs)
        self.record = HostRecord(self.pid, started, ready=time.perf_counter(), journal_start=journal_start)
        MeteredHost.records.append(self.record)

    def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return super().call(method, *args, **kwargs)
        finally:
            spent = time.perf_counter() - started
            self.record.rpc_seconds[method] = self.record.rpc_seconds.get(method, 0.0) + spent

    def close(self) -> None:
        record = getattr(self, "record", None)
        if record is not None and not record.closed:
            record.vm_hwm_kb = vm_hwm_kb(self.pid)
            record.closed = time.perf_counter()
            if self.emulator is not None:
                record.journal_end = self.emulator.emu.calls()
                entries = self.emulator.emu.journal[record.journal_start : record.journal_end]
                record.calls = dict(Counter(entry.action for entry in entries))
        super().close()


@contextlib.contextmanager
def metered(emulator: BenchEmulator) -> Iterator[list[HostRecord]]:
    """Within the block, every pass of every Stack starts a :class:`MeteredHost`; yields their records."""
    previous = engine_stack.ProviderHost  # type: ignore[attr-defined]
    MeteredHost.emulator = emulator
    MeteredHost.records = []
    engine_stack.ProviderHost = MeteredHost  # type: ignore[attr-defined]
    try:
        yield MeteredHost.records
    finally:
        engine_stack.ProviderHost = previous  # type: ignore[attr-defined]
        MeteredHost.emulator = None


# --- Our provider through the engine driver -----------------------------------------------------


@contextlib.contextmanager
def project_dir() -> Iterator[Path]:
    """A throwaway Pulumi project directory (the hosts' cwd)."""
    with tempfile.TemporaryDirectory(prefix="ccc-bench-") as tmp:
        path = Path(tmp)
        (path / "Pulumi.yaml").write_text("name: ccc-bench\nruntime: python\n")
        yield path


def stack_config(
    url: str, *, max_concurrency: int | None = None, batch_size: int | None = None
) -> dict[str, Any]:
    """The ``ccc:`` stack config for the emulator at ``url``; unset knobs keep the provider's defaults."""
    cfg: dict[str, Any] = {
        "ccc:endpoint": url,
        "ccc:accessKeyId": demo.DEMO_ACCESS_KEY_ID,
        "ccc:accessKeySecret": demo.DEMO_ACCESS_KEY_SECRET,
    }
    if max_concurrency is not None:
        cfg["ccc:maxConcurrency"] = str(max_concurrency)
    if batch_size is not None:
        cfg["ccc:batchSize"] = str(batch_size)
    return cfg


def binding_program(numbers: Sequence[str], flow_overrides: Mapping[str, str]) -> Callable[[], None]:
    """A program declaring one binding of ``numbers`` with FLOW_A, except the overridden numbers."""

    def program() -> None:
        from ccc_numbers import PhoneNumberBinding  # noqa: PLC0415 - imported where the program runs

        declared: Any
        if flow_overrides:
            declared = {
                n: ({"contact_flow_id": flow_overrides[n]} if n in flow_overrides else {}) for n in numbers
            }
        else:
            declared = list(numbers)
        PhoneNumberBinding(
            RESOURCE_NAME,
            instance_id=BENCH_INSTANCE_ID,
            numbers=declared,
            usage=USAGE,
            contact_flow_id=FLOW_A,
        )

    return program


@dataclass
class PassResult:
    """One engine pass of an operation: preview or real, its host's figures."""

    preview: bool
    seconds: float
    calls: dict[str, int]
    vm_hwm_kb: int | None
    rpc_seconds: dict[str, float]
    api_seconds: float


@dataclass
class OpResult:
    """One operation as measured: API calls by action, wall time, provider host peak memory."""

    op: str
    n: int
    k: int
    wall_s: float
    calls: dict[str, int]
    api_s: float
    host_peak_kb: int | None = None
    passes: list[PassResult] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)
    measured: bool = True
    note: str = ""
    #: For a projected (not run) operation: the calls it would make.
    projected_calls: dict[str, int] = field(default_factory=dict)

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())

    @property
    def write_calls(self) -> int:
        return sum(self.calls.get(a, 0) for a in WRITE_ACTIONS)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["total_calls"] = self.total_calls
        data["write_calls"] = self.write_calls
        return data


OPS = ("create", "noop", "update_flow", "update_add", "refresh", "destroy")


def _op_result(
    op: str, n: int, k: int, result: Any, *, emulator: BenchEmulator, records: list[HostRecord], first: int
) -> OpResult:
    passes: list[PassResult] = []
    by_pid = {r.pid: r for r in records[first:]}
    total: Counter[str] = Counter()
    for record in result.passes:
        hosts = [by_pid[pid] for pid in record.host_pids if pid in by_pid]
        calls: Counter[str] = Counter()
        rpc: Counter[str] = Counter()
        api = 0.0
        for host in hosts:
            calls.update(host.calls)
            rpc.update(host.rpc_seconds)
            api += emulator.span_between(host.started, host.closed)
        peaks = [h.vm_hwm_kb for h in hosts if h.vm_hwm_kb is not None]
        passes.append(
            PassResult(
                record.preview, record.seconds, dict(calls), max(peaks) if peaks else None, dict(rpc), api
            )
        )
        total.update(calls)
    peaks = [p.vm_hwm_kb for p in passes if p.vm_hwm_kb is not None]
    return OpResult(
        op=op,
        n=n,
        k=k,
        wall_s=result.seconds,
        calls=dict(sorted(total.items())),
        api_s=sum(p.api_seconds for p in passes),
        host_peak_kb=max(peaks) if peaks else None,
        passes=passes,
        steps=[f"{s.op} {s.name}" for s in result.steps],
    )


def _expect(condition: bool, what: str) -> None:
    # A correctness guard on the work itself (never on timings): a benchmark of wrong work is worthless.
    if not condition:
        raise RuntimeError(f"benchmark sanity check failed: {what}")


def run_ours(
    emulator: BenchEmulator,
    n: int,
    *,
    max_concurrency: int | None = None,
    skip: Sequence[str] = (),
    progress: Callable[[str], None] = lambda _msg: None,
) -> list[OpResult]:
    """create, no-change up, 1% contact-flow update, 1% add, refresh, destroy of ``n`` numbers.

    Each ``up`` is a preview pass plus a real pass with a fresh host each, as ``pulumi up`` does.
    Operations named in ``skip`` are left out (destroy then leaves the numbers bound; the caller
    resets the emulator before the next run anyway).
    """
    k = k_for(n)
    numbers = [bench_number(i) for i in range(n)]
    changed = {numbers[i]: FLOW_B for i in range(0, n, max(1, n // k))[:k]}
    added = numbers + [bench_number(n + i) for i in range(k)]
    emulator.reset()
    results: list[OpResult] = []
    with project_dir() as project, metered(emulator) as records:
        stack = Stack(
            project,
            binding_program(numbers, {}),
            project="ccc-bench",
            config=stack_config(emulator.emu.url, max_concurrency=max_concurrency),
            secret_keys={"ccc:accessKeySecret"},
        )

        def run(op: str, action: Callable[[], Any], count: int) -> None:
            if op in skip:
                return
            progress(op)
            emulator.clear()
            first = len(records)
            result = action()
            results.append(_op_result(op, n, count, result, emulator=emulator, records=records, first=first))

        run("create", stack.up, n)
        _expect(len(emulator.emu.bindings(BENCH_INSTANCE_ID)) == n, f"create bound {n} numbers")
        run("noop", lambda: stack.up(expect_no_changes=True), 0)
        stack.program = binding_program(numbers, changed)
        run("update_flow", stack.up, k)
        flows = Counter(b["contact_flow_id"] for b in emulator.emu.bindings(BENCH_INSTANCE_ID))
        _expect(flows.get(FLOW_B, 0) == k, f"update set the contact flow of {k} numbers")
        stack.program = binding_program(added, changed)
        run("update_add", stack.up, k)
        _expect(len(emulator.emu.bindings(BENCH_INSTANCE_ID)) == n + k, f"update bound {k} more numbers")
        run("refresh", stack.refresh, n + k)
        _expect(not stack.history[-1].drift, "refresh found no drift")
        run("destroy", stack.destroy, n + k)
        if "destroy" not in skip:
            _expect(not emulator.emu.bindings(BENCH_INSTANCE_ID), "destroy unbound every number")
    return results


# --- The naive way: one call per number, in sequence ------------------------------------------


def _naive_client(url: str) -> Any:
    """A client on the provider's own SDK stack (same signing, HTTP, parsing), unthrottled by us."""
    from ccc_numbers import client as client_module  # noqa: PLC0415 - the SDK loads only when needed
    from ccc_numbers.config import RuntimeConfig  # noqa: PLC0415

    cfg = stack_config(url)
    # The naive provider has no rate limit of its own; the latency bounds it (~20 calls/s at 50 ms).
    cfg["ccc:requestsPerSecond"] = "10000"
    runtime = RuntimeConfig.from_pulumi_config(cfg, environ={})

    class NaiveClient(client_module.CccClient):
        """What a provider with one resource per number calls: AddPhoneNumber, one full listing per read."""

        def add_one(self, instance_id: str, number: str, flow: str) -> str:
            params = {"InstanceId": instance_id, "PhoneNumber": number, "Usage": USAGE, "ContactFlowId": flow}
            body = self._call("AddPhoneNumber", params, f"adding {number}", resend=False)
            return str(body["PhoneNumber"]["PhoneNumberId"])

        def read_one(self, instance_id: str, number: str) -> bool:
            # CCC 2017 has no per-number read and ListPhoneNumbers no filter: each read lists the instance.
            params = {"InstanceId": instance_id, "OutboundOnly": "false"}
            body = self._call("ListPhoneNumbers", params, f"reading {number}", resend=True)
            items = body.get("PhoneNumbers", {}).get("PhoneNumber", [])
            return any(item.get("Number") == number for item in items)

    return NaiveClient(runtime)


def run_naive(
    emulator: BenchEmulator,
    n: int,
    *,
    progress: Callable[[str], None] = lambda _msg: None,
) -> list[OpResult]:
    """The same six operations, one API call per number, sequentially (a per-number provider's calls).

    A lower bound for such a provider: it leaves out the engine's per-resource Check/Diff/Create
    round trips and the provider host starts, which ours pays in full.
    """
    from ccc_numbers.models import Settings, Usage  # noqa: PLC0415

    k = k_for(n)
    numbers = [bench_number(i) for i in range(n)]
    changed = [numbers[i] for i in range(0, n, max(1, n // k))[:k]]
    extra = [bench_number(n + i) for i in range(k)]
    emulator.reset()
    client = _naive_client(emulator.emu.url)
    ids: dict[str, str] = {}
    results: list[OpResult] = []

    def timed(op: str, count: int, work: Callable[[], None]) -> None:
        progress(op)
        emulator.clear()
        started = time.perf_counter()
        work()
        ended = time.perf_counter()
        calls = dict(sorted(emulator.calls_since(0).items()))
        results.append(OpResult(op, n, count, ended - started, calls, emulator.span_between(started, ended)))

    def create() -> None:
        for number in numbers:
            ids[number] = client.add_one(BENCH_INSTANCE_ID, number, FLOW_A)

    def update_flow() -> None:
        settings = Settings(Usage(USAGE), FLOW_B, ())
        for number in changed:
            client.modify(BENCH_INSTANCE_ID, ids[number], settings)

    def update_add() -> None:
        for number in extra:
            ids[number] = client.add_one(BENCH_INSTANCE_ID, number, FLOW_A)

    def refresh() -> None:
        for number in ids:
            _expect(client.read_one(BENCH_INSTANCE_ID, number), f"naive read found {number}")

    def destroy() -> None:
        for pid in ids.values():
            client.remove(BENCH_INSTANCE_ID, pid)

    # The SDK import and client set-up happen once, before the clock starts (ours pays them per pass).
    client.list_numbers(BENCH_INSTANCE_ID)
    timed("create", n, create)
    _expect(len(emulator.emu.bindings(BENCH_INSTANCE_ID)) == n, f"naive create bound {n} numbers")
    # A per-number provider's diff is offline too: a no-change up makes no call at all.
    timed("noop", 0, lambda: None)
    timed("update_flow", k, update_flow)
    timed("update_add", k, update_add)
    timed("refresh", n + k, refresh)
    timed("destroy", n + k, destroy)
    _expect(not emulator.emu.bindings(BENCH_INSTANCE_ID), "naive destroy unbound every number")
    return results


def projected(op: str, n: int, calls: Mapping[str, int], per_call_s: float, note: str) -> OpResult:
    """An operation not run: its time projected as calls × ``per_call_s``; marked as not measured."""
    count = sum(calls.values())
    return OpResult(
        op, n, k_for(n), count * per_call_s, {}, 0.0, measured=False, note=note, projected_calls=dict(calls)
    )


def naive_call_counts(n: int) -> dict[str, dict[str, int]]:
    """The calls the naive way makes for each operation at size ``n`` (what run_naive would send)."""
    k = k_for(n)
    return {
        "create": {"AddPhoneNumber": n},
        "noop": {},
        "update_flow": {"ModifyPhoneNumber": k},
        "update_add": {"AddPhoneNumber": k},
        "refresh": {"ListPhoneNumbers": n + k},
        "destroy": {"RemovePhoneNumber": n + k},
    }


# --- Concurrent reads in one host ---------------------------------------------------------------


def concurrent_reads(
    stack: Stack, read_requests: list[dict[str, Any]], configure: dict[str, Any], threads: int = 8
) -> HostRecord:
    """Send ``read_requests`` at once to one fresh metered host, as the engine's parallel refresh does."""
    from google.protobuf import json_format  # noqa: PLC0415
    from pulumi.runtime.proto import provider_pb2  # noqa: PLC0415

    env = dict(os.environ)
    env["PULUMI_PROJECT"] = stack.project
    env["PULUMI_CONFIG"] = "{}"
    host = MeteredHost(stack.project_dir, env, [])
    try:
        host.call("Handshake", provider_pb2.ProviderHandshakeRequest(), unimplemented_ok=True)
        host.call("Configure", json_format.ParseDict(configure, provider_pb2.ConfigureRequest()))
        requests = [json_format.ParseDict(r, provider_pb2.ReadRequest()) for r in read_requests]
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(lambda req: host.call("Read", req), requests))
    finally:
        host.close()
    return host.record


def many_bindings_program(count: int, per_binding: int) -> Callable[[], None]:
    """``count`` bindings in the benchmark instance, ``per_binding`` numbers each."""

    def program() -> None:
        from ccc_numbers import PhoneNumberBinding  # noqa: PLC0415 - imported where the program runs

        for b in range(count):
            numbers = [bench_number(b * per_binding + i) for i in range(per_binding)]
            PhoneNumberBinding(
                f"team-{b:02d}",
                instance_id=BENCH_INSTANCE_ID,
                numbers=numbers,
                usage=USAGE,
                contact_flow_id=FLOW_A,
            )

    return program


def run_refresh_many(emulator: BenchEmulator, count: int = 50, per_binding: int = 2) -> dict[str, Any]:
    """Refresh ``count`` bindings of one instance: ListPhoneNumbers per provider process.

    Two ways: ``pulumi refresh`` through the driver (Reads one after another, one host per pass),
    and the same Read requests sent concurrently to one host (the engine runs refresh steps in
    parallel; the host serves four at a time).
    """
    emulator.reset()
    with project_dir() as project, metered(emulator) as records:
        stack = Stack(
            project,
            many_bindings_program(count, per_binding),
            project="ccc-bench",
            config=stack_config(emulator.emu.url),
            secret_keys={"ccc:accessKeySecret"},
        )
        stack.up(skip_preview=True)
        _expect(len(emulator.emu.bindings(BENCH_INSTANCE_ID)) == count * per_binding, "bindings created")
        emulator.clear()
        first = len(records)
        result = stack.refresh()
        sequential = _op_result(
            "refresh", count * per_binding, count, result, emulator=emulator, records=records, first=first
        )
        real = result.passes[-1]
        configure = next(c.request for c in real.calls if c.method == "Configure")
        reads = [c.request for c in real.calls if c.method == "Read"]
        emulator.clear()
        started = time.perf_counter()
        host = concurrent_reads(stack, reads, configure)
        concurrent_s = time.perf_counter() - started
    return {
        "bindings": count,
        "numbers_per_binding": per_binding,
        "sequential_refresh": {
            "passes": [
                {
                    "preview": p.preview,
                    "list_calls": p.calls.get("ListPhoneNumbers", 0),
                    "calls": p.calls,
                    "seconds": p.seconds,
                }
                for p in sequential.passes
            ],
            "wall_s": sequential.wall_s,
        },
        "concurrent_reads": {
            "reads": len(reads),
            "list_calls": host.calls.get("ListPhoneNumbers", 0),
            "calls": host.calls,
            "wall_s": concurrent_s,
        },
    }
