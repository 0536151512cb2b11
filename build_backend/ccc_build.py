"""The build backend: setuptools, plus the Pulumi plugin marker in editable wheels.

Owns one addition to setuptools' PEP 517/660 hooks: ``build_editable`` puts
``pulumi_ccc_numbers/pulumi-plugin.json`` (``{"resource": false}``, from ``provider/``) into the
editable wheel, so an editable install has it in site-packages too. Why: Pulumi's Python language
host takes every installed ``pulumi-*`` distribution without that file for a resource-plugin
package and tries five times, on each preview and ``up`` pass, to download a plugin
``ccc-numbers``. The current host finds the file through ``importlib.util.find_spec`` (so
``provider/`` on the path of an editable install would do); the old v3.68 host that
``scripts/pulumi-cli`` builds for CI reads ``<pip location>/pulumi_ccc_numbers/pulumi-plugin.json``,
and an editable install's location is site-packages, where setuptools' editable wheel puts
nothing but a ``.pth`` file. Regular wheels and sdists are setuptools' own, unchanged (the marker is
package data there). Must not change anything else about a build.
"""

from __future__ import annotations

import base64
import hashlib
import zipfile
from pathlib import Path
from typing import Any

from setuptools import build_meta as _setuptools
from setuptools.build_meta import (
    build_sdist,
    build_wheel,
    get_requires_for_build_editable,
    get_requires_for_build_sdist,
    get_requires_for_build_wheel,
    prepare_metadata_for_build_editable,
    prepare_metadata_for_build_wheel,
)

__all__ = [
    "build_editable",
    "build_sdist",
    "build_wheel",
    "get_requires_for_build_editable",
    "get_requires_for_build_sdist",
    "get_requires_for_build_wheel",
    "prepare_metadata_for_build_editable",
    "prepare_metadata_for_build_wheel",
]

#: Where the marker goes inside the wheel, relative to site-packages.
MARKER = "pulumi_ccc_numbers/pulumi-plugin.json"


def build_editable(
    wheel_directory: str,
    config_settings: dict[str, Any] | None = None,
    metadata_directory: str | None = None,
) -> str:
    """setuptools' editable wheel, with the plugin marker added as a real file."""
    name: str = _setuptools.build_editable(wheel_directory, config_settings, metadata_directory)
    # PEP 517 runs hooks from the source tree's root, which holds provider/ (a checkout or an sdist).
    marker = (Path.cwd() / "provider" / MARKER).read_bytes()
    add_file(Path(wheel_directory) / name, MARKER, marker)
    return name


def add_file(wheel: Path, arcname: str, data: bytes) -> None:
    """Add ``arcname`` to ``wheel`` and to its RECORD (sha256 and size, as the wheel spec says)."""
    with zipfile.ZipFile(wheel) as source:
        entries = [(info, source.read(info)) for info in source.infolist()]
    record = next(info.filename for info, _ in entries if info.filename.endswith(".dist-info/RECORD"))
    if any(info.filename == arcname for info, _ in entries):
        return  # setuptools put it there itself (a future editable mode); nothing to add
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode("ascii")
    line = f"{arcname},sha256={digest},{len(data)}\n".encode()
    rebuilt = wheel.with_suffix(".tmp")
    with zipfile.ZipFile(rebuilt, "w", zipfile.ZIP_DEFLATED) as target:
        for info, content in entries:
            if info.filename != record:
                target.writestr(info, content)
        target.writestr(arcname, data)
        # RECORD last, as installers expect; it lists every other file, the marker included.
        old = next(content for info, content in entries if info.filename == record)
        target.writestr(record, old + line)
    rebuilt.replace(wheel)
