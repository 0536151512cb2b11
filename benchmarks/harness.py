"""Benchmark harness: the timed emulator, the seed, and one measured run of a command.

Owns how a figure is taken: the emulator (in this process, state in a SQLite file, latency on every
call, each request's span recorded), the seed (one instance and one number range per contender, so
contenders never share a listing), and :func:`measure`, which runs one command (a ``pulumi``
operation or the operator's script) and returns its wall time, API calls by action, the API phase,
CPU time, and the peak resident memory of each process in its tree. Must not print, decide what to
run, or assert timings: ``bench.py`` orchestrates and ``report.py`` reports.

Peak memory is the kernel's high-water mark (``VmHWM`` in ``/proc/<pid>/status``) of every process
descended from the command, polled every :data:`POLL_SECONDS`; as the mark only grows, the one thing
polling can miss is growth in a process's last interval before it exits.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ccc_emulator import Emulator, demo

REPO = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent

#: The contenders that bind numbers, each with its own instance and its own range of numbers.
BINDERS = ("ours", "per_number", "script")
FLOW_A = "bench_FlowA"
FLOW_B = "bench_FlowB"
USAGE = "Bidirection"
WRITE_ACTIONS = ("AddBulkPhoneNumbers", "AddPhoneNumber", "ModifyPhoneNumber", "RemovePhoneNumber")
POLL_SECONDS = 0.025


def instance_id(contender: str) -> str:
    """The CCC instance a contender binds to (a UUID-shaped id, one per contender)."""
    return f"be4c000{BINDERS.index(contender)}-0000-4000-8000-00000000be4c"


def numbers_for(contender: str, n: int, span: int) -> list[str]:
    """The first ``n`` numbers of a contender's range (``span`` numbers per contender)."""
    base = BINDERS.index(contender) * span
    return [f"0571{base + i:07d}" for i in range(n)]


def flows_for(contender: str) -> tuple[str, str]:
    """The two contact flows of a contender's instance: (main, alternate)."""
    index = BINDERS.index(contender)
    return f"{FLOW_A}{index}", f"{FLOW_B}{index}"


def bench_seed(span: int) -> dict[str, Any]:
    """A seed with one instance per binding contender (two contact flows each) and ``span`` numbers each."""
    instances = []
    for contender in BINDERS:
        main, alternate = flows_for(contender)
        instances.append(
            {
                "id": instance_id(contender),
                "contact_flows": [
                    {"id": main, "name": "Bench main", "description": "main", "type": "Mainflow"},
                    {"id": alternate, "name": "Bench alternate", "description": "alt", "type": "Mainflow"},
                ],
                "skill_groups": [],
            }
        )
    numbers = [
        {"number": number, "trunks": 1, "description": "Bench Telecom"}
        for contender in BINDERS
        for number in numbers_for(contender, span, span)
    ]
    return {
        "access_keys": [{"id": demo.DEMO_ACCESS_KEY_ID, "secret": demo.DEMO_ACCESS_KEY_SECRET}],
        "instances": instances,
        "numbers": numbers,
    }


class BenchEmulator:
    """The emulator with per-call latency and a SQLite state file; records each request's span."""

    def __init__(self, span: int, latency_ms: float, state_dir: Path) -> None:
        #: Numbers per contender in the seed: the largest N the run can bind.
        self.span = span
        self.seed = bench_seed(span)
        self.state_path = state_dir / "ccc-emulator.sqlite3"
        self.emu = Emulator(seed=self.seed, state_path=self.state_path, latency_ms=latency_ms)
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

    @property
    def url(self) -> str:
        return self.emu.url

    @property
    def endpoint(self) -> str:
        return self.emu.endpoint

    def reset(self) -> None:
        """Back to the seed: state, journal and faults; spans cleared."""
        self.emu.reset(self.seed)
        self.clear()

    def clear(self) -> None:
        self.emu.clear_journal()
        with self._lock:
            self.spans.clear()

    def calls(self) -> dict[str, int]:
        """API calls by action since the last :meth:`clear`."""
        return dict(sorted(Counter(entry.action for entry in self.emu.journal).items()))

    def failed_calls(self) -> int:
        return sum(1 for entry in self.emu.journal if not entry.ok)

    def api_phase(self) -> float:
        """Seconds with at least one request in the emulator since :meth:`clear` (0: none).

        The union of the requests' spans, so that the gap between two passes (a refresh lists in
        both) is not counted: the time that batching and concurrency act on.
        """
        with self._lock:
            spans = sorted(self.spans)
        busy, end = 0.0, float("-inf")
        for start, stop in spans:
            if stop > end:
                busy += stop - max(start, end)
                end = stop
        return busy

    def bound(self, contender: str) -> int:
        """How many numbers are bound to a contender's instance now."""
        return len(self.emu.bindings(instance_id(contender)))


# --- One measured command -------------------------------------------------------------------------


@dataclass
class ProcessPeak:
    """One process of a measured command's tree: what it was and its peak resident memory."""

    pid: int
    role: str
    vm_hwm_kb: int


@dataclass
class Measurement:
    """One command as measured."""

    argv: list[str]
    returncode: int
    wall_s: float
    calls: dict[str, int]
    failed_calls: int
    api_s: float
    #: User + system CPU of the command and every descendant it reaped (``wait4``).
    cpu_s: float
    processes: list[ProcessPeak] = field(default_factory=list)
    stdout_tail: str = ""
    stderr_tail: str = ""

    def peak_kb(self, role: str) -> int | None:
        """The largest high-water mark among the tree's processes of this role."""
        peaks = [p.vm_hwm_kb for p in self.processes if p.role == role]
        return max(peaks) if peaks else None

    def count(self, role: str) -> int:
        return sum(1 for p in self.processes if p.role == role)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


#: How a process of a command's tree is recognised from its arguments (first match), after the root.
_ROLES: tuple[tuple[str, Callable[[list[str]], bool]], ...] = (
    ("provider host", lambda args: "pulumi.dynamic" in args),
    ("language host", lambda args: os.path.basename(args[0]) == "pulumi-language-python"),
    ("program", lambda args: any("pulumi-language-python-exec" in a for a in args)),
    ("provider wrapper", lambda args: any("pulumi-resource-pulumi-python" in a for a in args)),
    ("pip (language host's check)", lambda args: "pip" in args[1:3]),
)


def _role(args: list[str], root: bool, root_role: str) -> str:
    if root:
        return root_role
    return next((role for role, matches in _ROLES if matches(args)), "other")


class _TreeMeter(threading.Thread):
    """Polls ``/proc`` for the descendants of one process and keeps each one's ``VmHWM``."""

    def __init__(self, root: int, root_role: str) -> None:
        super().__init__(daemon=True)
        self.root = root
        self.root_role = root_role
        self.members: dict[int, ProcessPeak] = {}
        self.strangers: set[int] = set()
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            self.sample()
            self.done.wait(POLL_SECONDS)

    def sample(self) -> None:
        try:
            pids = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
        except OSError:
            return
        for pid in pids:
            if pid in self.strangers:
                continue
            if pid not in self.members:
                if pid != self.root and _ppid(pid) not in self.members:
                    self.strangers.add(pid)
                    continue
                self.members[pid] = ProcessPeak(pid, "", 0)
            self._update(self.members[pid])

    def _update(self, peak: ProcessPeak) -> None:
        try:
            cmdline = Path(f"/proc/{peak.pid}/cmdline").read_bytes().split(b"\0")
            status = Path(f"/proc/{peak.pid}/status").read_text()
        except OSError:
            return
        args = [c.decode(errors="replace") for c in cmdline if c]
        hwm = next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")), None)
        if not args or hwm is None:
            return  # a zombie (or not yet exec'd kernel thread): no memory left to read; keep what was seen
        role = _role(args, peak.pid == self.root, self.root_role)
        if role != peak.role:
            # An exec (a fork turning into its program) starts a new address space and a new mark.
            peak.role, peak.vm_hwm_kb = role, hwm
        else:
            peak.vm_hwm_kb = max(peak.vm_hwm_kb, hwm)


def _ppid(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name in parentheses may hold spaces; the fields after it are fixed.
    return int(stat.rsplit(")", 1)[1].split()[1])


def _tail(path: Path, limit: int = 4000) -> str:
    text = path.read_text(errors="replace") if path.exists() else ""
    return text[-limit:]


def measure(
    argv: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    emulator: BenchEmulator,
    root_role: str = "cli",
    timeout_s: float = 3600,
    keep_stderr: Path | None = None,
) -> Measurement:
    """Run ``argv`` once, metering its process tree; the emulator's journal is cleared first.

    ``keep_stderr``: copy the whole of the command's stderr there (the profile's engine log).
    """
    emulator.clear()
    with tempfile.TemporaryDirectory(prefix="ccc-bench-out-") as tmp:
        out_path, err_path = Path(tmp) / "stdout", Path(tmp) / "stderr"
        with out_path.open("wb") as out, err_path.open("wb") as err:
            started = time.perf_counter()
            proc = subprocess.Popen(
                list(argv), cwd=cwd, env=dict(env), stdout=out, stderr=err, start_new_session=True
            )
            meter = _TreeMeter(proc.pid, root_role)
            meter.start()
            timer = threading.Timer(timeout_s, lambda: os.killpg(proc.pid, signal.SIGKILL))
            timer.start()
            try:
                _, status, usage = os.wait4(proc.pid, 0)
            finally:
                timer.cancel()
            wall = time.perf_counter() - started
            proc.returncode = os.waitstatus_to_exitcode(status)
            meter.done.set()
            meter.join()
        if keep_stderr is not None:
            shutil.copyfile(err_path, keep_stderr)
        return Measurement(
            argv=list(argv),
            returncode=proc.returncode,
            wall_s=wall,
            calls=emulator.calls(),
            failed_calls=emulator.failed_calls(),
            api_s=emulator.api_phase(),
            cpu_s=usage.ru_utime + usage.ru_stime,
            processes=[p for p in meter.members.values() if p.role],
            stdout_tail=_tail(out_path),
            stderr_tail=_tail(err_path),
        )
