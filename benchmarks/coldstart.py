"""Cold start of the provider host: from starting ``python -m pulumi.dynamic`` to the first answered Check.

For a ``PhoneNumberBinding`` and, in the same run and interleaved, for the engine driver's trivial
dynamic provider (``tests/engine/trivial_provider``, one small module, no dependencies beyond
Pulumi). Each start replays what the engine sends first (Handshake, Configure, Check with the
pickled provider), captured once from a preview through the engine driver; the clock runs from
``Popen`` to the Check answer, so it covers the interpreter, the host's own imports, unpickling the
provider (importing its module), ``configure()`` and ``check()``.

Also ``python -X importtime``: what importing the provider's module adds on top of the modules the
host imports anyway, and whether any Alibaba SDK module is among them (check and diff must not
import it; ``tests/unit/test_imports.py`` asserts the same after running check and diff).

Run alone: ``python benchmarks/coldstart.py [--runs 7]``; ``bench.py`` runs it too.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import harness
from google.protobuf import json_format
from harness import ProviderHost, Stack
from pulumi.runtime.proto import provider_pb2

TRIVIAL_DIR = harness.REPO / "tests" / "engine" / "trivial_provider"
#: Modules of the Alibaba SDK stack that check and diff must never import.
SDK_MODULES = ("alibabacloud_tea_openapi", "darabonba", "alibabacloud_credentials", "Tea")
#: What ``python -m pulumi.dynamic`` imports before it serves (pulumi/dynamic/__main__.py).
HOST_IMPORTS = (
    "import asyncio, base64, dill, grpc; from google.protobuf import empty_pb2; "
    "import pulumi.metadata, pulumi.runtime, pulumi.runtime._serialization, "
    "pulumi.runtime._grpc_settings, pulumi.runtime.proto, pulumi.dynamic"
)


class Subject:
    """One provider to start: its project dir, host environment and the first requests to replay."""

    def __init__(self, name: str, project: Path, stack: Stack) -> None:
        self.name = name
        self.project = project
        result = stack.preview()
        self.configure = result.requests("Configure")[0]
        self.check = result.requests("Check")[0]
        self.env = dict(os.environ)
        self.env["PULUMI_PROJECT"] = stack.project
        self.env["PULUMI_CONFIG"] = json.dumps({k: str(v) for k, v in stack.config.items()})

    def start_once(self) -> tuple[float, float]:
        """Seconds to the port being ready and to the first Check answer, from Popen."""
        started = time.perf_counter()
        host = ProviderHost(self.project, self.env, [])
        try:
            ready = time.perf_counter()
            host.call("Handshake", provider_pb2.ProviderHandshakeRequest(), unimplemented_ok=True)
            host.call("Configure", json_format.ParseDict(self.configure, provider_pb2.ConfigureRequest()))
            answer = host.call("Check", json_format.ParseDict(self.check, provider_pb2.CheckRequest()))
            checked = time.perf_counter()
        finally:
            host.close()
        if answer.failures:
            raise RuntimeError(f"{self.name}: the replayed Check failed: {answer.failures}")
        return ready - started, checked - started


def _binding_subject(project: Path) -> Subject:
    numbers = [harness.bench_number(i) for i in range(2)]
    stack = Stack(
        project,
        harness.binding_program(numbers, {}),
        project="ccc-bench",
        config=harness.stack_config("http://127.0.0.1:9"),
        secret_keys={"ccc:accessKeySecret"},
    )
    return Subject("PhoneNumberBinding", project, stack)


def _trivial_subject(root: Path) -> Subject:
    stack = Stack(TRIVIAL_DIR, config={"trivial:root": str(root)})
    return Subject("trivial provider", TRIVIAL_DIR, stack)


def import_time(module: str, cwd: Path) -> dict[str, Any]:
    """``python -X importtime``: what ``module`` adds after the host's own imports; SDK modules seen."""
    code = f"{HOST_IMPORTS}\nimport {module}"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    rows: list[tuple[int, int, str]] = []
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        head, cumulative, name = line.split("|", 2)
        # "import time: <self> | <cumulative> | <two spaces per level><name>"
        rows.append((int(head.split(":")[1]), int(cumulative), name[1:].rstrip()))
    top = next((r for r in rows if r[2] == module), None)
    # The module's own subtree: rows printed just before its own line, deeper than it.
    index = rows.index(top) if top else len(rows)
    subtree: list[tuple[int, int, str]] = []
    for row in reversed(rows[:index]):
        if not row[2].startswith(" "):
            break
        subtree.append(row)
    # Self time grouped by package (ccc_numbers by module): where the added time goes.
    by_package: dict[str, int] = {}
    for self_us, _, name in [*subtree, *([top] if top else [])]:
        dotted = name.strip()
        key = dotted if dotted.startswith("ccc_numbers") else dotted.split(".")[0]
        by_package[key] = by_package.get(key, 0) + self_us
    largest = sorted(by_package.items(), key=lambda item: -item[1])
    names = {name.strip() for _, _, name in rows}
    sdk = sorted(n for n in names if n.split(".")[0] in SDK_MODULES)
    return {
        "module": module,
        "cumulative_us": top[1] if top else None,
        "largest_self_us": largest[:6],
        "modules_added": len(subtree) + (1 if top else 0),
        "sdk_modules_imported": sdk,
    }


def measure(runs: int = 7, progress: Callable[[str], None] = lambda _msg: None) -> dict[str, Any]:
    """Interleaved starts of both providers; medians and minimums, plus the import-time figures."""
    with harness.project_dir() as project, tempfile.TemporaryDirectory(prefix="ccc-bench-trivial-") as root:
        subjects = [_trivial_subject(Path(root)), _binding_subject(project)]
        samples: dict[str, list[tuple[float, float]]] = {s.name: [] for s in subjects}
        for subject in subjects:
            subject.start_once()  # warm the page cache and .pyc files before measuring
        for i in range(runs):
            progress(f"cold start {i + 1}/{runs}")
            for subject in subjects:
                samples[subject.name].append(subject.start_once())
    figures: dict[str, Any] = {}
    for name, values in samples.items():
        ready = [r for r, _ in values]
        first = [c for _, c in values]
        figures[name] = {
            "runs": runs,
            "port_ready_median_s": statistics.median(ready),
            "first_check_median_s": statistics.median(first),
            "first_check_min_s": min(first),
            "first_check_max_s": max(first),
        }
    ours = figures["PhoneNumberBinding"]["first_check_median_s"]
    trivial = figures["trivial provider"]["first_check_median_s"]
    return {
        "starts": figures,
        "ratio": ours / trivial,
        "importtime": {
            "ccc_numbers": import_time("ccc_numbers", harness.REPO),
            "filestore (trivial)": import_time("filestore", TRIVIAL_DIR),
        },
    }


def report(result: dict[str, Any]) -> str:
    """A plain-text summary."""
    lines = [f"{'provider':<20} {'port ready':>11} {'first Check':>12} {'min':>8} {'max':>8}"]
    for name, f in result["starts"].items():
        lines.append(
            f"{name:<20} {f['port_ready_median_s'] * 1e3:>9.0f}ms {f['first_check_median_s'] * 1e3:>10.0f}ms "
            f"{f['first_check_min_s'] * 1e3:>6.0f}ms {f['first_check_max_s'] * 1e3:>6.0f}ms"
        )
    lines.append(f"ratio PhoneNumberBinding / trivial (median first Check): {result['ratio']:.2f}x")
    for imp in result["importtime"].values():
        children = ", ".join(f"{n} {us / 1000:.0f}ms" for n, us in imp["largest_self_us"][:4])
        sdk = ", ".join(imp["sdk_modules_imported"]) or "none"
        lines.append(
            f"-X importtime: import {imp['module']} adds {imp['cumulative_us'] / 1000:.0f} ms over the "
            f"host's own imports ({imp['modules_added']} modules; largest self times: {children or '-'}); "
            f"Alibaba SDK modules imported: {sdk}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=7, help="starts per provider (default 7)")
    args = parser.parse_args()
    print(report(measure(args.runs)))


if __name__ == "__main__":
    main()
