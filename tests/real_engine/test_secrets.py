"""No credential in plaintext: not in the exported state, the CLI's output, a log line or an error.

Two ways to give the provider its key are checked through the real engine: a secret stack config
value (``pulumi config set --secret ccc:accessKeySecret``), which the engine keeps encrypted, and
environment variables, with which no form of the secret, not even its ciphertext, is in the state.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from ccc_emulator import Emulator, demo

from .conftest import FAST, MakeStack
from .harness import InlineStack
from .programs import INSTANCE, Binding, landlines, program

pytestmark = [pytest.mark.real_engine, pytest.mark.slow]

SECRET = demo.DEMO_ACCESS_KEY_SECRET
PROVIDER_KEY = "__provider"


def strings_in(value: Any) -> Iterator[str]:
    """Every string in a state value: keys, values, and the decoded ``__provider`` pickles."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield str(key)
            if key == PROVIDER_KEY and isinstance(item, str):
                yield from decoded_pickle(item)
            yield from strings_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings_in(item)
    elif isinstance(value, str):
        yield value


def decoded_pickle(text: str) -> Iterator[str]:
    try:
        yield base64.b64decode(text, validate=True).decode("latin-1")
    except (binascii.Error, ValueError):
        return


def debug_logging(root: Path) -> tuple[dict[str, str], Path]:
    """Env that makes every provider host log this package at DEBUG into one file, and that file."""
    site = root / "site"
    site.mkdir()
    log = root / "provider.log"
    (site / "sitecustomize.py").write_text(
        "import logging\n"
        f"logging.basicConfig(filename={str(log)!r}, level=logging.DEBUG,"
        " format='%(process)d %(name)s %(message)s')\n"
    )
    return {"PYTHONPATH": str(site)}, log


def test_a_secret_config_key_stays_encrypted_and_out_of_output_logs_and_errors(
    make_stack: MakeStack, ccc_emulator: Emulator, tmp_path: Path
) -> None:
    """up, an edit, refresh, a failing up and destroy: the secret shows nowhere in plaintext."""
    env, log = debug_logging(tmp_path)
    stack = make_stack(program(Binding("support", landlines(0, 3))))
    stack.env.update(env)
    runs = [stack.up()]
    exports = [stack.export()]
    stack.program = program(Binding("support", landlines(0, 4)))
    runs += [stack.up(), stack.refresh()]
    exports.append(stack.export())
    stack.program = program(
        Binding("support", landlines(0, 4)), Binding("arrears", list(demo.ARREARS_NUMBERS))
    )
    failed = stack.up()
    runs.append(failed)
    exports.append(stack.export())
    runs.append(stack.destroy())

    # The runs were real: they authenticated with the secret, one failed, and the hosts logged.
    assert [run.ok for run in runs] == [True, True, True, False, True]
    assert "in arrears" in failed.stdout
    assert [e.code for e in ccc_emulator.journal if not e.ok] == []
    # Each call is logged at DEBUG by the client, with its request id.
    assert log.read_text().count("ccc_numbers.client") >= len(ccc_emulator.journal)
    # Nowhere in plaintext: state (with its pickles), the CLI's output and errors, the logs.
    assert [s for s in strings_in(exports) if SECRET in s] == []
    assert [run.command for run in runs if SECRET in run.text] == []
    assert SECRET not in log.read_text()
    # The engine keeps the secret config encrypted in the stack file: its ciphertext, not the value.
    stack_file = next(stack.work_dir.glob("Pulumi.*.yaml")).read_text()
    assert "ccc:accessKeySecret" in stack_file
    assert SECRET not in stack_file


def test_credentials_from_the_environment_leave_no_trace_of_the_secret_in_state(
    pulumi_cli: Path, ccc_emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With ALIBABA_CLOUD_ACCESS_KEY_* in the environment, neither the secret nor any ciphertext of it
    is in the stack file or the state: the key is read by the provider host at run time only."""
    monkeypatch.chdir(tmp_path)
    stack = InlineStack(
        tmp_path / "stack",
        program(Binding("support", landlines(0, 3))),
        cli_dir=pulumi_cli,
        config={"ccc:endpoint": ccc_emulator.url, **FAST},
        env={
            "ALIBABA_CLOUD_ACCESS_KEY_ID": demo.DEMO_ACCESS_KEY_ID,
            "ALIBABA_CLOUD_ACCESS_KEY_SECRET": SECRET,
        },
    )

    run = stack.up()

    assert run.ok, run.text
    assert len(ccc_emulator.bindings(INSTANCE)) == 3
    state = stack.export()
    assert [s for s in strings_in(state) if SECRET in s] == []
    assert "accessKeySecret" not in json.dumps(state)
    assert "secure" not in next(stack.work_dir.glob("Pulumi.*.yaml")).read_text()
    assert stack.destroy().ok
