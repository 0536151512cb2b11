"""How our errors read in the CLI (report.render) and how the host shows them (host.py)."""

from __future__ import annotations

import socket
import sys
import traceback
from pathlib import Path

import pytest

from ccc_numbers import handover, host, report
from ccc_numbers.errors import (
    ApplyError,
    ConfigurationError,
    OwnershipError,
    PartialFailureError,
    ThrottledError,
)

INSTANCE = "d278629c-c687-4aa3-b044-4fe9b012e7ef"
CREATE = f"creating the binding of 3 phone numbers to CCC instance {INSTANCE}"


def numbers(start: int, stop: int) -> list[str]:
    return [f"0216066{i:04d}" for i in range(start, stop)]


def test_a_rejection_reads_reason_first_then_context_then_what_was_undone() -> None:
    """Per-number rejections: counts per reason, each number once, the action once."""
    rejected = PartialFailureError(
        f"adding 3 phone numbers to CCC instance {INSTANCE}",
        bound=["02160660002"],
        rejected={"02160660000": "the account or number is in arrears", "02160660001": "in arrears"},
    )
    error = ApplyError(CREATE, errors=[rejected], operation="create", rolled_back=["02160660002"])

    assert report.render(error) == "\n".join([
        "2 of 3 phone numbers were not bound:",
        "  in arrears (1): 02160660001",
        "  the account or number is in arrears (1): 02160660000",
        f"while {CREATE}",
        "the phone number this create had bound was unbound again, so a rerun starts clean",
    ])


def test_a_thousand_refused_numbers_fit_in_a_few_lines_and_the_full_list_goes_to_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """1,000 numbers: the first five per reason, a count, and a file with every number."""
    monkeypatch.chdir(tmp_path)
    conflicts = {number: f"id-{number}" for number in numbers(0, 1000)}
    error = OwnershipError(CREATE.replace("3 phone numbers", "1000 phone numbers"), conflicts)

    text = report.render(error)

    assert text is not None
    lines = text.splitlines()
    assert len(lines) <= report.MAX_LINES
    files = list((tmp_path / report.FAILURES_DIR).iterdir())
    assert len(files) == 1
    listed = ", ".join(f"{n} (PhoneNumberId id-{n})" for n in numbers(0, 5))
    assert lines[0] == (
        f"1000 phone numbers are already bound in CCC instance {INSTANCE} but not owned by this binding: "
        f"{listed} and 995 more (all 1000: {report.FAILURES_DIR / files[0].name})"
    )
    first_two = files[0].read_text().splitlines()[:2]
    assert first_two == ["02160660000\tid-02160660000", "02160660001\tid-02160660001"]
    assert len(files[0].read_text().splitlines()) == 1000
    assert text.count(INSTANCE) == 2  # the reason and the context, nowhere else


def test_an_api_error_names_its_step_status_and_retries_once() -> None:
    """A throttled batch: code and message, HTTP status, request id and retries, then the step."""
    cause = ThrottledError(
        f"adding 100 phone numbers to CCC instance {INSTANCE}, batch 2/3",
        code="Throttling.User", message="Request was denied due to user flow control.", http_status=400,
        request_id="6F0C",
    )
    cause.retry_note = "gave up after 6 attempts"
    error = ApplyError(CREATE, errors=[cause], operation="create")

    assert report.render(error) == "\n".join([
        "Throttling.User: Request was denied due to user flow control. (HTTP 400, request id 6F0C; gave up "
        "after 6 attempts)",
        f"while {CREATE} (adding 100 phone numbers, batch 2/3)",
    ])


def test_a_configuration_error_is_its_sentence_and_anything_else_is_left_alone() -> None:
    """Configuration errors are one sentence; an unexpected exception is not ours to word."""
    assert report.render(ConfigurationError("ccc:batchSize must be a whole number")) == (
        "ccc:batchSize must be a whole number"
    )
    assert report.render(KeyError("numbers")) is None


def test_the_hosts_traceback_view_renders_ours_and_keeps_tracebacks_of_everything_else() -> None:
    """format_exc gives our text for our errors and the usual traceback for a bug."""
    view = host._TracebackView()
    try:
        raise ConfigurationError("ccc:region must be a region id")
    except ConfigurationError:
        ours = view.format_exc()
    try:
        raise KeyError("numbers")
    except KeyError:
        bug = view.format_exc()
        expected = traceback.format_exc()

    assert ours == "ccc:region must be a region id"
    assert bug == expected
    assert bug.startswith("Traceback (most recent call last):")
    assert view.format_exception is traceback.format_exception


def test_install_outside_the_host_changes_nothing() -> None:
    """Called in a test process (not pulumi.dynamic), install patches and watches nothing."""
    main = sys.modules["__main__"]
    before = getattr(main, "traceback", None)
    host.install()
    assert getattr(main, "traceback", None) is before


def test_the_engine_address_is_read_from_the_hosts_arguments_and_watched() -> None:
    """The host's argument is the engine's address; a closed port means the engine is gone."""
    assert host._engine_address(["127.0.0.1:45197"]) == ("127.0.0.1", 45197)
    assert host._engine_address(["--flag"]) is None
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    address = listener.getsockname()
    assert host.is_engine_gone(address) is False
    listener.close()
    assert host.is_engine_gone(address) is True


def test_ownership_advice_tells_a_move_from_an_interrupted_run_from_a_stranger() -> None:
    """A number another binding gives up is a move (rerun or depends_on), one with the declared
    settings looks like an interrupted run (adopt once), any other needs adopting or removing."""
    conflicts = {"02160660001": "id-1", "02160660002": "id-2", "02160660003": "id-3"}
    error = OwnershipError(
        CREATE, conflicts, declared_settings={"02160660002"}, released={"02160660001"}
    )

    text = report.render(error)

    assert text is not None
    assert text.splitlines()[1:] == [
        f"while {CREATE}",
        "02160660001 belonged to another binding of this stack, which gives it up in this same run: run "
        "`pulumi up` again to finish the move, or make this binding depend on that one (depends_on) to "
        "move numbers in one run",
        "02160660002 already carries exactly the settings this binding declares: it looks like a previous "
        'interrupted run of this binding (README, "If a run was interrupted"); set adopt_existing=True on '
        "this binding for one `pulumi up` to take it over",
        "set adopt_existing=True on this binding to take it over, or remove it from numbers",
    ]


def test_handover_notes_the_numbers_a_binding_gives_up_in_its_instance() -> None:
    """check's old and new inputs: dropped numbers are released; a changed instance releases all."""
    olds = {"instance_id": "inst-a", "numbers": {"0216": {}, "0217": {}}}
    handover.note_check(olds, {"instance_id": "inst-a", "numbers": {"0216": {}}})
    handover.note_check({"instance_id": "inst-b", "numbers": {"0218": {}}}, {"instance_id": "inst-c"})
    handover.note_check({}, {"instance_id": "inst-a", "numbers": {"0219": {}}})

    assert handover.released("inst-a", ["0216", "0217", "0219"]) == {"0217"}
    assert handover.released("inst-b", ["0218"]) == {"0218"}
