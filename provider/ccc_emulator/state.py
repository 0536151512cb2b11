"""The emulated account's state in SQLite: access keys, instances, contact flows, skill groups,
purchased numbers and bindings.

Owns storage and transactions. One code path for both modes: ``sqlite3`` on ``':memory:'`` by
default, on a file when a state path is given. Every API request runs in one transaction
(``BEGIN IMMEDIATE``), so a request is applied whole or not at all, and with a file the state
survives a restart or a crash. Nothing is cached in memory between transactions, so two processes
(say a provider host with an embedded emulator and a test process) can share one state file; the
busy timeout makes the second writer wait instead of failing.

Must not know about the wire: no PascalCase names, no HTTP, no business rules (``service.py``
decides what is allowed; this module stores what it is told).
"""

from __future__ import annotations

import functools
import json
import sqlite3
import threading
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, NamedTuple

from .seed import Seed, SeedAccessKey

SCHEMA_VERSION = "1"
# SQLite's default limit on bound parameters is 32766 in 3.32+, 999 before; stay under the old one.
_CHUNK = 900

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS access_keys (
    id TEXT PRIMARY KEY, secret TEXT NOT NULL, security_token TEXT
);
CREATE TABLE IF NOT EXISTS instances (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS contact_flows (
    seq INTEGER PRIMARY KEY, instance_id TEXT NOT NULL, id TEXT NOT NULL, name TEXT NOT NULL,
    description TEXT NOT NULL, type TEXT NOT NULL, UNIQUE (instance_id, id)
);
CREATE TABLE IF NOT EXISTS skill_groups (
    seq INTEGER PRIMARY KEY, instance_id TEXT NOT NULL, id TEXT NOT NULL, name TEXT NOT NULL,
    UNIQUE (instance_id, id)
);
CREATE TABLE IF NOT EXISTS numbers (
    seq INTEGER PRIMARY KEY, number TEXT NOT NULL UNIQUE, trunks INTEGER NOT NULL,
    description TEXT NOT NULL, test_only INTEGER NOT NULL, remaining_time INTEGER NOT NULL,
    in_arrears INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS bindings (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, phone_number_id TEXT NOT NULL UNIQUE,
    number TEXT NOT NULL UNIQUE, instance_id TEXT NOT NULL, usage TEXT NOT NULL,
    contact_flow_id TEXT, skill_group_ids TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS bindings_by_instance ON bindings (instance_id, seq);
"""

_BINDING_COLUMNS = "b.phone_number_id, b.number, b.instance_id, b.usage, b.contact_flow_id, b.skill_group_ids"
_NUMBER_COLUMNS = "n.number, n.trunks, n.description, n.test_only, n.remaining_time, n.in_arrears"


@dataclass(frozen=True)
class ContactFlow:
    id: str
    instance_id: str
    name: str
    description: str
    type: str


@dataclass(frozen=True)
class SkillGroup:
    id: str
    instance_id: str
    name: str


class PurchasedNumber(NamedTuple):
    """A purchased number's facts. A NamedTuple, not a frozen dataclass: built once per row, and a
    10,000-number listing builds 10,000 of them."""

    number: str
    trunks: int
    description: str
    test_only: bool
    remaining_time: int
    in_arrears: bool


class Binding(NamedTuple):
    """A number bound to an instance (a NamedTuple for the same reason as PurchasedNumber)."""

    phone_number_id: str
    number: str
    instance_id: str
    usage: str
    contact_flow_id: str | None
    skill_group_ids: tuple[str, ...]


@functools.lru_cache(maxsize=1024)
def _skill_group_ids(text: str) -> tuple[str, ...]:
    # Most bindings share a handful of skill-group sets; decoding each once keeps a
    # 10,000-number listing fast.
    return tuple(json.loads(text))


def _binding(row: Sequence[Any]) -> Binding:
    return Binding(row[0], row[1], row[2], row[3], row[4], _skill_group_ids(row[5]))


def _number(row: Sequence[Any]) -> PurchasedNumber:
    return PurchasedNumber(row[0], row[1], row[2], bool(row[3]), row[4], bool(row[5]))


def _chunks(values: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


class Tx:
    """One open transaction. Valid only inside ``Store.transaction()``."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._c = conn

    # -- account ---------------------------------------------------------------------------------

    def access_key(self, key_id: str) -> SeedAccessKey | None:
        row = self._c.execute(
            "SELECT id, secret, security_token FROM access_keys WHERE id = ?", (key_id,)
        ).fetchone()
        return None if row is None else SeedAccessKey(id=row[0], secret=row[1], security_token=row[2])

    def instance_exists(self, instance_id: str) -> bool:
        return self._c.execute("SELECT 1 FROM instances WHERE id = ?", (instance_id,)).fetchone() is not None

    def instance_ids(self) -> list[str]:
        return [r[0] for r in self._c.execute("SELECT id FROM instances ORDER BY seq")]

    def contact_flows(self, instance_id: str) -> list[ContactFlow]:
        rows = self._c.execute(
            "SELECT id, instance_id, name, description, type FROM contact_flows"
            " WHERE instance_id = ? ORDER BY seq",
            (instance_id,),
        )
        return [ContactFlow(*r) for r in rows]

    def skill_groups(self, instance_id: str) -> list[SkillGroup]:
        rows = self._c.execute(
            "SELECT id, instance_id, name FROM skill_groups WHERE instance_id = ? ORDER BY seq",
            (instance_id,),
        )
        return [SkillGroup(*r) for r in rows]

    def numbers(self, numbers: Sequence[str] | None = None) -> dict[str, PurchasedNumber]:
        """Purchased numbers by number: the ones asked for that exist, or all of them (in seed order)."""
        if numbers is None:
            rows = self._c.execute(f"SELECT {_NUMBER_COLUMNS} FROM numbers n ORDER BY n.seq")
            return {r[0]: _number(r) for r in rows}
        found: dict[str, PurchasedNumber] = {}
        for chunk in _chunks(list(dict.fromkeys(numbers))):
            marks = ",".join("?" * len(chunk))
            for r in self._c.execute(
                f"SELECT {_NUMBER_COLUMNS} FROM numbers n WHERE n.number IN ({marks})", chunk
            ):
                found[r[0]] = _number(r)
        return found

    # -- bindings --------------------------------------------------------------------------------

    def bindings_by_number(self, numbers: Sequence[str]) -> dict[str, Binding]:
        found: dict[str, Binding] = {}
        for chunk in _chunks(list(dict.fromkeys(numbers))):
            marks = ",".join("?" * len(chunk))
            rows = self._c.execute(
                f"SELECT {_BINDING_COLUMNS} FROM bindings b WHERE b.number IN ({marks})", chunk
            )
            for r in rows:
                found[r[1]] = _binding(r)
        return found

    def binding(self, phone_number_id: str) -> Binding | None:
        row = self._c.execute(
            f"SELECT {_BINDING_COLUMNS} FROM bindings b WHERE b.phone_number_id = ?", (phone_number_id,)
        ).fetchone()
        return None if row is None else _binding(row)

    def bindings(self, instance_id: str | None = None) -> list[Binding]:
        """Bindings in the order they were made, of one instance or of all."""
        if instance_id is None:
            rows = self._c.execute(f"SELECT {_BINDING_COLUMNS} FROM bindings b ORDER BY b.seq")
        else:
            rows = self._c.execute(
                f"SELECT {_BINDING_COLUMNS} FROM bindings b WHERE b.instance_id = ? ORDER BY b.seq",
                (instance_id,),
            )
        return [_binding(r) for r in rows]

    def bound_numbers(self, instance_id: str) -> list[tuple[Binding, PurchasedNumber]]:
        """An instance's bindings with their purchased-number facts, in binding order (one query)."""
        rows = self._c.execute(
            f"SELECT {_BINDING_COLUMNS}, {_NUMBER_COLUMNS} FROM bindings b"
            " JOIN numbers n ON n.number = b.number WHERE b.instance_id = ? ORDER BY b.seq",
            (instance_id,),
        )
        return [(_binding(r[:6]), _number(r[6:])) for r in rows]

    def add_binding(
        self,
        number: str,
        instance_id: str,
        usage: str,
        contact_flow_id: str | None,
        skill_group_ids: Iterable[str],
    ) -> Binding:
        """Bind a number with a fresh PhoneNumberId; the caller has checked it is free."""
        b = Binding(
            phone_number_id=str(uuid.uuid4()),
            number=number,
            instance_id=instance_id,
            usage=usage,
            contact_flow_id=contact_flow_id,
            skill_group_ids=tuple(skill_group_ids),
        )
        self._c.execute(
            "INSERT INTO bindings (phone_number_id, number, instance_id, usage, contact_flow_id,"
            " skill_group_ids) VALUES (?, ?, ?, ?, ?, ?)",
            (
                b.phone_number_id,
                number,
                instance_id,
                usage,
                contact_flow_id,
                json.dumps(list(b.skill_group_ids)),
            ),
        )
        return b

    def update_binding(
        self, phone_number_id: str, usage: str, contact_flow_id: str | None, skill_group_ids: Iterable[str]
    ) -> Binding:
        groups = tuple(skill_group_ids)
        self._c.execute(
            "UPDATE bindings SET usage = ?, contact_flow_id = ?, skill_group_ids = ?"
            " WHERE phone_number_id = ?",
            (usage, contact_flow_id, json.dumps(list(groups)), phone_number_id),
        )
        b = self.binding(phone_number_id)
        if b is None:  # pragma: no cover - the caller looked it up in this transaction
            raise KeyError(phone_number_id)
        return b

    def remove_binding(self, phone_number_id: str) -> None:
        self._c.execute("DELETE FROM bindings WHERE phone_number_id = ?", (phone_number_id,))

    # -- whole state -----------------------------------------------------------------------------

    def replace(self, seed: Seed) -> None:
        """Throw the current state away and load the seed (bindings get fresh PhoneNumberIds)."""
        c = self._c
        for table in ("access_keys", "instances", "contact_flows", "skill_groups", "numbers", "bindings"):
            c.execute(f"DELETE FROM {table}")
        c.executemany(
            "INSERT INTO access_keys (id, secret, security_token) VALUES (?, ?, ?)",
            [(k.id, k.secret, k.security_token) for k in seed.access_keys],
        )
        c.executemany("INSERT INTO instances (id) VALUES (?)", [(i.id,) for i in seed.instances])
        c.executemany(
            "INSERT INTO contact_flows (instance_id, id, name, description, type) VALUES (?, ?, ?, ?, ?)",
            [(i.id, f.id, f.name, f.description, f.type) for i in seed.instances for f in i.contact_flows],
        )
        c.executemany(
            "INSERT INTO skill_groups (instance_id, id, name) VALUES (?, ?, ?)",
            [(i.id, g.id, g.name) for i in seed.instances for g in i.skill_groups],
        )
        c.executemany(
            "INSERT INTO numbers (number, trunks, description, test_only, remaining_time, in_arrears)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [
                (n.number, n.trunks, n.description, int(n.test_only), n.remaining_time, int(n.in_arrears))
                for n in seed.numbers
            ],
        )
        for b in seed.bindings:
            self.add_binding(b.number, b.instance_id, b.usage, b.contact_flow_id, b.skill_group_ids)
        c.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('seeded', '1')")

    def create_schema(self) -> None:
        # Statement by statement: executescript() would COMMIT our open transaction.
        for stmt in _SCHEMA.split(";"):
            if stmt.strip():
                self._c.execute(stmt)
        self._c.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('schema', ?)", (SCHEMA_VERSION,))

    def is_seeded(self) -> bool:
        return self._c.execute("SELECT 1 FROM meta WHERE key = 'seeded'").fetchone() is not None

    def snapshot(self) -> dict[str, Any]:
        """Instances, numbers and bindings as plain data (never access keys: secrets stay inside)."""
        instances = []
        for iid in self.instance_ids():
            instances.append(
                {
                    "id": iid,
                    "contact_flows": [
                        {"id": f.id, "name": f.name, "description": f.description, "type": f.type}
                        for f in self.contact_flows(iid)
                    ],
                    "skill_groups": [{"id": g.id, "name": g.name} for g in self.skill_groups(iid)],
                }
            )
        numbers = [
            {
                "number": n.number,
                "trunks": n.trunks,
                "description": n.description,
                "test_only": n.test_only,
                "remaining_time": n.remaining_time,
                "in_arrears": n.in_arrears,
            }
            for n in self.numbers().values()
        ]
        return {
            "instances": instances,
            "numbers": numbers,
            "bindings": [binding_dict(b) for b in self.bindings()],
        }


def binding_dict(b: Binding) -> dict[str, Any]:
    """A binding in the snapshot shape of docs/contracts.md."""
    return {
        "number": b.number,
        "instance_id": b.instance_id,
        "phone_number_id": b.phone_number_id,
        "usage": b.usage,
        "contact_flow_id": b.contact_flow_id,
        "skill_group_ids": list(b.skill_group_ids),
    }


class Store:
    """The SQLite database behind one emulator (in memory, or a file shared with other processes)."""

    def __init__(self, path: str | None = None, *, busy_timeout_s: float = 30.0) -> None:
        self.path = path
        # isolation_level=None: we issue BEGIN IMMEDIATE / COMMIT ourselves, so a request's reads
        # and writes are one transaction that takes the write lock up front (no upgrade deadlocks
        # between two processes sharing the file).
        self._conn = sqlite3.connect(
            path or ":memory:", isolation_level=None, check_same_thread=False, timeout=busy_timeout_s
        )
        # One connection serves the server thread and the caller's thread; SQLite connections are
        # not safe for concurrent use, so transactions are serialised here.
        self._lock = threading.RLock()
        with self._lock:
            if path:
                # WAL: readers in another process do not block our writer; NORMAL sync survives a
                # process crash (only an OS crash or power loss can lose the last commits).
                self._conn.execute("PRAGMA journal_mode=WAL")
                self._conn.execute("PRAGMA synchronous=NORMAL")
            with self.transaction() as tx:
                tx.create_schema()

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        """One atomic unit: committed when the block ends, rolled back if it raises."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield Tx(self._conn)
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def replace(self, seed: Seed) -> None:
        with self.transaction() as tx:
            tx.replace(seed)

    def close(self) -> None:
        with self._lock:
            self._conn.close()
