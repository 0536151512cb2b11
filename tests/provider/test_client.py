"""CccClient against the CCC emulator over real HTTP: calls, field mapping, errors, retries, rate limit."""

from __future__ import annotations

import dataclasses
import http.server
import json
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from alibabacloud_credentials.utils import auth_util

from ccc_emulator import Emulator, demo
from ccc_emulator.journal import JournalEntry
from ccc_numbers import client as client_module
from ccc_numbers import embedded
from ccc_numbers import retry as retry_module
from ccc_numbers.client import (
    AddBulkOutcome,
    BoundNumber,
    CccClient,
    ContactFlow,
    SkillGroup,
    probe,
    resolve_endpoint,
)
from ccc_numbers.config import (
    Credentials,
    Endpoint,
    ProviderSettings,
    RetryPolicy,
    RuntimeConfig,
)
from ccc_numbers.errors import (
    ApiError,
    BatchTooLargeError,
    ConfigurationError,
    InvalidInputError,
    InvalidParameterError,
    NotFoundError,
    ThrottledError,
    TransportError,
)
from ccc_numbers.models import Settings, Usage
from ccc_numbers.retry import TokenBucket, instant_retries

INSTANCE = demo.DEMO_INSTANCE_ID
DEMO_CREDS = Credentials(demo.DEMO_ACCESS_KEY_ID, demo.DEMO_ACCESS_KEY_SECRET)
RETRY = RetryPolicy(max_attempts=4, base_delay_ms=100, max_delay_ms=2_000, budget_seconds=60)
WELCOME = Settings(
    Usage.BIDIRECTION, demo.WELCOME_FLOW_ID, (demo.SALES_SKILL_GROUP_ID, demo.DEFAULT_SKILL_GROUP_ID)
)
PLAIN = Settings(Usage.INBOUND)
#: The common parameters of a v1 (HMAC-SHA1) RPC request, which the generated SDK puts in the query
#: (ccc-api.md §1); the journal drops only Signature and SecurityToken.
V1_COMMON = frozenset({
    "Action", "Format", "Version", "Timestamp", "SignatureNonce", "SignatureMethod", "SignatureVersion",
    "AccessKeyId",
})


def business_params(entry: JournalEntry) -> dict[str, str]:
    """A journaled request's own parameters, without the v1 common ones."""
    return {key: value for key, value in entry.params.items() if key not in V1_COMMON}


def runtime_for(
    endpoint: Endpoint,
    *,
    retry: RetryPolicy = RETRY,
    credentials: Credentials | None = DEMO_CREDS,
    **settings: Any,
) -> RuntimeConfig:
    settings.setdefault("requests_per_second", 10_000)
    return RuntimeConfig(ProviderSettings(endpoint=endpoint, retry=retry, **settings), credentials)


def emu_endpoint(emu: Emulator) -> Endpoint:
    return Endpoint(emu.endpoint, "http")


@pytest.fixture(autouse=True)
def waits() -> Iterator[list[float]]:
    """Retry waits, skipped and recorded."""
    with instant_retries() as recorded:
        yield recorded


@pytest.fixture
def client(ccc_emulator: Emulator) -> CccClient:
    return CccClient(runtime_for(emu_endpoint(ccc_emulator)))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_instant_retry_blocks_ending_out_of_order_stay_instant_until_the_last(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two blocks that end in the order they began (two threads): the first to end undoes nothing."""
    testing = retry_module._Testing()
    monkeypatch.setattr(retry_module, "_testing", testing)
    first, second = instant_retries(), instant_retries()
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)
    assert testing.instant is True
    second.__exit__(None, None, None)
    assert testing.instant is False


# -- happy paths and field mapping -----------------------------------------------------------------


def test_list_numbers_of_an_instance_without_bindings_is_empty(
    client: CccClient, ccc_emulator: Emulator
) -> None:
    """ListPhoneNumbers is sent with OutboundOnly=false and an empty answer maps to ()."""
    assert client.list_numbers(INSTANCE) == ()
    assert [(e.action, business_params(e)) for e in ccc_emulator.journal] == [
        # The generated SDK sends booleans as Python prints them (ccc-api.md §1).
        ("ListPhoneNumbers", {"InstanceId": INSTANCE, "OutboundOnly": "False"})
    ]


def test_list_numbers_maps_every_field(client: CccClient, ccc_emulator: Emulator) -> None:
    """Every reported field lands in BoundNumber; skill groups sorted by id with names aligned."""
    pid = ccc_emulator.bind(
        demo.landline(0), INSTANCE, usage="Bidirection", contact_flow_id=demo.WELCOME_FLOW_ID,
        skill_group_ids=(demo.SUPPORT_SKILL_GROUP_ID, demo.DEFAULT_SKILL_GROUP_ID),
    )
    test_pid = ccc_emulator.bind(demo.TEST_ONLY_NUMBERS[0], INSTANCE, usage="Inbound")
    toll_pid = ccc_emulator.bind(demo.toll_free(0), INSTANCE, usage="Inbound")
    assert client.list_numbers(INSTANCE) == (
        BoundNumber(
            number=demo.landline(0), phone_number_id=pid, instance_id=INSTANCE,
            settings=Settings(
                Usage.BIDIRECTION,
                demo.WELCOME_FLOW_ID,
                (demo.DEFAULT_SKILL_GROUP_ID, demo.SUPPORT_SKILL_GROUP_ID),
            ),
            trunks=2, allow_outbound=True, test_only=False, remaining_time=0, description="Ali Telecom",
            contact_flow_name="Welcome", skill_group_names=("Default", "Support"),
        ),
        BoundNumber(
            number=demo.TEST_ONLY_NUMBERS[0], phone_number_id=test_pid, instance_id=INSTANCE,
            settings=Settings(Usage.INBOUND), trunks=1, allow_outbound=False, test_only=True,
            remaining_time=300, description="Test number", contact_flow_name=None, skill_group_names=(),
        ),
        BoundNumber(
            number=demo.toll_free(0), phone_number_id=toll_pid, instance_id=INSTANCE,
            settings=Settings(Usage.INBOUND), trunks=10, allow_outbound=False, test_only=False,
            remaining_time=0, description="400 toll-free", contact_flow_name=None, skill_group_names=(),
        ),
    )


def test_add_bulk_binds_and_sends_flattened_lists(client: CccClient, ccc_emulator: Emulator) -> None:
    """AddBulkPhoneNumbers carries PhoneNumber.N, Usage, ContactFlowId and sorted SkillGroupId.N."""
    outcome = client.add_bulk(INSTANCE, [demo.landline(1), demo.landline(2)], WELCOME)
    live = {b["number"]: b["phone_number_id"] for b in ccc_emulator.bindings(INSTANCE)}
    first = BoundNumber(
        number=demo.landline(1), phone_number_id=live[demo.landline(1)], instance_id=INSTANCE,
        settings=WELCOME, trunks=1, allow_outbound=True, test_only=False, remaining_time=0,
        description="China Unicom", contact_flow_name="Welcome", skill_group_names=("Default", "Sales"),
    )
    second = dataclasses.replace(
        first, number=demo.landline(2), phone_number_id=live[demo.landline(2)], description="Ali Telecom"
    )
    assert outcome == AddBulkOutcome(bound=(first, second), used=(), arrears=(), failed=())
    assert [business_params(e) for e in ccc_emulator.journal] == [{
        "InstanceId": INSTANCE, "PhoneNumber.1": demo.landline(1), "PhoneNumber.2": demo.landline(2),
        "Usage": "Bidirection", "ContactFlowId": demo.WELCOME_FLOW_ID,
        "SkillGroupId.1": demo.DEFAULT_SKILL_GROUP_ID, "SkillGroupId.2": demo.SALES_SKILL_GROUP_ID,
    }]


def test_add_bulk_without_flow_or_groups_sends_neither(client: CccClient, ccc_emulator: Emulator) -> None:
    """Absent settings are left out of the request rather than sent empty."""
    client.add_bulk(INSTANCE, [demo.landline(3)], PLAIN)
    assert [business_params(e) for e in ccc_emulator.journal] == [
        {"InstanceId": INSTANCE, "PhoneNumber.1": demo.landline(3), "Usage": "Inbound"}
    ]


def test_add_bulk_reports_rejected_numbers_per_bucket(client: CccClient, ccc_emulator: Emulator) -> None:
    """Used, arrears and failed numbers come back as lists, not exceptions; the rest is bound."""
    ccc_emulator.inject("reject_numbers", numbers=[demo.landline(7)], bucket="failed")
    outcome = client.add_bulk(
        INSTANCE,
        [demo.landline(4), demo.PREBOUND_NUMBER, demo.ARREARS_NUMBERS[0], "12", demo.landline(7)],
        PLAIN,
    )
    assert [b.number for b in outcome.bound] == [demo.landline(4)]
    assert (outcome.used, outcome.arrears, outcome.failed) == (
        (demo.PREBOUND_NUMBER,), (demo.ARREARS_NUMBERS[0],), ("12", demo.landline(7))
    )
    assert ccc_emulator.calls("AddBulkPhoneNumbers") == 1


def test_modify_replaces_the_settings(client: CccClient, ccc_emulator: Emulator) -> None:
    """ModifyPhoneNumber sends the full settings and the answer maps to a BoundNumber."""
    pid = ccc_emulator.bind(demo.landline(10), INSTANCE, usage="Inbound")
    changed = client.modify(INSTANCE, pid, WELCOME)
    assert changed == BoundNumber(
        number=demo.landline(10), phone_number_id=pid, instance_id=INSTANCE, settings=WELCOME, trunks=2,
        allow_outbound=True, test_only=False, remaining_time=0, description="Ali Telecom",
        contact_flow_name="Welcome", skill_group_names=("Default", "Sales"),
    )
    assert [business_params(e) for e in ccc_emulator.journal] == [{
        "InstanceId": INSTANCE, "PhoneNumberId": pid, "Usage": "Bidirection",
        "ContactFlowId": demo.WELCOME_FLOW_ID,
        "SkillGroupId.1": demo.DEFAULT_SKILL_GROUP_ID, "SkillGroupId.2": demo.SALES_SKILL_GROUP_ID,
    }]
    cleared = client.modify(INSTANCE, pid, PLAIN)
    assert (cleared.settings, cleared.contact_flow_name, cleared.skill_group_names) == (PLAIN, None, ())


def test_remove_unbinds_then_reports_not_found(client: CccClient, ccc_emulator: Emulator) -> None:
    """A second RemovePhoneNumber for the same id is NotExist.PhoneNumber → NotFoundError, not retried."""
    pid = ccc_emulator.bind(demo.landline(11), INSTANCE)
    client.remove(INSTANCE, pid)
    assert ccc_emulator.bindings(INSTANCE) == []
    with pytest.raises(NotFoundError) as caught:
        client.remove(INSTANCE, pid)
    err = caught.value
    assert (err.code, err.message, err.http_status, err.outcome_unknown) == (
        "NotExist.PhoneNumber", f"Phone number '{pid}' does not exist", 404, False
    )
    assert str(err) == (
        f"removing phone number {pid} from CCC instance {INSTANCE}: NotExist.PhoneNumber: Phone number "
        f"'{pid}' does not exist (HTTP 404, request id {err.request_id})"
    )
    assert ccc_emulator.calls("RemovePhoneNumber") == 2


def test_list_contact_flows_and_skill_groups_map_ids_and_names(
    client: CccClient, ccc_emulator: Emulator
) -> None:
    """ListContactFlows and ListSkillGroups come back as ids, names (and flow types), one call each."""
    assert client.list_contact_flows(INSTANCE) == (
        ContactFlow(demo.WELCOME_FLOW_ID, "Welcome", "Mainflow"),
        ContactFlow(demo.IVR_FLOW_ID, "IVR main menu", "Mainflow"),
        ContactFlow(demo.AFTER_HOURS_FLOW_ID, "After hours", "Mainflow"),
    )
    assert client.list_skill_groups(INSTANCE) == (
        SkillGroup(demo.DEFAULT_SKILL_GROUP_ID, "Default"),
        SkillGroup(demo.SALES_SKILL_GROUP_ID, "Sales"),
        SkillGroup(demo.SUPPORT_SKILL_GROUP_ID, "Support"),
    )
    assert [(e.action, business_params(e)) for e in ccc_emulator.journal] == [
        ("ListContactFlows", {"InstanceId": INSTANCE}),
        ("ListSkillGroups", {"InstanceId": INSTANCE}),
    ]


def test_every_call_is_a_v1_signed_rpc_request_like_the_generated_clients(
    client: CccClient, ccc_emulator: Emulator
) -> None:
    """Each of the six calls carries the v1 common parameters, HMAC-SHA1, as the generated SDK sends them."""
    pid = ccc_emulator.bind(demo.landline(40), INSTANCE)
    client.list_numbers(INSTANCE)
    client.add_bulk(INSTANCE, [demo.landline(41)], WELCOME)
    client.modify(INSTANCE, pid, PLAIN)
    client.remove(INSTANCE, pid)
    client.list_contact_flows(INSTANCE)
    client.list_skill_groups(INSTANCE)
    entries = ccc_emulator.journal
    assert [e.action for e in entries] == [
        "ListPhoneNumbers", "AddBulkPhoneNumbers", "ModifyPhoneNumber", "RemovePhoneNumber",
        "ListContactFlows", "ListSkillGroups",
    ]
    for entry in entries:
        common = {key: value for key, value in entry.params.items() if key in V1_COMMON}
        assert set(common) == V1_COMMON
        assert (common["Action"], common["Format"], common["Version"]) == (entry.action, "json", "2017-07-05")
        assert (common["SignatureMethod"], common["SignatureVersion"]) == ("HMAC-SHA1", "1.0")
        assert common["AccessKeyId"] == demo.DEMO_ACCESS_KEY_ID
        assert re.fullmatch(r"[0-9a-f]{32}", common["SignatureNonce"])
        assert entry.ok


def test_probe_reads_the_gateway_answer_and_its_date(ccc_emulator: Emulator) -> None:
    """An unsigned GET / gets the gateway's MissingSignature and a Date within a second or two of ours."""
    found = probe(emu_endpoint(ccc_emulator))
    assert (found.http_status, found.code) == (400, "MissingSignature")
    assert found.server_time is not None
    assert abs(found.server_time - found.local_time) < 2.0  # Date has whole seconds
    assert [(e.action, e.code) for e in ccc_emulator.journal] == [("", "MissingSignature")]


def test_probe_of_a_closed_port_is_a_transport_error() -> None:
    """Nothing listening: one TransportError naming the URL, not applied."""
    endpoint = Endpoint(f"127.0.0.1:{free_port()}", "http")
    with pytest.raises(TransportError) as caught:
        probe(endpoint, timeout_seconds=2)
    assert caught.value.outcome_unknown is False
    assert str(caught.value) == (
        f"probing {endpoint.url}: no answer from {endpoint.url}: [Errno 111] Connection refused"
    )


# -- errors translated -----------------------------------------------------------------------------


def test_unknown_instance_is_not_found(client: CccClient) -> None:
    """NotExist.Instance (404) → NotFoundError with the API's code, message and status."""
    with pytest.raises(NotFoundError) as caught:
        client.list_numbers("no-such-instance")
    err = caught.value
    assert (err.code, err.message, err.http_status) == (
        "NotExist.Instance", "Call center instance 'no-such-instance' does not exist", 404
    )
    assert err.request_id is not None
    assert str(err) == (
        "listing the phone numbers of CCC instance no-such-instance: NotExist.Instance: Call center "
        f"instance 'no-such-instance' does not exist (HTTP 404, request id {err.request_id})"
    )


def test_unknown_contact_flow_is_not_found(client: CccClient) -> None:
    """NotExist.ContactFlow on AddBulk → NotFoundError naming the flow."""
    with pytest.raises(NotFoundError) as caught:
        client.add_bulk(INSTANCE, [demo.landline(5)], Settings(Usage.INBOUND, "no-such-flow"))
    assert (caught.value.code, caught.value.message) == (
        "NotExist.ContactFlow", "Contact flow 'no-such-flow' does not exist"
    )


def test_invalid_parameter_is_invalid_parameter(client: CccClient, ccc_emulator: Emulator) -> None:
    """A 400 number with Bidirection → InvalidParameter 400 → InvalidParameterError, sent once."""
    with pytest.raises(InvalidInputError) as caught:
        client.add_bulk(INSTANCE, [demo.toll_free(1)], Settings(Usage.BIDIRECTION))
    err = caught.value
    # A parameter refusal, which the executor may answer by splitting a batch (issue 11.2).
    assert type(err) is InvalidParameterError
    assert (err.code, err.message, err.http_status) == (
        "InvalidParameter",
        f'The specified parameter "Usage" is not valid. The 400 number {demo.toll_free(1)} can only be '
        "bound with Usage Inbound.",
        400,
    )
    assert ccc_emulator.calls() == 1


def test_unknown_access_key_is_invalid_input_not_not_found(ccc_emulator: Emulator) -> None:
    """InvalidAccessKeyId.NotFound (404) must not read as "binding gone", or a delete would pass silently."""
    bad = CccClient(runtime_for(emu_endpoint(ccc_emulator), credentials=Credentials("LTAInobody", "x" * 30)))
    with pytest.raises(InvalidInputError) as caught:
        bad.remove(INSTANCE, "some-id")
    err = caught.value
    assert not isinstance(err, (NotFoundError, InvalidParameterError))
    assert (err.code, err.http_status) == ("InvalidAccessKeyId.NotFound", 404)
    assert err.message == "Specified access key is not found."


def test_wrong_secret_is_signature_mismatch(ccc_emulator: Emulator) -> None:
    """SignatureDoesNotMatch → InvalidInputError; not retried."""
    bad = CccClient(runtime_for(emu_endpoint(ccc_emulator),
                                credentials=Credentials(demo.DEMO_ACCESS_KEY_ID, "wrong-secret-value")))
    with pytest.raises(InvalidInputError) as caught:
        bad.list_numbers(INSTANCE)
    assert caught.value.code == "SignatureDoesNotMatch"
    assert caught.value.http_status == 400
    assert not isinstance(caught.value, InvalidParameterError)  # splitting a batch cannot help
    assert caught.value.message.startswith("Specified signature is not matched with our calculation.")
    assert str(caught.value).endswith(
        "). The AccessKey from stack config (AccessKeyId LTAI5tCccEmulatorDemo01) was refused: check "
        "ccc:accessKeyId, ccc:accessKeySecret and ccc:securityToken, or ALIBABA_CLOUD_ACCESS_KEY_ID, "
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET and ALIBABA_CLOUD_SECURITY_TOKEN"
    )


def test_unknown_key_names_where_the_key_came_from(ccc_emulator: Emulator) -> None:
    """InvalidAccessKeyId.NotFound says the key came from the environment and which settings to fix."""
    bad = CccClient(runtime_for(emu_endpoint(ccc_emulator),
                                credentials=Credentials("LTAI-unknown", "s", None, "environment")))
    with pytest.raises(InvalidInputError) as caught:
        bad.list_numbers(INSTANCE)
    assert caught.value.hint == (
        "The AccessKey from environment (AccessKeyId LTAI-unknown) was refused: check ccc:accessKeyId, "
        "ccc:accessKeySecret and ccc:securityToken, or ALIBABA_CLOUD_ACCESS_KEY_ID, "
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET and ALIBABA_CLOUD_SECURITY_TOKEN"
    )


def test_business_errors_carry_no_credential_hint(client: CccClient) -> None:
    """A NotExist.Instance error is about the request, not the key: no hint is added."""
    with pytest.raises(NotFoundError) as caught:
        client.list_numbers("gone")
    assert caught.value.hint is None


def test_batch_cap_refusal_is_batch_too_large(client: CccClient, ccc_emulator: Emulator) -> None:
    """Parameter.Maximum on AddBulk → BatchTooLargeError with the cap; nothing bound, not retried."""
    ccc_emulator.max_batch_size = 5
    with pytest.raises(BatchTooLargeError) as caught:
        client.add_bulk(INSTANCE, [demo.landline(i) for i in range(6)], PLAIN)
    err = caught.value
    assert (err.code, err.message, err.http_status, err.maximum) == (
        "Parameter.Maximum", "The number of PhoneNumber must be less than or equal to 5.", 400, 5
    )
    assert str(err) == (
        f"adding 6 phone numbers to CCC instance {INSTANCE}: Parameter.Maximum: The number of PhoneNumber "
        f"must be less than or equal to 5. (HTTP 400, request id {err.request_id})"
    )
    assert ccc_emulator.bindings(INSTANCE) == []
    assert ccc_emulator.calls("AddBulkPhoneNumbers") == 1


def test_annotate_adds_executor_context(client: CccClient) -> None:
    """The executor's batch context goes between the action and the reason."""
    with pytest.raises(NotFoundError) as caught:
        client.list_numbers("gone")
    caught.value.annotate("batch 2/3")
    assert str(caught.value).startswith(
        "listing the phone numbers of CCC instance gone, batch 2/3: NotExist.Instance: "
    )


# -- retries ---------------------------------------------------------------------------------------


def test_throttling_without_retry_after_is_ridden_out(
    client: CccClient, ccc_emulator: Emulator, waits: list[float]
) -> None:
    """Two throttled answers, then success: three calls, full-jitter waits under 0.1 s then 0.2 s."""
    ccc_emulator.inject("throttling", action="ListPhoneNumbers", times=2)
    assert client.list_numbers(INSTANCE) == ()
    assert ccc_emulator.calls("ListPhoneNumbers") == 3
    assert len(waits) == 2
    assert 0 <= waits[0] <= 0.1
    assert 0 <= waits[1] <= 0.2


def test_throttling_retry_after_is_honoured(
    client: CccClient, ccc_emulator: Emulator, waits: list[float]
) -> None:
    """x-acs-retry-after: 1500 → the client waits exactly 1.5 s before the second call."""
    ccc_emulator.inject("throttling", action="ListPhoneNumbers", times=1, retry_after_ms=1500)
    client.list_numbers(INSTANCE)
    assert ccc_emulator.calls("ListPhoneNumbers") == 2
    assert waits == [1.5]


def test_retry_after_is_capped_by_max_delay(ccc_emulator: Emulator, waits: list[float]) -> None:
    """A retry-after beyond retry.max_delay_ms waits max_delay_ms."""
    c = CccClient(runtime_for(emu_endpoint(ccc_emulator), retry=RetryPolicy(4, 100, 2_000, 600)))
    ccc_emulator.inject("throttling", times=1, retry_after_ms=60_000)
    c.list_numbers(INSTANCE)
    assert waits == [2.0]


def test_throttled_add_bulk_is_retried(client: CccClient, ccc_emulator: Emulator) -> None:
    """Throttling refuses before applying, so AddBulk is sent again and binds once."""
    ccc_emulator.inject("throttling", action="AddBulkPhoneNumbers", times=2)
    outcome = client.add_bulk(INSTANCE, [demo.landline(20)], PLAIN)
    assert [b.number for b in outcome.bound] == [demo.landline(20)]
    assert ccc_emulator.calls("AddBulkPhoneNumbers") == 3


@pytest.mark.parametrize("kind", ["service_unavailable", "internal_error"])
def test_5xx_is_retried_for_list_modify_remove(client: CccClient, ccc_emulator: Emulator, kind: str) -> None:
    """One 5xx per call is ridden out: two calls journaled per action."""
    pid = ccc_emulator.bind(demo.landline(21), INSTANCE)
    ccc_emulator.inject(kind, times=1, action="ListPhoneNumbers")
    ccc_emulator.inject(kind, times=1, action="ModifyPhoneNumber")
    ccc_emulator.inject(kind, times=1, action="RemovePhoneNumber")
    assert [b.number for b in client.list_numbers(INSTANCE)] == [demo.landline(21)]
    client.modify(INSTANCE, pid, WELCOME)
    client.remove(INSTANCE, pid)
    actions = ("ListPhoneNumbers", "ModifyPhoneNumber", "RemovePhoneNumber")
    assert [ccc_emulator.calls(a) for a in actions] == [2, 2, 2]


@pytest.mark.parametrize(
    ("kind", "code", "status", "message"),
    [
        ("service_unavailable", "ServiceUnavailable", 503,
         "The request has failed due to a temporary failure of the server."),
        ("internal_error", "InternalError", 500,
         "The request processing has failed due to some unknown error, exception or failure."),
    ],
)
def test_5xx_on_add_bulk_is_not_resent(  # noqa: PLR0917 - parametrised cases
    client: CccClient, ccc_emulator: Emulator, kind: str, code: str, status: int, message: str
) -> None:
    """A 5xx may have applied the batch (here it did): exactly one call, outcome_unknown for the executor."""
    ccc_emulator.inject(kind, times=1, action="AddBulkPhoneNumbers", applied=True)
    with pytest.raises(ThrottledError) as caught:
        client.add_bulk(INSTANCE, [demo.landline(22)], PLAIN)
    err = caught.value
    assert (err.code, err.message, err.http_status, err.outcome_unknown, err.attempts) == (
        code, message, status, True, 1
    )
    assert str(err) == (
        f"adding 1 phone number to CCC instance {INSTANCE}: {code}: {message} "
        f"(HTTP {status}, request id {err.request_id}; the request may have been applied)"
    )
    assert ccc_emulator.calls("AddBulkPhoneNumbers") == 1
    assert [b["number"] for b in ccc_emulator.bindings(INSTANCE)] == [demo.landline(22)]


def test_dropped_add_bulk_is_outcome_unknown(client: CccClient, ccc_emulator: Emulator) -> None:
    """drop_after_apply: applied, connection closed → TransportError(outcome_unknown), one call."""
    ccc_emulator.inject("drop_after_apply", times=1, action="AddBulkPhoneNumbers")
    with pytest.raises(TransportError) as caught:
        client.add_bulk(INSTANCE, [demo.landline(23)], PLAIN)
    err = caught.value
    assert err.outcome_unknown is True
    assert str(err) == (
        f"adding 1 phone number to CCC instance {INSTANCE}: the connection to http://{ccc_emulator.endpoint} "
        "closed before an answer arrived (the request may have been applied)"
    )
    assert ccc_emulator.calls("AddBulkPhoneNumbers") == 1
    assert [b["number"] for b in ccc_emulator.bindings(INSTANCE)] == [demo.landline(23)]


def test_dropped_remove_is_retried_into_not_found(client: CccClient, ccc_emulator: Emulator) -> None:
    """A remove applied but unanswered is sent again and meets NotExist.PhoneNumber (done, for delete)."""
    pid = ccc_emulator.bind(demo.landline(24), INSTANCE)
    ccc_emulator.inject("drop_after_apply", times=1, action="RemovePhoneNumber")
    with pytest.raises(NotFoundError) as caught:
        client.remove(INSTANCE, pid)
    err = caught.value
    assert (err.attempts, err.outcome_unknown) == (2, True)
    assert str(err) == (
        f"removing phone number {pid} from CCC instance {INSTANCE}: NotExist.PhoneNumber: Phone number "
        f"'{pid}' does not exist (HTTP 404, request id {err.request_id}; the request may have been applied; "
        "on attempt 2)"
    )
    assert ccc_emulator.calls("RemovePhoneNumber") == 2
    assert ccc_emulator.bindings(INSTANCE) == []


def test_unknown_outcome_sticks_through_later_throttling(
    ccc_emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Modify dropped after applying, then throttled to the end: the call's outcome is still unknown."""
    pid = ccc_emulator.bind(demo.landline(27), INSTANCE, usage="Inbound")
    c = CccClient(runtime_for(emu_endpoint(ccc_emulator), retry=RetryPolicy(3, 0, 0, 60)))
    ccc_emulator.inject("drop_after_apply", times=1, action="ModifyPhoneNumber")

    # Throttling is checked before a request is applied, so it may only start after the first attempt.
    def throttle_from_now_on(seconds: float) -> None:
        if not ccc_emulator.faults():
            ccc_emulator.inject("throttling", action="ModifyPhoneNumber")

    monkeypatch.setattr(retry_module, "_sleep", throttle_from_now_on)
    with pytest.raises(ThrottledError) as caught:
        c.modify(INSTANCE, pid, WELCOME)
    assert (caught.value.attempts, caught.value.outcome_unknown) == (3, True)
    assert ccc_emulator.bindings(INSTANCE)[0]["usage"] == "Bidirection"  # the first attempt applied


def test_read_timeout_is_retried_for_list_not_for_add(waits: list[float]) -> None:
    """No answer within the read timeout: list tries max_attempts times, AddBulk once (and it applied).

    A private emulator: the timed-out requests finish after the client gave up, and must not land
    in the next test's state.
    """
    with Emulator() as emu:
        c = CccClient(runtime_for(emu_endpoint(emu), read_timeout_ms=100, retry=RetryPolicy(2, 0, 0, 60)))
        emu.inject("latency", ms=300)
        with pytest.raises(TransportError) as listing:
            c.list_numbers(INSTANCE)
        assert str(listing.value) == (
            f"listing the phone numbers of CCC instance {INSTANCE}: no answer from "
            f"http://{emu.endpoint} within 100 ms (the request may have been applied; gave up after "
            "2 attempts)"
        )
        with pytest.raises(TransportError) as adding:
            c.add_bulk(INSTANCE, [demo.landline(25)], PLAIN)
        assert (adding.value.outcome_unknown, adding.value.attempts) == (True, 1)
        assert waits == [0.0]  # one wait between the two list attempts, none for the add
        deadline = time.monotonic() + 5
        while emu.calls() < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert (emu.calls("ListPhoneNumbers"), emu.calls("AddBulkPhoneNumbers")) == (2, 1)
        assert [b["number"] for b in emu.bindings(INSTANCE)] == [demo.landline(25)]


def test_non_json_502_is_a_transport_error(client: CccClient, ccc_emulator: Emulator) -> None:
    """A load balancer's HTML 502: retried for list (4 calls), named plainly, HTML not quoted."""
    ccc_emulator.inject("bad_gateway", action="ListPhoneNumbers")
    with pytest.raises(TransportError) as caught:
        client.list_numbers(INSTANCE)
    assert str(caught.value) == (
        f"listing the phone numbers of CCC instance {INSTANCE}: the answer from "
        f"http://{ccc_emulator.endpoint} was not a CCC JSON document (a proxy or gateway error page?) "
        "(the request may have been applied; gave up after 4 attempts)"
    )
    assert ccc_emulator.calls("ListPhoneNumbers") == 4


def test_attempts_exhausted_names_action_and_attempts(ccc_emulator: Emulator, waits: list[float]) -> None:
    """Throttled on every call: max_attempts calls, then ThrottledError saying so."""
    c = CccClient(runtime_for(emu_endpoint(ccc_emulator), retry=RetryPolicy(3, 100, 1_000, 60)))
    ccc_emulator.inject("throttling", action="RemovePhoneNumber")
    with pytest.raises(ThrottledError) as caught:
        c.remove(INSTANCE, "pn-1")
    err = caught.value
    assert (err.attempts, err.outcome_unknown) == (3, False)
    assert str(err) == (
        f"removing phone number pn-1 from CCC instance {INSTANCE}: Throttling.User: Request was denied due "
        f"to user flow control. (HTTP 400, request id {err.request_id}; gave up after 3 attempts)"
    )
    assert ccc_emulator.calls("RemovePhoneNumber") == 3
    assert len(waits) == 2


def test_budget_exhausted_stops_before_a_wait_that_would_overrun(ccc_emulator: Emulator) -> None:
    """A retry-after longer than the remaining budget ends the retries at once."""
    c = CccClient(runtime_for(emu_endpoint(ccc_emulator), retry=RetryPolicy(6, 100, 10_000, 4)))
    ccc_emulator.inject("throttling", retry_after_ms=5_000)
    with pytest.raises(ThrottledError) as caught:
        c.list_numbers(INSTANCE)
    assert caught.value.retry_note == (
        "gave up after 1 attempt: waiting 5.0 s more would exceed the retry budget of 4 s"
    )
    assert ccc_emulator.calls("ListPhoneNumbers") == 1


def test_connection_refused_is_retried_even_for_add(waits: list[float]) -> None:
    """Nothing was sent, so the outcome is known (not applied) and AddBulk may be retried."""
    endpoint = Endpoint(f"127.0.0.1:{free_port()}", "http")
    c = CccClient(runtime_for(endpoint, retry=RetryPolicy(3, 0, 0, 60)))
    with pytest.raises(TransportError) as caught:
        c.add_bulk(INSTANCE, [demo.landline(26)], PLAIN)
    assert caught.value.outcome_unknown is False
    assert str(caught.value) == (
        f"adding 1 phone number to CCC instance {INSTANCE}: could not connect to {endpoint.url}: "
        "connection refused (gave up after 3 attempts)"
    )
    assert len(waits) == 2


def test_https_to_a_plain_http_server_says_so(ccc_emulator: Emulator) -> None:
    """TLS against the HTTP emulator fails before sending, with a hint to write http://."""
    c = CccClient(runtime_for(Endpoint(ccc_emulator.endpoint, "https"), retry=RetryPolicy(1, 0, 0, 60)))
    with pytest.raises(TransportError) as caught:
        c.list_numbers(INSTANCE)
    assert caught.value.outcome_unknown is False
    assert caught.value.reason == (
        f"the TLS handshake with https://{ccc_emulator.endpoint} failed (is it plain HTTP? write the "
        "endpoint as http://…)"
    )


# -- HTTP 200 with Success:false (the emulator never answers so; a canned server does) --------------


class _Canned(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    answers: list[dict[str, Any]] = []  # noqa: RUF012 - set per test by the fixture

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        body = json.dumps(self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def canned() -> Iterator[tuple[Endpoint, list[dict[str, Any]]]]:
    answers: list[dict[str, Any]] = []
    handler = type("Handler", (_Canned,), {"answers": answers})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    try:
        yield Endpoint(f"127.0.0.1:{server.server_address[1]}", "http"), answers
    finally:
        server.shutdown()
        server.server_close()


def _failure(code: str, message: str, status: int = 200) -> dict[str, Any]:
    return {
        "RequestId": "REQ-1", "Success": False, "Code": code, "Message": message, "HttpStatusCode": status
    }


def test_success_false_is_an_api_error(canned: tuple[Endpoint, list[dict[str, Any]]]) -> None:
    """HTTP 200 with Success:false and an unknown code → ApiError with the body's code and status."""
    endpoint, answers = canned
    answers.append(_failure("Forbidden.Unknown", "Nope."))
    with pytest.raises(ApiError) as caught:
        CccClient(runtime_for(endpoint)).list_numbers(INSTANCE)
    err = caught.value
    assert type(err) is ApiError
    assert str(err) == (
        f"listing the phone numbers of CCC instance {INSTANCE}: Forbidden.Unknown: Nope. "
        "(HTTP 200, request id REQ-1)"
    )


def test_success_false_not_exist_is_not_found(canned: tuple[Endpoint, list[dict[str, Any]]]) -> None:
    """Success:false with NotExist.PhoneNumber and HttpStatusCode 404 → NotFoundError, status 404."""
    endpoint, answers = canned
    answers.append(_failure("NotExist.PhoneNumber", "gone", 404))
    with pytest.raises(NotFoundError) as caught:
        CccClient(runtime_for(endpoint)).remove(INSTANCE, "pn")
    assert (caught.value.code, caught.value.http_status) == ("NotExist.PhoneNumber", 404)


def test_success_false_throttling_is_retried(canned: tuple[Endpoint, list[dict[str, Any]]]) -> None:
    """Success:false with Throttling.User is retried like a 400 Throttling answer."""
    endpoint, answers = canned
    answers.extend([_failure("Throttling.User", "slow down"), {"RequestId": "R", "Success": True}])
    assert CccClient(runtime_for(endpoint)).list_numbers(INSTANCE) == ()


# -- proxies, rate limit, credentials, embedded ------------------------------------------------------


def test_loopback_calls_ignore_proxy_variables(
    client: CccClient, ccc_emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """HTTP_PROXY pointing nowhere does not catch loopback calls, and os.environ is left as it was."""
    dead = f"http://127.0.0.1:{free_port()}"
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy"):
        monkeypatch.setenv(name, dead)
    assert client.list_numbers(INSTANCE) == ()
    import os  # noqa: PLC0415 - read here, after monkeypatching, on purpose

    assert os.environ["HTTP_PROXY"] == dead


def test_token_bucket_counts() -> None:
    """25 tokens at 10/s with a burst of 1: the first is free, the other 24 wait 0.1 s each."""
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)

    bucket = TokenBucket(10.0, clock=lambda: now[0], sleep=sleep)
    for _ in range(25):
        bucket.acquire()
    assert len(slept) == 24
    assert sum(slept) == pytest.approx(24 * 0.1 * 25 / 2)  # reservations stack: 0.1, 0.2, … 2.4


def test_rate_limit_holds_under_concurrency(ccc_emulator: Emulator) -> None:
    """8 threads, 30 calls at 20/s: the emulator's 25-per-rolling-second limit never fires."""
    ccc_emulator.inject("rate_limit", action="ListPhoneNumbers", per_second=25)
    runtime = runtime_for(emu_endpoint(ccc_emulator), requests_per_second=20, retry=RetryPolicy(1, 0, 0, 60))

    def one(_: int) -> tuple[BoundNumber, ...]:
        return CccClient(runtime).list_numbers(INSTANCE)

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(one, range(30)))
    assert results == [()] * 30
    assert [e.code for e in ccc_emulator.journal].count("Throttling.User") == 0
    assert ccc_emulator.calls("ListPhoneNumbers") == 30


def test_rate_limit_test_has_teeth(ccc_emulator: Emulator) -> None:
    """Control: the same load without our limit (10000/s) trips the emulator's limit."""
    ccc_emulator.inject("rate_limit", action="ListPhoneNumbers", per_second=25)
    runtime = runtime_for(emu_endpoint(ccc_emulator), retry=RetryPolicy(1, 0, 0, 60))

    def one(_: int) -> str:
        try:
            CccClient(runtime).list_numbers(INSTANCE)
        except ThrottledError as err:
            return err.code
        return "OK"

    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(one, range(30)))
    # 5 when the 30 calls fit in one second, as they do in ~30 ms; fewer only on a machine 30x slower.
    assert codes.count("Throttling.User") >= 1
    assert codes.count("OK") + codes.count("Throttling.User") == 30


@pytest.fixture
def no_default_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The default credential chain finds nothing: no env keys, no profiles, no ECS metadata probe."""
    for name in ("ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
                 "ALIBABA_CLOUD_SECURITY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    # The credentials package reads its environment once, at import: patch what it read.
    monkeypatch.setattr(auth_util, "environment_access_key_id", None)
    monkeypatch.setattr(auth_util, "environment_access_key_secret", None)
    monkeypatch.setattr(auth_util, "environment_security_token", None)
    monkeypatch.setattr(auth_util, "environment_ecs_metadata_disabled", "true")
    monkeypatch.setattr(auth_util, "environment_cli_profile_disabled", "true")
    monkeypatch.setattr(auth_util, "environment_credentials_file", str(tmp_path / "credentials"))
    monkeypatch.setattr(auth_util, "environment_credentials_uri", None)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setattr(client_module, "_default_chain", None)
    return tmp_path


def test_no_credentials_anywhere_is_one_clear_error(
    ccc_emulator: Emulator, no_default_credentials: Path
) -> None:
    """Against a real endpoint with no key in config, environment or chain: one error naming every way."""
    c = CccClient(runtime_for(emu_endpoint(ccc_emulator), credentials=None))
    with pytest.raises(ConfigurationError) as caught:
        c.list_numbers(INSTANCE)
    assert str(caught.value) == (
        f"no Alibaba Cloud credentials for the CCC endpoint http://{ccc_emulator.endpoint}: set "
        "ccc:accessKeyId and ccc:accessKeySecret (pulumi config set ccc:accessKeyId <id>; pulumi config set "
        "--secret ccc:accessKeySecret <secret>), or the environment variables "
        "ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET, or a profile or RAM role for "
        "the Alibaba Cloud default credential chain"
    )
    assert ccc_emulator.calls() == 0


def test_default_chain_profile_is_used(ccc_emulator: Emulator, no_default_credentials: Path) -> None:
    """With no configured key, a profile found by the default chain signs the calls."""
    (no_default_credentials / "credentials").write_text(
        "[default]\ntype = access_key\n"
        f"access_key_id = {demo.DEMO_ACCESS_KEY_ID}\naccess_key_secret = {demo.DEMO_ACCESS_KEY_SECRET}\n"
    )
    c = CccClient(runtime_for(emu_endpoint(ccc_emulator), credentials=None))
    assert c.list_numbers(INSTANCE) == ()


def test_sts_credentials_are_sent(ccc_emulator: Emulator) -> None:
    """An STS key works only with its security token, which the client sends."""
    sts = Credentials(
        demo.DEMO_STS_ACCESS_KEY_ID, demo.DEMO_STS_ACCESS_KEY_SECRET, demo.DEMO_STS_SECURITY_TOKEN
    )
    assert CccClient(runtime_for(emu_endpoint(ccc_emulator), credentials=sts)).list_numbers(INSTANCE) == ()


def test_embedded_emulator_starts_once_and_keeps_state(tmp_path: Path) -> None:
    """`embedded`: one emulator per state file and process, demo-seeded, state surviving a restart."""
    state = tmp_path / "nested" / "state.sqlite3"
    runtime = RuntimeConfig(
        ProviderSettings(embedded=True, embedded_state_path=str(state), requests_per_second=10_000),
        Credentials(demo.DEMO_ACCESS_KEY_ID, demo.DEMO_ACCESS_KEY_SECRET, None, "emulator demo key"),
    )
    try:
        first = resolve_endpoint(runtime.settings)
        assert resolve_endpoint(runtime.settings) == first
        assert first.protocol == "http"
        assert first.is_loopback
        assert state.exists()
        outcome = CccClient(runtime).add_bulk(INSTANCE, [demo.landline(30)], PLAIN)
        assert [b.number for b in outcome.bound] == [demo.landline(30)]
        embedded.stop_all()
        assert embedded.running() == {}
        second = resolve_endpoint(runtime.settings)
        assert [b.number for b in CccClient(runtime).list_numbers(INSTANCE)] == [demo.landline(30)]
        assert embedded.running() == {str(state.resolve()): second}
    finally:
        embedded.stop_all()


def test_embedded_start_is_thread_safe(tmp_path: Path) -> None:
    """Eight threads asking for the endpoint at once start one emulator and all get its endpoint."""
    runtime = RuntimeConfig(ProviderSettings(embedded=True, embedded_state_path=str(tmp_path / "s.db")))
    try:
        with ThreadPoolExecutor(8) as pool:
            endpoints = set(pool.map(lambda _: resolve_endpoint(runtime.settings), range(8)))
        assert len(endpoints) == 1
        assert list(embedded.running().values()) == list(endpoints)
    finally:
        embedded.stop_all()


def test_importing_the_client_does_not_load_the_sdk() -> None:
    """check/diff/preview import client.py for its types; the ~0.3 s SDK import waits for a real call."""
    code = (
        "import sys, ccc_numbers.client, ccc_numbers.config, ccc_numbers.errors\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('alibabacloud_tea_openapi', 'alibabacloud_credentials', 'darabonba', 'Tea', 'ccc_emulator'))\n"
        "print(loaded)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout == "[]\n"
