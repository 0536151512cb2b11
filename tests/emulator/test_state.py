"""SQLite state: atomic requests, persistence across restarts and crashes, sharing a file, seeds."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from alibabacloud_ccc20170705 import models as m
from alibabacloud_ccc20170705.client import Client
from alibabacloud_tea_openapi.exceptions import ClientException
from alibabacloud_tea_openapi.models import Config

from ccc_emulator import Emulator, SeedError, demo, load_seed
from ccc_emulator.state import Store

INSTANCE = demo.DEMO_INSTANCE_ID

TINY_SEED: dict[str, Any] = {
    "access_keys": [{"id": "AK-tiny", "secret": "tiny-secret"}],
    "instances": [
        {
            "id": "inst-tiny",
            "contact_flows": [{"id": "cf-1", "name": "Hello", "description": "Hi", "type": "Mainflow"}],
            "skill_groups": [{"id": "sg-1", "name": "Everyone"}],
        }
    ],
    "numbers": [
        {"number": "02100000001", "trunks": 3, "description": "Tiny Telecom"},
        {"number": "02100000002", "in_arrears": True},
        {"number": "02100000003", "test_only": True, "remaining_time": 12},
    ],
    "bindings": [
        {
            "number": "02100000003",
            "instance_id": "inst-tiny",
            "usage": "Inbound",
            "contact_flow_id": "cf-1",
            "skill_group_ids": ["sg-1"],
        }
    ],
}


def client(
    emu: Emulator, key: str = demo.DEMO_ACCESS_KEY_ID, secret: str = demo.DEMO_ACCESS_KEY_SECRET
) -> Client:
    return Client(Config(endpoint=emu.endpoint, protocol="http", access_key_id=key, access_key_secret=secret))


def client_at(endpoint: str) -> Client:
    return Client(
        Config(
            endpoint=endpoint,
            protocol="http",
            access_key_id=demo.DEMO_ACCESS_KEY_ID,
            access_key_secret=demo.DEMO_ACCESS_KEY_SECRET,
        )
    )


def add_bulk(c: Client, numbers: list[str], instance_id: str = INSTANCE) -> Any:
    return c.add_bulk_phone_numbers(
        m.AddBulkPhoneNumbersRequest(instance_id=instance_id, phone_number=numbers, usage="Bidirection")
    ).body


def listed(c: Client, instance_id: str = INSTANCE) -> list[str]:
    body = c.list_phone_numbers(m.ListPhoneNumbersRequest(instance_id=instance_id, outbound_only=False)).body
    return [p.number for p in body.phone_numbers.phone_number]


# -- store ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("on_disk", [False, True])
def test_a_failing_transaction_leaves_no_trace(tmp_path: Path, on_disk: bool) -> None:
    """Writes inside a transaction that raises are rolled back (in memory and in a file)."""
    store = Store(str(tmp_path / "s.db") if on_disk else None)
    store.replace(load_seed(demo.demo_seed()))
    written: list[int] = []

    def write_then_fail() -> None:
        with store.transaction() as tx:
            tx.add_binding(demo.landline(0), INSTANCE, "Inbound", None, ())
            written.append(len(tx.bindings(INSTANCE)))
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        write_then_fail()
    assert written == [1]
    with store.transaction() as tx:
        assert tx.bindings(INSTANCE) == []
    store.close()


def test_state_file_survives_a_restart_and_wins_over_the_seed(tmp_path: Path) -> None:
    """A second Emulator on the same file keeps the bindings, PhoneNumberIds included, ignoring its seed."""
    state = tmp_path / "state.db"
    with Emulator(state_path=state) as emu:
        (p,) = add_bulk(client(emu), [demo.landline(0)]).phone_numbers.phone_number
    with Emulator(seed=TINY_SEED, state_path=state) as emu:
        assert [(b["number"], b["phone_number_id"]) for b in emu.bindings(INSTANCE)] == [
            (demo.landline(0), p.phone_number_id)
        ]
        assert listed(client(emu)) == [demo.landline(0)]
        # reset() goes back to the constructor's seed, which is now the tiny one.
        emu.reset()
        assert [i["id"] for i in emu.snapshot()["instances"]] == ["inst-tiny"]


def test_two_emulators_share_one_state_file(tmp_path: Path) -> None:
    """Nothing is cached: a binding made through one server is seen at once through the other."""
    state = tmp_path / "shared.db"
    with Emulator(state_path=state) as a, Emulator(state_path=state) as b:
        add_bulk(client(a), [demo.landline(0)])
        assert listed(client(b)) == [demo.landline(0)]
        assert add_bulk(client(b), [demo.landline(0)]).userd_phone_numbers.userd_phone_number == [
            demo.landline(0)
        ]
        b.unbind(demo.landline(0))
        assert listed(client(a)) == []


def test_stop_keeps_the_state_open_and_close_releases_it(tmp_path: Path) -> None:
    """stop() leaves the emulator inspectable and restartable; close() (and `with`) closes its state."""
    state = tmp_path / "state.db"
    emu = Emulator(state_path=state)
    emu.start()
    add_bulk(client(emu), [demo.landline(0)])
    emu.stop()
    assert [b["number"] for b in emu.bindings(INSTANCE)] == [demo.landline(0)]
    with emu:  # started again, closed at the end of the block
        assert listed(client(emu)) == [demo.landline(0)]
    with pytest.raises(sqlite3.ProgrammingError, match="closed database"):
        emu.snapshot()
    with pytest.raises(RuntimeError, match=r"^emulator closed; a closed emulator cannot be started again$"):
        emu.start()
    emu.close()  # idempotent
    # Never started, only inspected: close() releases it too, and the file keeps the state.
    inspector = Emulator(state_path=state)
    assert [b["number"] for b in inspector.bindings(INSTANCE)] == [demo.landline(0)]
    inspector.close()
    with pytest.raises(sqlite3.ProgrammingError, match="closed database"):
        inspector.bindings(INSTANCE)
    with Emulator(state_path=state) as again:
        assert [b["number"] for b in again.bindings(INSTANCE)] == [demo.landline(0)]


def test_a_custom_seed(tmp_path: Path) -> None:
    """Keys, instances, numbers and bindings come from the seed (dict or file)."""
    path = tmp_path / "seed.json"
    path.write_text(json.dumps(TINY_SEED))
    with Emulator(seed=str(path)) as emu:
        c = client(emu, "AK-tiny", "tiny-secret")
        body = add_bulk(
            c, ["02100000001", "02100000002", "02100000003", demo.landline(0)], instance_id="inst-tiny"
        )
        (p,) = body.phone_numbers.phone_number
        assert (p.number, p.trunks, p.phone_number_description) == ("02100000001", 3, "Tiny Telecom")
        assert body.arrearage_phone_numbers.arrearage_phone_number == ["02100000002"]
        assert body.userd_phone_numbers.userd_phone_number == ["02100000003"]
        assert body.failed_phone_numbers.failed_phone_number == [demo.landline(0)]
        seeded = next(b for b in emu.bindings("inst-tiny") if b["number"] == "02100000003")
        assert (seeded["usage"], seeded["contact_flow_id"], seeded["skill_group_ids"]) == (
            "Inbound",
            "cf-1",
            ["sg-1"],
        )
        # The demo key does not exist in this account.
        with pytest.raises(Exception, match=r"InvalidAccessKeyId\.NotFound"):
            listed(client(emu), "inst-tiny")
        emu.load_seed(demo.demo_seed())
        assert listed(client(emu)) == []


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda s: s.pop("numbers"), "seed: missing key 'numbers'"),
        (lambda s: s.update(extra=1), "seed: unknown key(s) 'extra'"),
        (lambda s: s["numbers"].append({"number": "02100000001"}), "numbers: duplicate number '02100000001'"),
        (
            lambda s: s["numbers"][0].update(trunks=True),
            "numbers[0].trunks: expected a non-negative integer, got True",
        ),
        (lambda s: s["bindings"][0].update(usage="Sideways"), "bindings[0].usage: expected one of"),
        (lambda s: s["bindings"][0].update(instance_id="x"), "bindings[0].instance_id: unknown instance 'x'"),
        (lambda s: s["bindings"][0].update(number="0"), "bindings[0].number: '0' is not in numbers"),
        (
            lambda s: s["bindings"][0].update(skill_group_ids=["sg-9"]),
            "bindings[0].skill_group_ids: unknown skill group 'sg-9'",
        ),
        (lambda s: s["access_keys"][0].pop("secret"), "access_keys[0]: missing key 'secret'"),
    ],
)
def test_seed_validation(mutate: Any, message: str) -> None:
    """A bad seed is refused with a message naming the offending path."""
    seed = json.loads(json.dumps(TINY_SEED))
    mutate(seed)
    with pytest.raises(SeedError) as info:
        load_seed(seed)
    assert str(info.value).startswith(message)


def test_list_over_ten_thousand_bindings_is_fast(ccc_emulator: Emulator, signed: Any) -> None:
    """The server answers ListPhoneNumbers for a 10,000-number instance well under a second.

    Timed on the wire (a raw signed GET), not through the SDK, whose model parsing of the 7 MB
    answer is the client's cost, not the emulator's.
    """
    seed = demo.demo_seed()
    seed["numbers"] += [{"number": f"0215{i:07d}"} for i in range(10_000)]
    seed["bindings"] += [
        {"number": f"0215{i:07d}", "instance_id": INSTANCE, "skill_group_ids": [demo.DEFAULT_SKILL_GROUP_ID]}
        for i in range(10_000)
    ]
    ccc_emulator.load_seed(seed)
    start = time.perf_counter()
    resp = signed("ListPhoneNumbers", {"InstanceId": INSTANCE, "OutboundOnly": "false"})
    elapsed = time.perf_counter() - start
    assert resp.status == 200
    assert len(resp.json()["PhoneNumbers"]["PhoneNumber"]) == 10_000
    assert elapsed < 1.0, elapsed
    start = time.perf_counter()
    resp = signed(
        "AddBulkPhoneNumbers",
        {
            "InstanceId": INSTANCE,
            "Usage": "Inbound",
            **{f"PhoneNumber.{i + 1}": demo.landline(i) for i in range(100)},
        },
    )
    assert resp.status == 200
    assert len(resp.json()["PhoneNumbers"]["PhoneNumber"]) == 100
    assert time.perf_counter() - start < 0.5


# -- the CLI as a subprocess ---------------------------------------------------------------------


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("http_proxy", "https_proxy", "all_proxy")}
    env["PYTHONUNBUFFERED"] = "0"  # the URL line must be flushed by the program itself
    return env


class Cli:
    """``python -m ccc_emulator`` in a subprocess; .url is its first stdout line."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ccc_emulator", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_env(),
        )
        assert self.proc.stdout is not None
        self.url = self.proc.stdout.readline().rstrip("\n")

    @property
    def endpoint(self) -> str:
        return self.url.removeprefix("http://")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 5.0) -> tuple[int, str, str]:
        start = time.monotonic()
        self.proc.send_signal(sig)
        out, err = self.proc.communicate(timeout=timeout)
        assert time.monotonic() - start < timeout
        return self.proc.returncode, out, err

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_cli_prints_the_url_first_and_stops_on_signal(sig: int) -> None:
    """First stdout line is exactly the base URL; SIGTERM/SIGINT stop it cleanly with status 0."""
    cli = Cli("--port", "0")
    try:
        assert cli.url.startswith("http://127.0.0.1:")
        assert int(cli.url.rsplit(":", 1)[1]) > 0
        assert listed(client_at(cli.endpoint)) == []
        code, out, err = cli.stop(sig)
        assert code == 0
        assert out == ""  # nothing else ever goes to stdout
        assert "ccc-emulator: serving" in err
    finally:
        cli.kill()


@pytest.mark.slow
def test_cli_state_survives_stop_restart_and_crash(tmp_path: Path) -> None:
    """--state keeps bindings across a clean stop and across SIGKILL; an existing state wins over --seed."""
    state = str(tmp_path / "cli.db")
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps(TINY_SEED))

    cli = Cli("--state", state)
    try:
        (p,) = add_bulk(client_at(cli.endpoint), [demo.landline(0)]).phone_numbers.phone_number
        assert cli.stop()[0] == 0
    finally:
        cli.kill()

    cli = Cli("--state", state, "--seed", str(seed))
    try:
        c = client_at(cli.endpoint)
        body = c.list_phone_numbers(m.ListPhoneNumbersRequest(instance_id=INSTANCE, outbound_only=False)).body
        assert [(x.number, x.phone_number_id) for x in body.phone_numbers.phone_number] == [
            (demo.landline(0), p.phone_number_id)
        ]
        add_bulk(c, [demo.landline(1)])
        cli.proc.kill()  # a crash: no chance to close anything
        cli.proc.communicate()
    finally:
        cli.kill()

    cli = Cli("--state", state)
    try:
        assert listed(client_at(cli.endpoint)) == [demo.landline(0), demo.landline(1)]
    finally:
        cli.stop()
        cli.kill()


@pytest.mark.slow
def test_cli_knobs(tmp_path: Path) -> None:
    """--seed, --max-batch-size, --batch-cap-code/-message, --latency-ms and --fault take effect."""
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps(TINY_SEED))
    cli = Cli(
        "--seed",
        str(seed),
        "--max-batch-size",
        "1",
        "--batch-cap-code",
        "Parameter.TooMany",
        "--batch-cap-message",
        "No more than {max} numbers.",
        "--latency-ms",
        "100",
        "--fault",
        '{"kind": "throttling", "action": "ListContactFlows", "skip": 1, "times": 1, "retry_after_ms": 7}',
    )
    try:
        c = Client(
            Config(
                endpoint=cli.endpoint,
                protocol="http",
                access_key_id="AK-tiny",
                access_key_secret="tiny-secret",
            )
        )
        with pytest.raises(ClientException) as refused:
            add_bulk(c, ["02100000001", "02100000002"], instance_id="inst-tiny")
        assert (refused.value.code, refused.value.data["Message"]) == (
            "Parameter.TooMany",
            "No more than 1 numbers.",
        )
        start = time.perf_counter()
        assert add_bulk(c, ["02100000001"], instance_id="inst-tiny").phone_numbers.phone_number[0].trunks == 3
        assert time.perf_counter() - start >= 0.1
        c.list_contact_flows(m.ListContactFlowsRequest(instance_id="inst-tiny"))  # skipped by the fault
        with pytest.raises(Exception, match=r"Throttling\.User") as info:
            c.list_contact_flows(m.ListContactFlowsRequest(instance_id="inst-tiny"))
        assert info.value.retry_after == 7  # type: ignore[attr-defined]
    finally:
        cli.stop()
        cli.kill()


@pytest.mark.slow
def test_cli_refuses_a_bad_seed(tmp_path: Path) -> None:
    """A bad seed file: exit status 2, the reason on stderr, nothing on stdout."""
    seed = tmp_path / "bad.json"
    seed.write_text('{"instances": []}')
    proc = subprocess.run(
        [sys.executable, "-m", "ccc_emulator", "--seed", str(seed)],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=30,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr == "ccc-emulator: seed: missing key 'access_keys'\n"


@pytest.mark.slow
def test_two_processes_race_on_one_state_file(tmp_path: Path) -> None:
    """A CLI process and an in-process emulator add the same numbers concurrently: each binds exactly once."""
    state = tmp_path / "race.db"
    cli = Cli("--state", str(state))
    try:
        with Emulator(state_path=state) as local:
            endpoints = [cli.endpoint, local.endpoint]
            numbers = [demo.landline(i) for i in range(40)]
            results: list[Any] = []
            errors: list[BaseException] = []

            def worker(endpoint: str, chunk: list[str]) -> None:
                try:
                    results.append(add_bulk(client_at(endpoint), chunk))
                except BaseException as exc:  # collected, asserted below
                    errors.append(exc)

            threads = [
                threading.Thread(
                    target=worker, args=(endpoints[k // 4], numbers[(k * 10) % 40 : (k * 10) % 40 + 10])
                )
                for k in range(8)
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert errors == []
            bound = [p.number for body in results for p in body.phone_numbers.phone_number]
            used = [n for body in results for n in body.userd_phone_numbers.userd_phone_number]
            assert sorted(bound) == sorted(numbers)  # every number bound once, by one of the two
            assert len(used) == 40  # and reported as used to the other call
            assert sorted(b["number"] for b in local.bindings(INSTANCE)) == sorted(numbers)
    finally:
        cli.stop()
        cli.kill()
