"""The emulator's one error type: a CCC gateway or service error with its wire code, message and status.

Owns the error value only. Must not build responses: rules raise it, and serialising it to the
gateway's JSON error body happens once, in ``pipeline.py``.
"""

from __future__ import annotations


class ServiceError(Exception):
    """An error the real CCC gateway or service would answer with a 4xx/5xx and an error body."""

    def __init__(self, code: str, message: str, http_status: int = 400) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.http_status = http_status
