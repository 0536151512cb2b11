"""Check and diff stay offline and cheap: they never import the Alibaba SDK (it costs ~0.6 s per process).

Guards the provider host's cold start and every preview: ``import ccc_numbers`` and the provider's
``check`` and ``diff`` run in a fresh interpreter, which then reports the SDK modules it loaded.
pydantic, by contrast, is loaded with the package on purpose: it is the one place of the input
rules, and its ~70 ms are small next to the seconds of a real ``pulumi preview``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from typing import Any

SDK_MODULES = ("alibabacloud_tea_openapi", "darabonba", "alibabacloud_credentials", "Tea")

_SCRIPT = textwrap.dedent(
    """
    import json, sys
    from ccc_numbers import PhoneNumberBindingProvider

    provider = PhoneNumberBindingProvider()
    news = {
        "instance_id": "d278629c-c687-4aa3-b044-4fe9b012e7ef",
        "numbers": ["02160660000", "02160660001", "4001000000"],
        "contact_flow_id": "8Cvg_0mcsm6K",
        "skill_group_ids": ["3f3ceb0d-d6b6-4c97-af20-f3daf04f90e0"],
    }
    checked = provider.check({}, news)
    assert not checked.failures, [(f.property, f.reason) for f in checked.failures]
    olds = dict(checked.inputs, phone_number_ids={n: "pid-" + n for n in checked.inputs["numbers"]})
    changed = dict(checked.inputs, numbers={**checked.inputs["numbers"]})
    changed["numbers"].pop("02160660001")
    same = provider.diff("id", olds, checked.inputs)
    update = provider.diff("id", olds, changed)
    moved = dict(checked.inputs, instance_id="6a1f0f7e-2b0c-4d7e-9a51-3c9d2e8b4f10")
    replace = provider.diff("id", olds, moved)
    mapping = provider.check({}, {
        "instance_id": news["instance_id"],
        "numbers": {
            "021 6066 0000": {"usage": "Outbound", "skill_group_ids": []},
            "4001000000": {"usage": "Inbound", "contact_flow_id": "ivr"},
            "02160660001": None,
        },
        "usage": "Bidirection",
        "adopt_existing": True,
    })
    assert not mapping.failures, [(f.property, f.reason) for f in mapping.failures]
    bad = provider.check({}, dict(news, numbers=["02160660000", "021.6066.0001"]))
    sdk = sorted(name for name in sys.modules if name.split(".")[0] in __SDK__)
    print(json.dumps({
        "sdk": sdk,
        "diffs": [same.changes, update.changes, bool(replace.replaces)],
        "invalid_failures": [[f.property, f.reason] for f in bad.failures],
    }))
    """
)

_report: dict[str, Any] = {}


def _run_probe() -> dict[str, Any]:
    """The probe's report, from one fresh interpreter shared by the tests below."""
    if not _report:
        script = _SCRIPT.replace("__SDK__", repr(set(SDK_MODULES)))
        proc = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, check=False, timeout=60
        )
        assert proc.returncode == 0, proc.stderr
        _report.update(json.loads(proc.stdout.strip().splitlines()[-1]))
    return _report


def test_check_and_diff_do_not_import_the_alibaba_sdk() -> None:
    """Importing ccc_numbers and running check (valid and invalid inputs) and diff leaves every
    Alibaba SDK module unloaded."""
    report = _run_probe()
    # The hooks really ran: no change, an in-place update left to the engine, a replace.
    assert report["diffs"] == [False, None, True]
    assert report["sdk"] == []


def test_an_invalid_input_in_a_fresh_process_gets_its_exact_message() -> None:
    """A bad number fails with the usual sentence, path first, in a host that has just started."""
    assert _run_probe()["invalid_failures"] == [
        [
            "",
            'numbers[1]: "021.6066.0001" is not a phone number: "." is not allowed; write digits, with an'
            " optional leading + and spaces, dashes or parentheses between them",
        ]
    ]


def test_the_sdk_probe_would_notice_an_import() -> None:
    """The same probe sees the SDK once the client is really imported (the test above can fail)."""
    code = (
        "import sys; from ccc_numbers import client; client.load_sdk(); "
        f"print(sorted(n for n in sys.modules if n.split('.')[0] in {set(SDK_MODULES)!r}))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert "alibabacloud_tea_openapi" in proc.stdout

