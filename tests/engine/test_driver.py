"""The engine driver's own tests: each operation against the trivial file provider's real host."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pulumi
import pytest
from filestore import LooseFile, TextFile

from . import (
    UNKNOWN,
    ChangesNotExpectedError,
    CheckFailedError,
    ProviderError,
    secret,
)
from .conftest import TRIVIAL_DIR
from .driver import SIG_KEY
from .stack import Program, Stack, Step

pytestmark = pytest.mark.slow

MakeStack = Callable[..., Stack]
UPS = ["Handshake", "CheckConfig", "Configure"]  # the start of a pass on a new stack
LATER_UPS = ["Handshake", "CheckConfig", "DiffConfig", "Configure"]  # once the stack has state


def files(*specs: dict[str, Any]) -> Program:
    """A program registering one file per spec, in order, and exporting each one's path."""

    def program() -> None:
        for spec in specs:
            args = dict(spec)
            resource_name = args.pop("resource")
            cls = args.pop("cls", TextFile)
            resource = cls(resource_name, **args)
            pulumi.export(f"{resource_name}_path", resource.path)

    return program


def chain(greeting: str) -> Program:
    """`first` with the greeting, `second` whose content names first's path (a dependency)."""

    def program() -> None:
        first = TextFile("first", content=greeting)
        second = TextFile("second", content=first.path.apply(lambda path: f"see {path}"))
        pulumi.export("first_path", first.path)
        pulumi.export("second_content", second.content)

    return program


def plain_occurrences(value: Any, needle: str) -> int:
    """How often `needle` appears in strings of `value` outside secret wrappers."""
    if isinstance(value, dict):
        if value.get(SIG_KEY):
            return 0
        return sum(plain_occurrences(v, needle) for v in value.values())
    if isinstance(value, (list, tuple)):
        return sum(plain_occurrences(v, needle) for v in value)
    return int(isinstance(value, str) and needle in value)


def test_preview_of_a_new_stack_checks_but_never_creates(trivial_stack: MakeStack, file_root: Path) -> None:
    """A preview sends Check with unknowns for dependents, no Create, and saves no state."""
    stack = trivial_stack(chain("hello"))

    res = stack.preview()

    assert res.methods() == [*UPS, "Check", "Check"]
    assert res.requests("Configure")[0]["id"] == UNKNOWN
    assert res.requests("Check")[1]["news"]["content"] == UNKNOWN
    assert res.steps == [Step("create", "first"), Step("create", "second")]
    assert res.outputs == {"first_path": UNKNOWN, "second_content": UNKNOWN}
    assert stack.resources == {}
    assert sorted(os.listdir(file_root)) == ["configure.json"]


def test_up_is_a_preview_pass_then_a_real_pass_each_on_a_fresh_host(
    trivial_stack: MakeStack, file_root: Path
) -> None:
    """Up runs two passes on two host processes, both gone afterwards, and creates in order."""
    stack = trivial_stack(chain("hello"))

    res = stack.up()

    assert [p.preview for p in res.passes] == [True, False]
    pids = [pid for p in res.passes for pid in p.host_pids]
    assert len(pids) == 2
    assert pids[0] != pids[1]
    assert [Path(f"/proc/{pid}").exists() for pid in pids] == [False, False]
    assert res.methods(0) == [*UPS, "Check", "Check"]
    assert res.methods(1) == [*UPS, "Check", "Create", "Check", "Create"]
    assert res.requests("Configure")[1]["id"] == stack.provider_id
    assert res.steps == [Step("create", "first"), Step("create", "second")]
    first_path = str(file_root / "first")
    assert res.outputs == {"first_path": first_path, "second_content": f"see {first_path}"}
    assert (file_root / "second").read_text() == f"see {first_path}"
    first = stack.resources["first"]
    assert (first.type, first.id, first.urn) == (
        "pulumi-python:dynamic/trivial:TextFile",
        "first",
        "urn:pulumi:dev::trivial::pulumi-python:dynamic/trivial:TextFile::first",
    )
    # Ints come back as floats, as through the real engine.
    assert type(first.outputs["size"]) is float
    assert first.outputs["size"] == 5.0
    assert stack.resources["second"].dependencies == (first.urn,)


def test_unchanged_up_diffs_none_and_writes_nothing(trivial_stack: MakeStack) -> None:
    """A second up with the same program sends Diff (DIFF_NONE) per resource and no write."""
    stack = trivial_stack(chain("hello"))
    stack.up(skip_preview=True)
    provider_id = stack.provider_id

    res = stack.up(expect_no_changes=True)

    assert res.methods(0) == [*LATER_UPS, "Check", "Diff", "Check", "Diff"]
    assert res.methods(1) == [*LATER_UPS, "Check", "Diff", "Check", "Diff"]
    assert [c.response["changes"] for c in res.calls if c.method == "Diff" and c.response] == [
        "DIFF_NONE"
    ] * 4
    assert [c.error for c in res.calls if c.method in ("Handshake", "CheckConfig", "DiffConfig")] == [
        "UNIMPLEMENTED"
    ] * 6
    assert [r["id"] for r in res.requests("Configure")] == [provider_id, provider_id]
    assert res.steps == [Step("same", "first"), Step("same", "second")]


def test_changed_input_updates_in_place_with_old_outputs(trivial_stack: MakeStack, file_root: Path) -> None:
    """Update gets the old outputs and old inputs; the preview pass sends no Update."""
    stack = trivial_stack(chain("hello"))
    stack.up(skip_preview=True)
    stack.program = chain("bye")

    res = stack.up()

    assert "Update" not in res.methods(0)
    # In preview first's path is unknown after its (unsent) update, so second looks changed too.
    assert res.passes[0].steps == [Step("update", "first"), Step("update", "second")]
    assert res.methods(1) == [*LATER_UPS, "Check", "Diff", "Update", "Check", "Diff"]
    assert res.steps == [Step("update", "first"), Step("same", "second")]
    update = res.requests("Update")[0]
    assert update["olds"]["path"] == str(file_root / "first")
    assert update["old_inputs"]["content"] == "hello"
    assert update["news"]["content"] == "bye"
    assert "path" not in update["news"]
    assert (file_root / "first").read_text() == "bye"
    assert stack.resources["first"].plain_outputs["content"] == "bye"


@pytest.mark.parametrize(
    ("exclusive", "opts"),
    [
        pytest.param(True, None, id="provider-asks"),
        pytest.param(False, pulumi.ResourceOptions(delete_before_replace=True), id="resource-option"),
    ],
)
def test_replace_deletes_first_when_delete_before_replace(
    trivial_stack: MakeStack, file_root: Path, exclusive: bool, opts: pulumi.ResourceOptions | None
) -> None:
    """A rename re-checks with empty olds, then deletes the old file before creating the new."""
    stack = trivial_stack(
        files({"resource": "doc", "name": "a.txt", "content": "x", "exclusive": exclusive, "opts": opts})
    )
    stack.up(skip_preview=True)
    stack.program = files(
        {"resource": "doc", "name": "b.txt", "content": "x", "exclusive": exclusive, "opts": opts}
    )

    res = stack.up()

    expected_steps = [
        Step("delete-replaced", "doc"),
        Step("replace", "doc"),
        Step("create-replacement", "doc"),
    ]
    assert res.passes[0].steps == expected_steps
    assert res.methods(0) == [*LATER_UPS, "Check", "Diff", "Check"]
    assert res.methods(1) == [*LATER_UPS, "Check", "Diff", "Check", "Delete", "Create"]
    assert res.requests("Check")[-1]["olds"] == {}
    assert res.requests("Delete")[0]["id"] == "a.txt"
    assert res.steps == expected_steps
    assert sorted(os.listdir(file_root)) == ["b.txt", "configure.json"]
    assert stack.resources["doc"].id == "b.txt"


def test_replace_creates_first_and_deletes_the_old_at_the_end(
    trivial_stack: MakeStack, file_root: Path
) -> None:
    """Without delete-before-replace the old resource is deleted after every other step."""
    other = {"resource": "other", "content": "o"}
    stack = trivial_stack(files({"resource": "doc", "name": "a.txt", "content": "x"}, other))
    stack.up(skip_preview=True)
    stack.program = files({"resource": "doc", "name": "b.txt", "content": "x"}, other)

    res = stack.up()

    assert res.methods(1) == [*LATER_UPS, "Check", "Diff", "Check", "Create", "Check", "Diff", "Delete"]
    assert res.steps == [
        Step("create-replacement", "doc"),
        Step("replace", "doc"),
        Step("same", "other"),
        Step("delete-replaced", "doc"),
    ]
    assert res.requests("Delete")[0]["id"] == "a.txt"
    assert sorted(os.listdir(file_root)) == ["b.txt", "configure.json", "other"]


def test_resources_dropped_from_the_program_are_deleted_last_first(trivial_stack: MakeStack) -> None:
    """Resources no longer registered are deleted at the end, in reverse state order."""
    abc = [{"resource": name, "content": name} for name in ("a", "b", "c")]
    stack = trivial_stack(files(*abc))
    stack.up(skip_preview=True)
    stack.program = files(abc[0])

    res = stack.up()

    assert "Delete" not in res.methods(0)
    assert res.passes[0].steps == [Step("same", "a"), Step("delete", "c"), Step("delete", "b")]
    assert res.steps == [Step("same", "a"), Step("delete", "c"), Step("delete", "b")]
    assert [r["id"] for r in res.requests("Delete")] == ["c", "b"]
    assert list(stack.resources) == ["a"]


def test_refresh_reads_drift_and_drops_the_gone(trivial_stack: MakeStack, file_root: Path) -> None:
    """Refresh sends Read and the inverted Diff, keeps drifted outputs and drops a vanished file."""
    stack = trivial_stack(files({"resource": "a", "content": "one"}, {"resource": "b", "content": "two"}))
    stack.up(skip_preview=True)
    (file_root / "a").write_text("drifted")
    (file_root / "b").unlink()

    res = stack.refresh()

    assert res.methods(0) == ["Handshake", "Configure", "Read", "Diff", "Read"]
    assert res.methods(1) == ["Handshake", "Configure", "Read", "Diff", "Read"]
    # The real pass reads the state as it was before refresh: the preview saved nothing.
    assert res.requests("Read")[2]["properties"]["content"] == "one"
    assert res.requests("Read")[2]["inputs"]["content"] == "one"
    inverted = res.requests("Diff")[1]
    assert (inverted["olds"]["content"], inverted["old_inputs"]["content"], inverted["news"]["content"]) == (
        "drifted",
        "drifted",
        "one",
    )
    assert res.drift == {"a": "update", "b": "delete"}
    assert res.steps == [Step("refresh", "a"), Step("refresh", "b")]
    assert list(stack.resources) == ["a"]
    assert stack.resources["a"].plain_outputs["content"] == "drifted"

    after = stack.up(skip_preview=True)

    assert after.steps == [Step("update", "a"), Step("create", "b")]
    assert after.requests("Update")[0]["olds"]["content"] == "drifted"
    assert (file_root / "a").read_text() == "one"


def test_destroy_deletes_in_reverse_order_after_a_configure_only_preview(
    trivial_stack: MakeStack, file_root: Path
) -> None:
    """Destroy configures from state, then deletes last-registered first and empties the stack."""
    stack = trivial_stack(chain("hello"))
    up = stack.up(skip_preview=True)

    res = stack.destroy()

    assert res.methods(0) == ["Handshake", "Configure"]
    assert res.methods(1) == ["Handshake", "Configure", "Delete", "Delete"]
    assert res.requests("Configure")[0]["args"] == up.requests("Configure")[0]["args"]
    assert [r["id"] for r in res.requests("Delete")] == ["second", "first"]
    assert res.steps == [Step("delete", "second"), Step("delete", "first")]
    assert (stack.resources, stack.outputs, stack.provider_id) == ({}, {}, None)
    assert sorted(os.listdir(file_root)) == ["configure.json"]


def test_secret_config_reaches_the_provider_plain_and_stays_marked_in_state(
    trivial_stack: MakeStack, file_root: Path
) -> None:
    """A secret config value is plain for the provider, wrapped in Configure args and in state."""
    stack = trivial_stack(None, secret_keys=frozenset({"trivial:token"}), token="s3cret")
    cwd, path = os.getcwd(), list(sys.path)

    res = stack.up()

    configure = res.requests("Configure")[1]
    assert configure["variables"]["pulumi-python:config:trivial:token"] == "s3cret"
    assert configure["args"]["trivial:token"] == secret("s3cret")
    assert json.loads((file_root / "configure.json").read_text())["token"] == "s3cret"
    assert [c.method for c in res.calls if SIG_KEY in json.dumps(c.request)] == ["Configure", "Configure"]
    first = stack.resources["first"]
    assert (first.inputs["note"], first.outputs["note"]) == (secret("s3cret"), secret("s3cret"))
    assert plain_occurrences([(r.inputs, r.outputs) for r in stack.state], "s3cret") == 0
    assert (res.outputs["first_note"], res.secret_outputs) == ("s3cret", frozenset({"first_note"}))
    # The project program ran with the project dir as cwd and on sys.path, both restored.
    assert (os.getcwd(), sys.path) == (cwd, path)


def test_failed_update_keeps_the_old_state_and_surfaces_the_provider_message(
    trivial_stack: MakeStack, file_root: Path
) -> None:
    """A provider exception becomes ProviderError with its message; state keeps the old entry."""
    stack = trivial_stack(files({"resource": "a", "content": "one"}))
    stack.up(skip_preview=True)
    stack.program = files({"resource": "a", "content": "two", "fail_on": "update"})

    with pytest.raises(ProviderError) as caught:
        stack.up()

    error = caught.value
    assert (error.method, error.name, error.code) == ("Update", "a", "UNKNOWN")
    assert error.message == "RuntimeError: refusing to update a"
    assert error.details.startswith("Traceback (most recent call last):")
    assert error.result.methods(1)[-1] == "Update"
    assert stack.resources["a"].plain_inputs["content"] == "one"
    assert (file_root / "a").read_text() == "one"


def test_failed_create_leaves_no_resource_and_stops_the_deployment(trivial_stack: MakeStack) -> None:
    """After a failed Create nothing more is sent: no later resource, no deletes at the end."""
    stack = trivial_stack(files({"resource": "old", "content": "o"}))
    stack.up(skip_preview=True)
    stack.program = files(
        {"resource": "a", "content": "x", "fail_on": "create"}, {"resource": "b", "content": "y"}
    )

    with pytest.raises(ProviderError) as caught:
        stack.up(skip_preview=True)

    assert caught.value.message == "RuntimeError: refusing to create a"
    assert caught.value.result.methods() == [*LATER_UPS, "Check", "Create"]
    assert list(stack.resources) == ["old"]


def test_check_failure_stops_in_the_preview_pass(trivial_stack: MakeStack) -> None:
    """Check failures raise CheckFailedError with property and reason, before any real pass."""
    stack = trivial_stack(files({"resource": "a", "content": ""}))

    with pytest.raises(CheckFailedError) as caught:
        stack.up()

    assert caught.value.failures == (("content", "content must be a non-empty string"),)
    assert [p.preview for p in caught.value.result.passes] == [True]
    assert stack.resources == {}


def test_replaced_resource_left_by_a_failed_up_is_deleted_by_the_next(
    trivial_stack: MakeStack, file_root: Path
) -> None:
    """A create-before-delete replacement cut short stays as a pending delete until the next up."""
    stack = trivial_stack(files({"resource": "doc", "name": "a.txt", "content": "x"}))
    stack.up(skip_preview=True)
    stack.program = files(
        {"resource": "doc", "name": "b.txt", "content": "x"},
        {"resource": "bad", "content": "y", "fail_on": "create"},
    )
    with pytest.raises(ProviderError):
        stack.up(skip_preview=True)
    assert [(r.name, r.id, r.pending_delete) for r in stack.state] == [
        ("doc", "b.txt", False),
        ("doc", "a.txt", True),
    ]
    stack.program = files({"resource": "doc", "name": "b.txt", "content": "x"})

    res = stack.up(skip_preview=True)

    assert res.steps == [Step("delete-replaced", "doc"), Step("same", "doc")]
    assert res.requests("Delete")[0]["id"] == "a.txt"
    assert [(r.id, r.pending_delete) for r in stack.state] == [("b.txt", False)]
    assert sorted(os.listdir(file_root)) == ["b.txt", "configure.json"]


def test_unknown_diff_is_settled_by_comparing_inputs(trivial_stack: MakeStack) -> None:
    """DIFF_UNKNOWN counts as no change for equal inputs and as an update for different ones."""
    stack = trivial_stack(files({"resource": "loose", "cls": LooseFile, "content": "one"}))
    stack.up(skip_preview=True)

    same = stack.up(skip_preview=True)
    stack.program = files({"resource": "loose", "cls": LooseFile, "content": "two"})
    changed = stack.up(skip_preview=True)

    assert [
        c.response["changes"] for c in same.calls + changed.calls if c.method == "Diff" and c.response
    ] == [
        "DIFF_UNKNOWN",
        "DIFF_UNKNOWN",
    ]
    assert same.steps == [Step("same", "loose")]
    assert changed.steps == [Step("update", "loose")]
    assert changed.methods()[-1] == "Update"


def test_expect_no_changes_fails_when_a_step_changes_something(trivial_stack: MakeStack) -> None:
    """up(expect_no_changes=True) raises ChangesNotExpectedError naming the changing step."""
    stack = trivial_stack(files({"resource": "a", "content": "one"}))
    stack.up(skip_preview=True)
    stack.program = files({"resource": "a", "content": "two"})

    with pytest.raises(ChangesNotExpectedError) as caught:
        stack.up(skip_preview=True, expect_no_changes=True)

    assert caught.value.result.steps == [Step("update", "a")]


def test_the_hosts_stderr_is_kept_per_pass(trivial_stack: MakeStack, file_root: Path) -> None:
    """Each pass record holds what its own host process printed to stderr."""
    stack = trivial_stack(chain("hello"))

    res = stack.up()

    configure = f"filestore: configure {file_root}"
    assert res.passes[0].stderr.splitlines() == [
        configure,
        "filestore: check first",
        "filestore: check second",
    ]
    assert res.passes[1].stderr.splitlines() == [
        configure,
        "filestore: check first",
        "filestore: create first",
        "filestore: check second",
        "filestore: create second",
    ]


def test_project_name_comes_from_pulumi_yaml() -> None:
    """Without project=, the project name is Pulumi.yaml's `name`, which namespaces URNs."""
    stack = Stack(TRIVIAL_DIR)

    assert (stack.project, stack._urn("t", "n")) == ("trivial", "urn:pulumi:dev::trivial::t::n")


@pytest.mark.parametrize(
    ("option", "opts"),
    [
        pytest.param("protect", pulumi.ResourceOptions(protect=True), id="protect"),
        pytest.param(
            "replacement_trigger", pulumi.ResourceOptions(replacement_trigger="v1"), id="replacement_trigger"
        ),
    ],
)
def test_unmodelled_resource_options_are_refused(
    trivial_stack: MakeStack, option: str, opts: pulumi.ResourceOptions
) -> None:
    """An option whose engine behaviour the driver does not reproduce fails the run, never ignored."""
    stack = trivial_stack(files({"resource": "a", "content": "x", "opts": opts}))

    with pytest.raises(NotImplementedError, match=f"not modelled by the engine driver: {option}$"):
        stack.preview()

    assert stack.resources == {}
