"""A local Alibaba Cloud Contact Center (CCC 2017-07-05) phone-number API for tests and demos.

Owns the public surface of the emulator package: :class:`Emulator` (an in-process server, see
docs/contracts.md), the demo seed module, the error and journal value types. Must not import
``ccc_numbers``: the emulator models the vendor, never the client under test.
"""

from __future__ import annotations

from . import demo
from .admin import ADMIN_PREFIX
from .core import EmulatorCore
from .emulator import Emulator
from .errors import ServiceError
from .faults import KINDS as FAULT_KINDS
from .journal import JournalEntry
from .seed import Seed, SeedError, load_seed

__all__ = [
    "ADMIN_PREFIX",
    "FAULT_KINDS",
    "Emulator",
    "EmulatorCore",
    "JournalEntry",
    "Seed",
    "SeedError",
    "ServiceError",
    "demo",
    "load_seed",
]
