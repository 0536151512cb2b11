"""The ``ccc-numbers`` command line: one entry point, one subcommand per tool.

``ccc-numbers doctor`` (:mod:`ccc_numbers.doctor`) checks an account before the first ``pulumi up``;
``ccc-numbers import`` (:mod:`ccc_numbers.importer`) writes a project adopting an instance's bound
numbers. A tool registers itself with an
``add_parser(commands)`` function that adds its subparser and sets ``handler`` to a function of
``(args, clock) -> exit code``; the shared ``--stack`` / ``--endpoint`` options and the settings
chain come from :mod:`ccc_numbers.stack_settings`. Owns parsing the command line and dispatching;
must not hold a tool's logic.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence

from . import doctor, importer

__all__ = ["main"]

#: Each tool's ``add_parser``, in the order ``--help`` lists them.
TOOLS = (doctor.add_parser, importer.add_parser)


def main(argv: Sequence[str] | None = None, *, clock: Callable[[], float] = time.time) -> int:
    """Run one subcommand; its exit code (argparse exits 2 itself on bad arguments)."""
    parser = argparse.ArgumentParser(
        prog="ccc-numbers",
        description="Tools for pulumi-ccc-numbers, using the provider's own settings chain.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add_parser in TOOLS:
        add_parser(commands)
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace, Callable[[], float]], int] = args.handler
    return handler(args, clock)


if __name__ == "__main__":  # pragma: no cover - python -m ccc_numbers.cli
    raise SystemExit(main())
