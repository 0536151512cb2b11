"""Contender "one resource per number": a PhoneNumber resource for every number of ``bench-input.json``.

Copied into a Pulumi project folder as ``__main__.py``, next to ``per_number_provider.py``; runs in
the virtualenv without this project.
"""

import json
from pathlib import Path

from per_number_provider import PhoneNumber

spec = json.loads(Path("bench-input.json").read_text())
for number in spec["numbers"]:
    PhoneNumber(
        f"n{number}",
        instance_id=spec["instance_id"],
        number=number,
        usage=spec["usage"],
        contact_flow_id=spec["overrides"].get(number, spec["contact_flow_id"]),
    )
