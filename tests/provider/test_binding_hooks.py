"""The offline hooks (check, diff, configure), the resource class, pickling and import cost."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import textwrap
from typing import Any

import pulumi
import pytest
from pulumi.dynamic import Config, ConfigureRequest
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.output import Unknown
from pulumi.runtime import rpc

from ccc_emulator import demo
from ccc_numbers import (
    PhoneNumberBinding,
    PhoneNumberBindingArgs,
    PhoneNumberBindingProvider,
    Usage,
)
from ccc_numbers import config as ccc_config

PROVIDER_KEY = "__provider"

INSTANCE = demo.DEMO_INSTANCE_ID
N1, N2, N3 = demo.landline(0), demo.landline(1), demo.landline(2)


def _wire(props: dict[str, Any]) -> dict[str, Any]:
    """`props` after a gRPC round trip: ints as floats, None values dropped (as conftest.wire)."""

    async def serialize() -> Any:
        return await rpc.serialize_properties(props, {})

    # A private loop, as the provider host uses: asyncio.run would unset the thread's event loop.
    loop = asyncio.new_event_loop()
    try:
        result: dict[str, Any] = rpc.deserialize_properties(loop.run_until_complete(serialize()))
    finally:
        loop.close()
    return result


def checked(news: dict[str, Any]) -> dict[str, Any]:
    result = PhoneNumberBindingProvider().check({}, news)
    assert result.failures == []
    return result.inputs


def outputs_of(inputs: dict[str, Any]) -> dict[str, Any]:
    """Outputs as state holds them after a create: the inputs plus the PhoneNumberIds, marshalled."""
    numbers = inputs["numbers"]
    return _wire(
        {
            **inputs,
            "phone_number_ids": {n: f"id-{n}" for n in numbers},
            PROVIDER_KEY: "pickled",
        }
    )


# -- check -----------------------------------------------------------------------------------------


def test_check_returns_canonical_inputs_and_keeps_provider() -> None:
    """check resolves defaults into the canonical mapping and keeps __provider as sent."""
    result = PhoneNumberBindingProvider().check(
        {},
        {
            "instance_id": INSTANCE,
            "numbers": [N2, "021 6066 0000"],
            "contact_flow_id": demo.WELCOME_FLOW_ID,
            "skill_group_ids": [demo.SALES_SKILL_GROUP_ID, demo.DEFAULT_SKILL_GROUP_ID],
            PROVIDER_KEY: "pickled",
        },
    )
    groups = sorted([demo.SALES_SKILL_GROUP_ID, demo.DEFAULT_SKILL_GROUP_ID])
    settings = {"usage": "Bidirection", "contact_flow_id": demo.WELCOME_FLOW_ID, "skill_group_ids": groups}
    assert result.failures == []
    assert result.inputs == {
        "adopt_existing": False,
        "instance_id": INSTANCE,
        "numbers": {N1: settings, N2: settings},
        PROVIDER_KEY: "pickled",
    }


def test_check_failures_name_the_property_and_reason() -> None:
    """Each invalid input becomes a CheckFailure; a path below the top level leads the reason."""
    result = PhoneNumberBindingProvider().check(
        {}, {"instance_id": INSTANCE, "numbers": {N1: {"usage": "Outboung"}}, PROVIDER_KEY: "p"}
    )
    assert [(f.property, f.reason) for f in result.failures] == [
        ("", f'numbers["{N1}"].usage: "Outboung" is not a usage; did you mean Outbound? Use Inbound, '
         "Outbound or Bidirection"),
    ]


def test_check_is_idempotent_on_its_own_output() -> None:
    """Checking canonical inputs again (as the engine does with state inputs) changes nothing."""
    first = checked({"instance_id": INSTANCE, "numbers": [N1, demo.toll_free(0)], PROVIDER_KEY: "p"})
    assert checked(_wire(first)) == first


# -- diff ------------------------------------------------------------------------------------------


def test_diff_equal_after_marshalling_is_no_change() -> None:
    """Outputs marshalled through the engine (floats, dropped None) still compare equal: changes=False."""
    inputs = checked({"instance_id": INSTANCE, "numbers": [N1, N2], PROVIDER_KEY: "p"})
    result = PhoneNumberBindingProvider().diff("id", outputs_of(inputs), _wire(inputs))
    assert (result.changes, result.replaces, result.delete_before_replace) == (False, None, None)


def test_diff_ignores_provider_pickle() -> None:
    """A different __provider string alone is not a change the provider reports."""
    inputs = checked({"instance_id": INSTANCE, "numbers": [N1], PROVIDER_KEY: "p"})
    news = {**inputs, PROVIDER_KEY: "another pickle"}
    assert PhoneNumberBindingProvider().diff("id", outputs_of(inputs), news).changes is False


@pytest.mark.parametrize(
    "change",
    [
        {"numbers": [N1, N2, N3]},
        {"numbers": [N1]},
        {"contact_flow_id": demo.IVR_FLOW_ID},
        {"usage": "Inbound"},
        {"adopt_existing": True},
    ],
    ids=["add", "remove", "flow", "usage", "adopt"],
)
def test_diff_in_place_change_lets_the_engine_diff(change: dict[str, Any]) -> None:
    """Any other difference answers changes=None so the engine prints a per-number diff."""
    base = {"instance_id": INSTANCE, "numbers": [N1, N2], PROVIDER_KEY: "p"}
    olds = outputs_of(checked(base))
    result = PhoneNumberBindingProvider().diff("id", olds, checked({**base, **change}))
    assert (result.changes, result.replaces, result.delete_before_replace) == (None, None, None)


def test_diff_instance_change_replaces_deleting_first() -> None:
    """A new instance_id is a replace with delete-before-replace."""
    olds = outputs_of(checked({"instance_id": INSTANCE, "numbers": [N1], PROVIDER_KEY: "p"}))
    news = checked({"instance_id": demo.DEMO_INSTANCE_2_ID, "numbers": [N1], PROVIDER_KEY: "p"})
    result = PhoneNumberBindingProvider().diff("id", olds, news)
    assert (result.changes, result.replaces, result.delete_before_replace) == (True, ["instance_id"], True)


def test_diff_unknown_instance_in_preview_may_replace() -> None:
    """An instance_id unknown during preview is shown as a possible replace."""
    olds = outputs_of(checked({"instance_id": INSTANCE, "numbers": [N1], PROVIDER_KEY: "p"}))
    news = checked({"instance_id": INSTANCE, "numbers": [N1], PROVIDER_KEY: "p"})
    news["instance_id"] = Unknown()
    result = PhoneNumberBindingProvider().diff("id", olds, news)
    assert (result.changes, result.replaces, result.delete_before_replace) == (True, ["instance_id"], True)


def test_diff_unknown_numbers_in_preview_is_an_update() -> None:
    """numbers unknown during preview leaves the decision to the engine."""
    olds = outputs_of(checked({"instance_id": INSTANCE, "numbers": [N1], PROVIDER_KEY: "p"}))
    news = checked({"instance_id": INSTANCE, "numbers": [N1], PROVIDER_KEY: "p"})
    news["numbers"] = Unknown()
    assert PhoneNumberBindingProvider().diff("id", olds, news).changes is None


# -- configure and pickling ------------------------------------------------------------------------


def test_configure_installs_settings_in_the_process_registry() -> None:
    """configure() puts the ccc: settings in config's registry and nothing on the provider."""
    provider = PhoneNumberBindingProvider()
    before = serialize_provider(provider)
    raw = {"ccc:endpoint": "http://127.0.0.1:9", "ccc:batchSize": "7", "ccc:accessKeyId": "LTAIx",
           "ccc:accessKeySecret": "s3cret-value"}
    with ccc_config.installed(ccc_config.RuntimeConfig()):
        provider.configure(ConfigureRequest(Config(raw, "proj")))
        assert ccc_config.current().settings.batch_size == 7
    assert vars(provider) == {}
    assert serialize_provider(provider) == before


_PICKLE_SCRIPT = textwrap.dedent(
    """
    import json, sys
    from pulumi.dynamic import Config, ConfigureRequest
    from pulumi.dynamic.dynamic import serialize_provider
    from ccc_numbers import PhoneNumberBindingProvider
    provider = PhoneNumberBindingProvider()
    provider.configure(ConfigureRequest(Config(json.loads(sys.argv[1]), "proj")))
    print(serialize_provider(provider))
    """
)


@pytest.mark.slow
def test_pickle_is_identical_across_processes_and_configurations() -> None:
    """The __provider string is the same in two processes configured differently (no spurious diffs)."""
    configs = [
        {"ccc:endpoint": "http://127.0.0.1:9", "ccc:accessKeyId": "LTAIa", "ccc:accessKeySecret": "secret-a"},
        {"ccc:region": "cn-hangzhou", "ccc:batchSize": "50", "ccc:accessKeyId": "LTAIb",
         "ccc:accessKeySecret": "secret-b"},
    ]
    pickles = [
        subprocess.run(
            [sys.executable, "-c", _PICKLE_SCRIPT, json.dumps(raw)],
            check=True, capture_output=True, text=True, timeout=60,
        ).stdout.strip()
        for raw in configs
    ]
    assert pickles[0] == pickles[1] == serialize_provider(PhoneNumberBindingProvider())
    assert "secret" not in pickles[0]


_IMPORT_SCRIPT = textwrap.dedent(
    """
    import sys
    from ccc_numbers import PhoneNumberBindingProvider
    p = PhoneNumberBindingProvider()
    news = {"instance_id": "i-1", "numbers": ["02160660000"], "__provider": "x"}
    inputs = p.check({}, news).inputs
    p.diff("id", inputs, inputs)
    print(sorted(m for m in sys.modules if m.startswith(("alibabacloud", "darabonba", "Tea"))
                 or m in ("ccc_numbers.client", "ccc_numbers.executor")))
    """
)


@pytest.mark.slow
def test_import_check_and_diff_do_not_load_the_sdk() -> None:
    """Importing ccc_numbers and running check and diff never imports the client or the Alibaba SDK."""
    out = subprocess.run(
        [sys.executable, "-c", _IMPORT_SCRIPT], check=True, capture_output=True, text=True, timeout=60
    ).stdout.strip()
    assert out == "[]"


# -- the resource class ----------------------------------------------------------------------------


class _Mocks(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.registered: list[tuple[str, str, dict[str, Any]]] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.registered.append((args.typ, args.name, dict(args.inputs)))
        return "binding-id", {**args.inputs, "phone_number_ids": {N1: "pid-1"}}

    def call(
        self, _args: pulumi.runtime.MockCallArgs
    ) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        return {}, None


def test_resource_registers_type_token_and_declared_outputs() -> None:
    """The resource registers as pulumi-python:dynamic/ccc:PhoneNumberBinding and exposes its outputs."""
    # The mock echoes the inputs as outputs, as the engine does in a preview: a list-form `numbers`
    # must not trip the SDK's conversion to the declared output type (it did when typed dict).
    mocks = _Mocks()
    asyncio.set_event_loop(asyncio.new_event_loop())  # pulumi's runtime uses the thread's loop
    pulumi.runtime.set_mocks(mocks, preview=False)
    seen: dict[str, Any] = {}

    @pulumi.runtime.test
    def program() -> Any:
        binding = PhoneNumberBinding(
            "support",
            PhoneNumberBindingArgs(instance_id=INSTANCE, numbers=[N1], usage=Usage.INBOUND),
        )
        return pulumi.Output.all(binding.phone_number_ids, binding.numbers).apply(
            lambda both: seen.update(ids=both[0], numbers=both[1])
        )

    program()
    [(typ, name, inputs)] = mocks.registered
    assert (typ, name) == ("pulumi-python:dynamic/ccc:PhoneNumberBinding", "support")
    assert {k: v for k, v in inputs.items() if k != PROVIDER_KEY} == {
        "instance_id": INSTANCE, "numbers": [N1], "usage": "Inbound",
    }
    assert seen == {"ids": {N1: "pid-1"}, "numbers": [N1]}


def test_resource_refuses_args_and_keywords_together() -> None:
    """Passing both an args object and keyword arguments is a TypeError naming the keywords."""
    expected = r"pass either args or keyword arguments, not both \(got args and usage\)"
    with pytest.raises(TypeError, match=expected):
        PhoneNumberBinding("x", PhoneNumberBindingArgs(instance_id=INSTANCE, numbers=[N1]), usage="Inbound")


def test_a_number_mapped_to_none_reaches_check_with_the_resource_settings() -> None:
    """{number: None} in the mapping form is registered as {number: {}}: the SDK would drop it whole."""
    mocks = _Mocks()
    asyncio.set_event_loop(asyncio.new_event_loop())  # pulumi's runtime uses the thread's loop
    pulumi.runtime.set_mocks(mocks, preview=False)

    @pulumi.runtime.test
    def program() -> Any:
        binding = PhoneNumberBinding(
            "support", instance_id=INSTANCE, numbers={N1: None, N2: {"usage": "Inbound"}}, usage="Outbound"
        )
        return binding.urn

    program()
    [(_, _, inputs)] = mocks.registered
    assert inputs["numbers"] == {N1: {}, N2: {"usage": "Inbound"}}
    assert checked(_wire({k: v for k, v in inputs.items() if k != PROVIDER_KEY}))["numbers"] == {
        N1: {"skill_group_ids": [], "usage": "Outbound"},
        N2: {"skill_group_ids": [], "usage": "Inbound"},
    }
