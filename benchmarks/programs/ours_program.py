"""Contender "ours": one PhoneNumberBinding holding every number of ``bench-input.json``.

Copied into a Pulumi project folder as ``__main__.py`` by ``contenders.py``; the benchmark rewrites
``bench-input.json`` between operations. Must stay what a user writes: no tuning, no extra outputs.
"""

import json
from pathlib import Path
from typing import Any

from ccc_numbers import PhoneNumberBinding

spec = json.loads(Path("bench-input.json").read_text())
overrides: dict[str, str] = spec["overrides"]
declared: Any = (
    {n: ({"contact_flow_id": overrides[n]} if n in overrides else {}) for n in spec["numbers"]}
    if overrides
    else spec["numbers"]
)
PhoneNumberBinding(
    "numbers",
    instance_id=spec["instance_id"],
    numbers=declared,
    usage=spec["usage"],
    contact_flow_id=spec["contact_flow_id"],
)
