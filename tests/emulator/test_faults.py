"""Every fault kind, seen from the generated SDK: exception class, code, status, retry_after, side effects."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from alibabacloud_ccc20170705 import models as m
from alibabacloud_ccc20170705.client import Client
from alibabacloud_tea_openapi.exceptions import ClientException, ServerException, ThrottlingException
from alibabacloud_tea_openapi.models import Config
from darabonba.exceptions import UnretryableException
from darabonba.policy.retry import RetryOptions

from ccc_emulator import Emulator, demo

INSTANCE = demo.DEMO_INSTANCE_ID


def add_bulk(client: Client, numbers: list[str]) -> Any:
    return client.add_bulk_phone_numbers(
        m.AddBulkPhoneNumbersRequest(instance_id=INSTANCE, phone_number=numbers, usage="Bidirection")
    ).body


def list_numbers(client: Client) -> Any:
    return client.list_phone_numbers(
        m.ListPhoneNumbersRequest(instance_id=INSTANCE, outbound_only=False)
    ).body


def raised(call: Callable[[], Any]) -> Exception:
    with pytest.raises(Exception) as info:  # noqa: PT011 - the class is what each test asserts
        call()
    return info.value


def test_throttling_with_retry_after(sdk: Client, ccc_emulator: Emulator) -> None:
    """Throttling.User 400 with x-acs-retry-after becomes ThrottlingException carrying retry_after (ms)."""
    ccc_emulator.inject("throttling", action="AddBulkPhoneNumbers", times=1, retry_after_ms=1500)
    e = raised(lambda: add_bulk(sdk, [demo.landline(0)]))
    assert type(e) is ThrottlingException
    assert (e.code, e.status_code, e.retry_after) == ("Throttling.User", 400, 1500)
    assert e.data["Message"] == "Request was denied due to user flow control."
    assert ccc_emulator.bindings(INSTANCE) == []  # refused before it was applied
    assert add_bulk(sdk, [demo.landline(0)]).phone_numbers.phone_number[0].number == demo.landline(0)


def test_throttling_without_retry_after(sdk: Client, ccc_emulator: Emulator) -> None:
    """Without the header the same error is a plain ClientException and retry_after is None."""
    ccc_emulator.inject("throttling", times=1)
    e = raised(lambda: list_numbers(sdk))
    assert type(e) is ClientException
    assert (e.code, e.status_code, e.retry_after) == ("Throttling.User", 400, None)


def test_throttling_code_can_be_chosen(sdk: Client, ccc_emulator: Emulator) -> None:
    """code='Throttling' answers the documented generic throttling message."""
    ccc_emulator.inject("throttling", times=1, code="Throttling")
    e = raised(lambda: list_numbers(sdk))
    assert (e.code, e.data["Message"]) == ("Throttling", "Request was denied due to request throttling.")


@pytest.mark.parametrize(
    ("kind", "status", "code"),
    [("service_unavailable", 503, "ServiceUnavailable"), ("internal_error", 500, "InternalError")],
)
def test_5xx(sdk: Client, ccc_emulator: Emulator, kind: str, status: int, code: str) -> None:
    """5xx faults raise ServerException with the documented code; the request was not applied."""
    ccc_emulator.inject(kind, times=1)
    e = raised(lambda: add_bulk(sdk, [demo.landline(0)]))
    assert type(e) is ServerException
    assert (e.code, e.status_code) == (code, status)
    assert ccc_emulator.bindings(INSTANCE) == []


def test_5xx_after_apply_leaves_the_outcome_unknown(sdk: Client, ccc_emulator: Emulator) -> None:
    """applied=True: the client sees a 503, yet the numbers are bound."""
    ccc_emulator.inject("service_unavailable", times=1, applied=True)
    e = raised(lambda: add_bulk(sdk, [demo.landline(0)]))
    assert (type(e), e.code) == (ServerException, "ServiceUnavailable")
    assert [b["number"] for b in ccc_emulator.bindings(INSTANCE)] == [demo.landline(0)]
    assert ccc_emulator.journal[-1].ok is True


def test_bad_gateway_is_not_json(sdk: Client, ccc_emulator: Emulator) -> None:
    """A non-JSON 502 surfaces as UnretryableException with no code."""
    ccc_emulator.inject("bad_gateway", times=1)
    e = raised(lambda: list_numbers(sdk))
    assert type(e) is UnretryableException
    assert getattr(e, "code", None) is None
    assert "502 Bad Gateway" in str(e)


def test_drop_after_apply(sdk: Client, ccc_emulator: Emulator) -> None:
    """The connection closes without a response after the numbers were bound."""
    ccc_emulator.inject("drop_after_apply", action="AddBulkPhoneNumbers", times=1)
    e = raised(lambda: add_bulk(sdk, [demo.landline(0), demo.landline(1)]))
    assert type(e) is UnretryableException
    assert "Remote end closed connection without response" in str(e)
    assert [b["number"] for b in ccc_emulator.bindings(INSTANCE)] == [demo.landline(0), demo.landline(1)]
    entry = ccc_emulator.journal[-1]
    assert (entry.action, entry.http_status, entry.ok, entry.fault) == (
        "AddBulkPhoneNumbers",
        0,
        True,
        "drop_after_apply",
    )
    # The server keeps serving, and a retry of the same batch reports both numbers as used.
    body = add_bulk(sdk, [demo.landline(0), demo.landline(1)])
    assert body.userd_phone_numbers.userd_phone_number == [demo.landline(0), demo.landline(1)]


def test_latency_is_added_per_call(sdk: Client, ccc_emulator: Emulator) -> None:
    """A latency fault delays only the targeted action."""
    ccc_emulator.inject("latency", action="ListPhoneNumbers", ms=150)
    start = time.perf_counter()
    list_numbers(sdk)
    assert time.perf_counter() - start >= 0.15
    start = time.perf_counter()
    sdk.list_contact_flows(m.ListContactFlowsRequest(instance_id=INSTANCE))
    assert time.perf_counter() - start < 0.15


def test_latency_overlaps_for_concurrent_calls(
    ccc_emulator: Emulator, client_for: Callable[..., Client]
) -> None:
    """Injected latency is an async sleep: eight concurrent 200 ms calls take far less than 1.6 s."""
    ccc_emulator.latency_ms = 200
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            list_numbers(client_for())
        except BaseException as exc:  # collected, asserted below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    assert errors == []
    assert 0.2 <= elapsed < 0.8
    assert ccc_emulator.calls("ListPhoneNumbers") == 8


@pytest.mark.parametrize(
    ("bucket", "field"),
    [
        ("failed", "failed_phone_numbers.failed_phone_number"),
        ("arrears", "arrearage_phone_numbers.arrearage_phone_number"),
        ("used", "userd_phone_numbers.userd_phone_number"),
    ],
)
def test_reject_numbers(sdk: Client, ccc_emulator: Emulator, bucket: str, field: str) -> None:
    """Injected per-number rejections land in the chosen bucket; the other numbers still bind."""
    ccc_emulator.inject("reject_numbers", numbers=[demo.landline(1)], bucket=bucket)
    body = add_bulk(sdk, [demo.landline(0), demo.landline(1)])
    wrapper, attr = field.split(".")
    assert getattr(getattr(body, wrapper), attr) == [demo.landline(1)]
    assert [p.number for p in body.phone_numbers.phone_number] == [demo.landline(0)]


def test_reject_numbers_times_counts_only_calls_carrying_the_number(
    sdk: Client, ccc_emulator: Emulator
) -> None:
    """times=1 rejects the number once, however many other calls come first."""
    ccc_emulator.inject("reject_numbers", times=1, numbers=[demo.landline(5)])
    add_bulk(sdk, [demo.landline(0)])
    add_bulk(sdk, [demo.landline(1)])
    assert add_bulk(sdk, [demo.landline(5)]).failed_phone_numbers.failed_phone_number == [demo.landline(5)]
    assert [p.number for p in add_bulk(sdk, [demo.landline(5)]).phone_numbers.phone_number] == [
        demo.landline(5)
    ]


def test_rate_limit_per_action(sdk: Client, ccc_emulator: Emulator) -> None:
    """Beyond per_second accepted calls in a rolling second the action answers Throttling.User."""
    ccc_emulator.inject("rate_limit", action="ListPhoneNumbers", per_second=3)
    for _ in range(3):
        list_numbers(sdk)
    e = raised(lambda: list_numbers(sdk))
    assert (type(e), e.code, e.status_code) == (ClientException, "Throttling.User", 400)
    # Other actions are not limited by it.
    sdk.list_contact_flows(m.ListContactFlowsRequest(instance_id=INSTANCE))
    time.sleep(1.05)
    list_numbers(sdk)
    assert [(e.code, e.fault) for e in ccc_emulator.journal if e.action == "ListPhoneNumbers"] == [
        ("OK", None),
        ("OK", None),
        ("OK", None),
        ("Throttling.User", "rate_limit"),
        ("OK", None),
    ]


def test_rate_limit_with_retry_after(sdk: Client, ccc_emulator: Emulator) -> None:
    """A rate limit can announce x-acs-retry-after too."""
    ccc_emulator.inject("rate_limit", per_second=1, retry_after_ms=1000)
    list_numbers(sdk)
    e = raised(lambda: list_numbers(sdk))
    assert (type(e), e.retry_after) == (ThrottlingException, 1000)


def test_times_fires_exactly_n_times(sdk: Client, ccc_emulator: Emulator) -> None:
    """times=2: two refusals, then normal service; the fault is gone from the registry."""
    ccc_emulator.inject("internal_error", action="ListPhoneNumbers", times=2)
    codes = []
    for _ in range(3):
        try:
            list_numbers(sdk)
            codes.append("OK")
        except ServerException as e:
            codes.append(e.code)
    assert codes == ["InternalError", "InternalError", "OK"]
    assert ccc_emulator.faults() == []


def outcomes(call: Callable[[], Any], n: int) -> list[str]:
    """The code of each of n calls: "OK", or the code of the error the SDK raised."""
    out = []
    for _ in range(n):
        try:
            call()
            out.append("OK")
        except (ClientException, ServerException) as e:
            out.append(e.code)
    return out


def test_skip_lets_the_first_calls_through_then_fires_times(sdk: Client, ccc_emulator: Emulator) -> None:
    """skip=2, times=1: two calls pass, the third is refused, then normal service; the fault is gone."""
    fault_id = ccc_emulator.inject("internal_error", action="ListPhoneNumbers", skip=2, times=1)
    assert [(f["id"], f["skip"], f["times"]) for f in ccc_emulator.faults()] == [(fault_id, 2, 1)]
    list_numbers(sdk)
    assert [(f["skip"], f["times"]) for f in ccc_emulator.faults()] == [(1, 1)]
    assert outcomes(lambda: list_numbers(sdk), 3) == ["OK", "InternalError", "OK"]
    assert ccc_emulator.faults() == []
    assert [(e.code, e.fault) for e in ccc_emulator.journal] == [
        ("OK", None),
        ("OK", None),
        ("InternalError", "internal_error"),
        ("OK", None),
    ]


def test_skip_without_times_fires_on_every_later_call(sdk: Client, ccc_emulator: Emulator) -> None:
    """skip=1 alone: the first AddBulk is applied, every later one is throttled before it is applied."""
    ccc_emulator.inject("throttling", action="AddBulkPhoneNumbers", skip=1)
    assert outcomes(lambda: add_bulk(sdk, [demo.landline(len(ccc_emulator.journal))]), 4) == [
        "OK",
        "Throttling.User",
        "Throttling.User",
        "Throttling.User",
    ]
    assert [b["number"] for b in ccc_emulator.bindings(INSTANCE)] == [demo.landline(0)]
    assert [(f["skip"], f["times"]) for f in ccc_emulator.faults()] == [(0, None)]


def test_skip_counts_only_matching_calls(sdk: Client, ccc_emulator: Emulator) -> None:
    """Calls of other actions do not use up skip: the second AddBulk is the one dropped."""
    ccc_emulator.inject("drop_after_apply", action="AddBulkPhoneNumbers", skip=1, times=1)
    list_numbers(sdk)
    add_bulk(sdk, [demo.landline(0)])
    list_numbers(sdk)
    e = raised(lambda: add_bulk(sdk, [demo.landline(1)]))
    assert type(e) is UnretryableException
    add_bulk(sdk, [demo.landline(2)])
    assert [(e.action, e.http_status, e.ok, e.fault) for e in ccc_emulator.journal] == [
        ("ListPhoneNumbers", 200, True, None),
        ("AddBulkPhoneNumbers", 200, True, None),
        ("ListPhoneNumbers", 200, True, None),
        ("AddBulkPhoneNumbers", 0, True, "drop_after_apply"),
        ("AddBulkPhoneNumbers", 200, True, None),
    ]
    assert [b["number"] for b in ccc_emulator.bindings(INSTANCE)] == [demo.landline(i) for i in range(3)]


def test_skip_does_not_count_calls_an_earlier_fault_answered(sdk: Client, ccc_emulator: Emulator) -> None:
    """A call refused by an earlier fault never reaches a later one, so it does not use up its skip."""
    ccc_emulator.inject("throttling", action="ListPhoneNumbers", times=2)
    ccc_emulator.inject("internal_error", action="ListPhoneNumbers", skip=1, times=1)
    assert outcomes(lambda: list_numbers(sdk), 5) == [
        "Throttling.User",
        "Throttling.User",
        "OK",
        "InternalError",
        "OK",
    ]


def test_skip_counts_only_calls_carrying_a_rejected_number(sdk: Client, ccc_emulator: Emulator) -> None:
    """For reject_numbers, skip (like times) counts only the calls that carry one of its numbers."""
    ccc_emulator.inject("reject_numbers", numbers=[demo.landline(5)], skip=1, times=1)
    add_bulk(sdk, [demo.landline(0)])
    assert add_bulk(sdk, [demo.landline(5)]).failed_phone_numbers.failed_phone_number == []
    ccc_emulator.unbind(demo.landline(5))
    add_bulk(sdk, [demo.landline(1)])
    assert add_bulk(sdk, [demo.landline(5)]).failed_phone_numbers.failed_phone_number == [demo.landline(5)]
    assert ccc_emulator.faults() == []


def test_skipped_calls_draw_no_random_number(sdk: Client, ccc_emulator: Emulator) -> None:
    """With probability, the skipped calls pass without a draw: the pattern is the unskipped one, shifted."""

    def list_flows() -> Any:
        return sdk.list_contact_flows(m.ListContactFlowsRequest(instance_id=INSTANCE))

    def pattern(skip: int) -> list[bool]:
        ccc_emulator.reset()
        ccc_emulator.inject("internal_error", action="ListContactFlows", probability=0.5, skip=skip)
        return [code != "OK" for code in outcomes(list_flows, 16)]

    plain = pattern(0)
    assert pattern(3) == [False] * 3 + plain[:13]
    assert 0 < sum(plain[:13]) < 13


def test_skip_on_latency(sdk: Client, ccc_emulator: Emulator) -> None:
    """A latency fault with skip=1 leaves the first call alone and delays the next ones."""
    ccc_emulator.inject("latency", action="ListPhoneNumbers", ms=150, skip=1)
    start = time.perf_counter()
    list_numbers(sdk)
    assert time.perf_counter() - start < 0.15
    start = time.perf_counter()
    list_numbers(sdk)
    assert time.perf_counter() - start >= 0.15


def test_action_targeting(sdk: Client, ccc_emulator: Emulator) -> None:
    """A fault for one action leaves the others alone."""
    ccc_emulator.inject("service_unavailable", action="AddBulkPhoneNumbers")
    list_numbers(sdk)
    assert type(raised(lambda: add_bulk(sdk, [demo.landline(0)]))) is ServerException


def test_probability_is_seeded_and_repeatable(sdk: Client, ccc_emulator: Emulator) -> None:
    """probability=0.5 fires on some calls, the same ones after a reset (seeded random source)."""

    def pattern() -> list[bool]:
        ccc_emulator.inject("internal_error", action="ListContactFlows", probability=0.5)
        out = []
        for _ in range(16):
            try:
                sdk.list_contact_flows(m.ListContactFlowsRequest(instance_id=INSTANCE))
                out.append(False)
            except ServerException:
                out.append(True)
        return out

    first = pattern()
    ccc_emulator.reset()
    assert pattern() == first
    assert 0 < sum(first) < 16


def test_sdk_retries_see_the_throttling_and_succeed(
    ccc_emulator: Emulator, client_for: Callable[..., Client]
) -> None:
    """With Config.retry_options the SDK retries twice on Throttling.User; the journal shows three calls."""
    retry = RetryOptions(
        {
            "retryable": True,
            "retryCondition": [
                {
                    "maxAttempts": 3,
                    "errorCode": ["Throttling.User"],
                    "backoff": {"policy": "Fixed", "period": 1},
                }
            ],
        }
    )
    client = client_for(retry_options=retry)
    ccc_emulator.inject("throttling", action="AddBulkPhoneNumbers", times=2, retry_after_ms=1)
    body = add_bulk(client, [demo.landline(0)])
    assert [p.number for p in body.phone_numbers.phone_number] == [demo.landline(0)]
    assert [(e.http_status, e.code) for e in ccc_emulator.journal] == [
        (400, "Throttling.User"),
        (400, "Throttling.User"),
        (200, "OK"),
    ]


def test_bad_fault_specs_are_refused(ccc_emulator: Emulator) -> None:
    """Unknown kinds, options and buckets raise ValueError at injection time."""
    with pytest.raises(ValueError, match="unknown fault kind 'explode'"):
        ccc_emulator.inject("explode")
    with pytest.raises(ValueError, match="takes no option"):
        ccc_emulator.inject("latency", ms=1, per_second=3)
    with pytest.raises(ValueError, match="bucket must be one of"):
        ccc_emulator.inject("reject_numbers", numbers=["1"], bucket="lost")
    with pytest.raises(ValueError, match="times must be a positive integer"):
        ccc_emulator.inject("throttling", times=0)
    with pytest.raises(ValueError, match=r"^skip must be a non-negative integer, got -1$"):
        ccc_emulator.inject("throttling", skip=-1)
    with pytest.raises(ValueError, match=r"^skip must be a non-negative integer, got True$"):
        ccc_emulator.inject("throttling", skip=True)
    with pytest.raises(ValueError, match=r"^skip must be a non-negative integer, got '1'$"):
        ccc_emulator.inject("throttling", skip="1")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"times, probability and skip do not apply"):
        ccc_emulator.inject("rate_limit", per_second=1, skip=1)
    assert ccc_emulator.faults() == []


def test_faults_at_start_up() -> None:
    """Faults can be registered on an Emulator before it starts serving."""
    emu = Emulator()
    emu.inject("throttling", times=1, retry_after_ms=5)
    with emu:
        client = Client(
            Config(
                endpoint=emu.endpoint,
                protocol="http",
                access_key_id=demo.DEMO_ACCESS_KEY_ID,
                access_key_secret=demo.DEMO_ACCESS_KEY_SECRET,
            )
        )
        e = raised(lambda: list_numbers(client))
        assert (type(e), e.retry_after) == (ThrottlingException, 5)
        assert list_numbers(client).success is True


def test_a_request_in_flight_during_reset_never_applies(
    ccc_emulator: Emulator, client_for: Callable[..., Client]
) -> None:
    """A delayed AddBulk whose client gave up is not applied after a reset (no leak into the next test)."""
    ccc_emulator.inject("latency", action="AddBulkPhoneNumbers", ms=300)
    impatient = client_for(read_timeout=50)
    e = raised(lambda: add_bulk(impatient, [demo.landline(0)]))
    assert type(e) is UnretryableException  # read timeout: the request is still sleeping server-side
    ccc_emulator.reset()
    time.sleep(0.4)
    assert ccc_emulator.bindings(INSTANCE) == []
    assert ccc_emulator.journal == []
