"""The driver's marshalling and error parsing, without a host (engine notes §5, gotcha 11)."""

from __future__ import annotations

import traceback

from google.protobuf import json_format

from .driver import UNKNOWN, annotate_secrets, exception_text, marshal, secret


def test_marshal_sends_secrets_plain_and_drops_unknowns_outside_preview() -> None:
    """Without keep flags, secrets are unwrapped and unknowns vanish from objects and lists."""
    props = {"a": secret({"b": 1, "c": UNKNOWN}), "d": [UNKNOWN, "x"], "e": UNKNOWN, "f": None}

    assert json_format.MessageToDict(marshal(props)) == {"a": {"b": 1.0}, "d": ["x"], "f": None}


def test_marshal_keeps_unknowns_and_secrets_when_asked() -> None:
    """Preview Check/Diff keep unknowns; Configure args keep secret wrappers."""
    props = {"a": secret("s"), "e": UNKNOWN}

    assert json_format.MessageToDict(marshal(props, keep_unknowns=True, keep_secrets=True)) == props


def test_annotate_secrets_marks_same_named_outputs_and_recurses_into_objects() -> None:
    """An output is marked secret when its same-named input holds a secret; objects recurse."""
    outs = {"note": "n", "nested": {"key": "k", "other": "o"}, "list": ["l"], "derived": "d"}
    ins = {"note": secret("n"), "nested": {"key": secret("k")}, "list": [secret("l")], "plain": "p"}

    annotate_secrets(outs, ins)

    assert outs == {
        "note": secret("n"),
        "nested": {"key": secret("k"), "other": "o"},
        "list": secret(["l"]),
        "derived": "d",
    }


def test_exception_text_is_the_end_of_a_chained_traceback() -> None:
    """The text after the last frame is kept whole, multi-line messages included."""
    empty: dict[str, int] = {}
    try:
        try:
            empty["missing"]
        except KeyError as exc:
            raise RuntimeError("adding 3 numbers failed:\n  02160660000: used") from exc
    except RuntimeError:
        details = traceback.format_exc()

    assert exception_text(details) == "RuntimeError: adding 3 numbers failed:\n  02160660000: used"
