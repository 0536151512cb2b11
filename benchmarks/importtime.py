"""What importing the provider's module costs the provider host: ``python -X importtime``, no engine.

Measures what ``import ccc_numbers`` adds on top of the modules the dynamic-provider host
(``python -m pulumi.dynamic``) imports anyway, which of our modules and packages take the time,
and whether any Alibaba SDK module is among them (check and diff must not import it;
``tests/unit/test_imports.py`` asserts the same after running check and diff). The cold start as a
user sees it, host start included, is in ``bench.py``'s figures: the floor against ours at small N.
Must not start the engine or a provider host.

Run alone: ``python benchmarks/importtime.py``; prints one line per module.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
#: Modules of the Alibaba SDK stack that check and diff must never import.
SDK_MODULES = ("alibabacloud_tea_openapi", "darabonba", "alibabacloud_credentials", "Tea")
#: What ``python -m pulumi.dynamic`` imports before it serves (pulumi/dynamic/__main__.py).
HOST_IMPORTS = (
    "import asyncio, base64, dill, grpc; from google.protobuf import empty_pb2; "
    "import pulumi.metadata, pulumi.runtime, pulumi.runtime._serialization, "
    "pulumi.runtime._grpc_settings, pulumi.runtime.proto, pulumi.dynamic"
)


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


def report(imp: dict[str, Any]) -> str:
    """One line: the added time, the largest self times, the SDK modules seen."""
    children = ", ".join(f"{n} {us / 1000:.0f}ms" for n, us in imp["largest_self_us"][:4])
    sdk = ", ".join(imp["sdk_modules_imported"]) or "none"
    added = (imp["cumulative_us"] or 0) / 1000
    return (
        f"-X importtime: import {imp['module']} adds {added:.0f} ms over the host's own imports "
        f"({imp['modules_added']} modules; largest self times: {children or '-'}); "
        f"Alibaba SDK modules imported: {sdk}"
    )


def main() -> None:
    print(report(import_time("ccc_numbers", REPO)))


if __name__ == "__main__":
    main()
