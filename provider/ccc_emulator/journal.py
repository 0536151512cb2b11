"""The request journal: one entry per API request this process answered, so tests count exact calls.

Owns the entries and their redaction. Must never hold a secret: ``Signature`` and
``SecurityToken`` values are dropped before an entry is stored (``AccessKeyId`` is kept, it is
an identifier, not a secret). Per process and in memory, even when state lives in a file.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

#: Parameters whose values are credentials or derived from them.
REDACTED_PARAMS = frozenset({"Signature", "SecurityToken", "AccessKeySecret", "BearerToken"})


@dataclass(frozen=True)
class JournalEntry:
    """One API request and what this emulator answered.

    ``http_status`` is the status sent, 0 when the connection was dropped without a response;
    ``code`` is the response ``Code`` (``OK`` on success, also for a dropped call that was
    applied); ``ok`` says the request was applied successfully; ``fault`` names the injected
    fault kind that shaped the answer, if any.
    """

    seq: int
    action: str
    params: Mapping[str, str]
    http_status: int
    code: str
    ok: bool
    fault: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "action": self.action,
            "params": dict(self.params),
            "http_status": self.http_status,
            "code": self.code,
            "ok": self.ok,
            "fault": self.fault,
        }


def redact(params: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in params.items() if k not in REDACTED_PARAMS}


class Journal:
    """Thread-safe append-only list of entries (the server appends, tests read)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[JournalEntry] = []
        self._seq = 0

    def record(
        self,
        action: str,
        params: Mapping[str, str],
        *,
        http_status: int,
        code: str,
        ok: bool,
        fault: str | None = None,
    ) -> JournalEntry:
        with self._lock:
            self._seq += 1
            entry = JournalEntry(
                seq=self._seq,
                action=action,
                params=MappingProxyType(redact(params)),
                http_status=http_status,
                code=code,
                ok=ok,
                fault=fault,
            )
            self._entries.append(entry)
            return entry

    def entries(self) -> list[JournalEntry]:
        with self._lock:
            return list(self._entries)

    def count(self, action: str | None = None) -> int:
        with self._lock:
            if action is None:
                return len(self._entries)
            return sum(1 for e in self._entries if e.action == action)

    def clear(self) -> None:
        """Empty the journal; sequence numbers keep increasing so old and new entries never mix."""
        with self._lock:
            self._entries.clear()
