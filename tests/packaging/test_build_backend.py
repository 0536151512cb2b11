"""The build backend's one addition: a file added to a wheel is listed in its RECORD with the right hash.

Installers trust RECORD to uninstall (and some verify it), so a marker missing from RECORD would
survive ``pip uninstall`` and one with a wrong hash would fail a ``pip`` that checks.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import zipfile
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]


def _backend() -> ModuleType:
    spec = importlib.util.spec_from_file_location("ccc_build", ROOT / "build_backend" / "ccc_build.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _sha256(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def test_add_file_lists_the_file_in_record_with_its_hash_and_size(tmp_path: Path) -> None:
    """The added file is in the wheel, RECORD names it with sha256 and size, the rest is untouched."""
    wheel = tmp_path / "demo-1.0-py3-none-any.whl"
    pth = b"/src\n"
    record = f"demo.pth,{_sha256(pth)},{len(pth)}\ndemo-1.0.dist-info/RECORD,,\n".encode()
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("demo.pth", pth)
        zf.writestr("demo-1.0.dist-info/RECORD", record)

    data = b'{"resource": false}\n'
    _backend().add_file(wheel, "pulumi_demo/pulumi-plugin.json", data)

    with zipfile.ZipFile(wheel) as zf:
        assert zf.namelist() == ["demo.pth", "pulumi_demo/pulumi-plugin.json", "demo-1.0.dist-info/RECORD"]
        assert zf.read("pulumi_demo/pulumi-plugin.json") == data
        assert zf.read("demo.pth") == pth
        lines = zf.read("demo-1.0.dist-info/RECORD").decode().splitlines()
    assert lines == [
        f"demo.pth,{_sha256(pth)},{len(pth)}",
        "demo-1.0.dist-info/RECORD,,",
        f"pulumi_demo/pulumi-plugin.json,{_sha256(data)},{len(data)}",
    ]
