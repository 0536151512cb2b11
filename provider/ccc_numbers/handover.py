"""Numbers that another binding of the same stack gives up in the current run (a move between bindings).

The engine updates independent resources in parallel, so a number moved from binding A to binding B
in one ``pulumi up`` can reach B while A still holds it: B finds it "bound but not owned". The right
advice then is to run ``pulumi up`` again or make B depend on A, never ``adopt_existing=True``
(A is about to unbind it). One provider host serves every resource of a pass, and ``check`` sees
each binding's old and new inputs first, so it notes here every number a binding held and no longer
declares; the executor asks when it meets a conflict.

Owns that per-process note. Must not call the API or decide anything: it only remembers.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Mapping
from typing import Any

__all__ = ["note_check", "released"]

_lock = threading.Lock()
#: (instance id, number) pairs that some binding of this pass held before and gives up now.
_released: set[tuple[str, str]] = set()


def _numbers(props: Mapping[str, Any]) -> set[str]:
    numbers = props.get("numbers")
    return {key for key in numbers if isinstance(key, str)} if isinstance(numbers, Mapping) else set()


def note_check(olds: Mapping[str, Any], news: Mapping[str, Any]) -> None:
    """Remember the numbers a binding held (old inputs) that its new canonical inputs drop or move."""
    instance = olds.get("instance_id")
    if not isinstance(instance, str) or not olds:
        return
    kept = _numbers(news) if news.get("instance_id") == instance else set()
    given_up = _numbers(olds) - kept
    if given_up:
        with _lock:
            _released.update((instance, number) for number in given_up)


def released(instance_id: str, numbers: Collection[str]) -> frozenset[str]:
    """Which of `numbers` another binding of this pass gives up in `instance_id`."""
    with _lock:
        return frozenset(number for number in numbers if (instance_id, number) in _released)
