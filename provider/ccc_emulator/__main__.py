"""The ``ccc-emulator`` command (also ``python -m ccc_emulator``): serve the emulator until a signal.

Owns the command line only. The contract other tools rely on: the FIRST line on stdout is exactly
the base URL (``http://127.0.0.1:PORT``), flushed before anything else is written; every other
message goes to stderr; SIGTERM and SIGINT stop the server cleanly within about a second (README).
Must not duplicate server logic: it drives :class:`ccc_emulator.Emulator` like any other caller.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from .admin import ADMIN_PREFIX
from .emulator import Emulator
from .seed import SeedError
from .service import DEFAULT_BATCH_CAP_CODE, DEFAULT_BATCH_CAP_MESSAGE


def _version() -> str:
    """The installed distribution's version: pyproject.toml is the one place it is written."""
    try:
        return importlib.metadata.version("pulumi-ccc-numbers")
    except importlib.metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown (not installed)"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="ccc-emulator",
        description="A local Alibaba Cloud Contact Center (CCC 2017-07-05) phone-number API.",
    )
    p.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=0, help="port; 0 picks a free one (default)")
    p.add_argument("--state", metavar="FILE", help="SQLite state file; an existing one wins over --seed")
    p.add_argument("--seed", metavar="FILE", help="JSON seed file (default: the built-in demo seed)")
    p.add_argument("--max-batch-size", type=int, default=100, metavar="N", help="AddBulk cap (default 100)")
    p.add_argument(
        "--batch-cap-code",
        default=DEFAULT_BATCH_CAP_CODE,
        metavar="CODE",
        help=f"code of the refusal of a batch over the cap (default {DEFAULT_BATCH_CAP_CODE})",
    )
    p.add_argument(
        "--batch-cap-message",
        default=DEFAULT_BATCH_CAP_MESSAGE,
        metavar="TEXT",
        help="message of that refusal; {max} becomes the cap (default %(default)r)",
    )
    p.add_argument("--latency-ms", type=float, default=0, metavar="N", help="latency added to every call")
    p.add_argument("--rng-seed", type=int, default=0, metavar="N", help="seed of the fault random source")
    p.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="JSON",
        help='a fault to start with (repeatable), e.g. \'{"kind": "throttling", "skip": 1, "times": 2}\'',
    )
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        emu = Emulator(
            seed=args.seed,
            state_path=args.state,
            host=args.host,
            port=args.port,
            max_batch_size=args.max_batch_size,
            latency_ms=args.latency_ms,
            rng_seed=args.rng_seed,
            batch_cap_code=args.batch_cap_code,
            batch_cap_message=args.batch_cap_message,
        )
        for spec in args.fault:
            doc = json.loads(spec)
            emu.inject(
                doc.pop("kind"),
                action=doc.pop("action", None),
                times=doc.pop("times", None),
                probability=doc.pop("probability", None),
                skip=doc.pop("skip", 0),
                **doc.pop("options", {}),
                **doc,
            )
    except (SeedError, ValueError, KeyError, TypeError, OSError) as exc:
        print(f"ccc-emulator: {exc}", file=sys.stderr)
        return 2

    stop = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        emu.start()
    except OSError as exc:
        print(f"ccc-emulator: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    # The first stdout line is the contract: exactly the URL, flushed at once.
    sys.stdout.write(emu.url + "\n")
    sys.stdout.flush()
    print(
        f"ccc-emulator: serving {emu.url} (admin under {emu.url}{ADMIN_PREFIX}/, "
        f"state {'in ' + args.state if args.state else 'in memory'}); stop with Ctrl-C or SIGTERM",
        file=sys.stderr,
        flush=True,
    )
    # wait() with a timeout keeps the main thread responsive to signals on every platform.
    while not stop.wait(0.5):
        pass
    emu.stop()
    print("ccc-emulator: stopped", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
