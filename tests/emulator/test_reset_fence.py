"""reset() against requests in flight: each request's effects land wholly before or wholly after it.

The README promises that a request in flight during ``reset()`` is dropped without being applied or
journaled. These tests pin a request at a known point with a hook on the emulator, reset from
another thread, and check the journal, the faults and the state afterwards. (The latency case, a
request asleep in injected latency, is in test_faults.py.)
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from typing import Any

import pytest
from alibabacloud_ccc20170705 import models as m
from alibabacloud_ccc20170705.client import Client

from ccc_emulator import Emulator, demo

INSTANCE = demo.DEMO_INSTANCE_ID


def _recv_all(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes; a reset connection counts as closed."""
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except ConnectionResetError:
        pass
    return data


@pytest.mark.parametrize(
    "body",
    [
        # Malformed: before the fence it was refused with a 400 journaled into the fresh journal.
        b"Action=ListPhoneNumbers&Version=2017-07-05&%zz",
        # Well-formed (unsigned): before the fence it used up the latency fault injected after the
        # reset, then was dropped.
        b"Action=ListPhoneNumbers&Version=2017-07-05",
    ],
    ids=["malformed", "well-formed"],
)
def test_a_request_still_reading_its_body_during_reset_is_dropped_unjournaled(
    ccc_emulator: Emulator, monkeypatch: pytest.MonkeyPatch, body: bytes
) -> None:
    """Started before reset(), finished after it: no answer, no journal entry, no fault used."""
    pipeline = ccc_emulator.pipeline
    reading = threading.Event()
    original = pipeline._read_body  # hooked only to know when the request has started

    async def marked(request: Any) -> bytes:
        reading.set()
        return await original(request)

    monkeypatch.setattr(pipeline, "_read_body", marked)
    head = (
        "POST / HTTP/1.1\r\n"
        f"Host: {ccc_emulator.endpoint}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", ccc_emulator.port), timeout=10) as sock:
        sock.sendall(head + body[:10])
        assert reading.wait(10), "the server never started on the request"
        ccc_emulator.reset()
        fault = ccc_emulator.inject("latency", action="ListPhoneNumbers", ms=1, times=1)
        sock.sendall(body[10:])
        answer = _recv_all(sock)

    assert answer == b""  # dropped: the client cannot mistake it for an answer
    assert ccc_emulator.journal == []
    assert [(f["id"], f["times"]) for f in ccc_emulator.faults()] == [(fault, 1)]


def test_reset_waits_for_a_request_being_applied(
    ccc_emulator: Emulator, monkeypatch: pytest.MonkeyPatch, client_for: Callable[..., Client]
) -> None:
    """A reset() called while a request is being applied runs after its journal entry, not before.

    The request is held right after its transaction commits (where after-apply faults are asked);
    reset() from another thread must wait for it, then wipe its binding and its journal entry.
    """
    faults = ccc_emulator.fault_registry
    original = faults.after_apply
    resetter = threading.Thread(target=ccc_emulator.reset, name="resetter")
    seen: list[bool] = []

    def held(action: str) -> Any:
        resetter.start()
        resetter.join(0.2)  # with the fence it is blocked on it; without, it finishes in ~2 ms
        seen.append(resetter.is_alive())
        return original(action)

    monkeypatch.setattr(faults, "after_apply", held)
    client = client_for()
    try:
        body = client.add_bulk_phone_numbers(
            m.AddBulkPhoneNumbersRequest(
                instance_id=INSTANCE, phone_number=[demo.landline(0)], usage="Bidirection"
            )
        ).body
    finally:
        if resetter.ident is not None:
            resetter.join(10)
    assert [p.number for p in body.phone_numbers.phone_number] == [demo.landline(0)]  # answered whole
    assert ccc_emulator.journal == []  # its entry came before the reset, which cleared it
    assert ccc_emulator.bindings(INSTANCE) == []  # and so did its binding
    assert seen == [True]  # reset() waited for the request's synchronous part
