"""``ccc-numbers doctor`` against the emulator: every line it prints, its exit codes, its settings chain."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alibabacloud_tea_openapi import utils as tea_utils

from ccc_emulator import Emulator, demo
from ccc_numbers import cli, stack_settings
from ccc_numbers.binding import PhoneNumberBinding
from ccc_numbers.config import RuntimeConfig

INSTANCE = demo.DEMO_INSTANCE_ID
INDENT = " " * 20
KEY_HINT = (
    f"{INDENT}hint: check ccc:accessKeyId, ccc:accessKeySecret and ccc:securityToken in the stack config, "
    "or ALIBABA_CLOUD_ACCESS_KEY_ID, ALIBABA_CLOUD_ACCESS_KEY_SECRET and ALIBABA_CLOUD_SECURITY_TOKEN (an "
    "STS key needs its token)"
)
NO_PROJECT = (
    "ccc-numbers doctor: settings from no Pulumi project in this folder: defaults and the environment"
)
FLOWS = (
    "3 contact flows: 8Cvg_0mcsm6K (Welcome), ivr_AfterHrs01 (After hours), ivr_MainMenu01 (IVR main menu)"
)
GROUPS = (
    "3 skill groups: 3f3ceb0d-d6b6-4c97-af20-f3daf04f90e0 (Default), 9a7c1e52-5b1d-4f0e-8d3a-2f6b7c8d9e01 "
    "(Sales), b2e4f6a8-1c3d-4e5f-9a7b-0c2d4e6f8a02 (Support)"
)


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder without Pulumi.yaml, with the demo key in the environment (and nothing else)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", demo.DEMO_ACCESS_KEY_ID)
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", demo.DEMO_ACCESS_KEY_SECRET)
    monkeypatch.delenv("ALIBABA_CLOUD_SECURITY_TOKEN", raising=False)
    return tmp_path


def doctor(
    capsys: pytest.CaptureFixture[str], *argv: str, clock: Any = time.time
) -> tuple[int, list[str], str]:
    """Exit code, stdout lines with the probe's milliseconds blanked, stderr."""
    code = cli.main(["doctor", *argv], clock=clock)
    captured = capsys.readouterr()
    lines = [re.sub(r", \d+ ms\)", ", N ms)", line) for line in captured.out.splitlines()]
    return code, lines, captured.err


def endpoint_line(emu: Emulator) -> str:
    return (
        f"ok    endpoint      {emu.url} answers as a CCC gateway (HTTP 400 MissingSignature to an unsigned "
        "request, N ms)"
    )


CLOCK_OK = (
    "ok    clock         within 2 s of the service's Date header (requests more than 15 minutes off are "
    "refused)"
)


def test_doctor_passes_against_the_emulator(
    ccc_emulator: Emulator, elsewhere: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Credentials, endpoint, clock, access, instance, flows, groups: seven ok lines, exit 0, reads only."""
    ccc_emulator.bind(demo.landline(0), INSTANCE)
    code, lines, err = doctor(capsys, "--endpoint", ccc_emulator.url, "--instance", INSTANCE)
    assert (code, err) == (0, "")
    assert lines == [
        NO_PROJECT,
        "ok    credentials   AccessKey LTAI5tCccEmulatorDemo01 from environment",
        endpoint_line(ccc_emulator),
        CLOCK_OK,
        "ok    access        the service accepts the AccessKey's signed calls",
        f"ok    instance      {INSTANCE} exists: 1 phone number bound",
        f"ok    contact flows {INSTANCE}: {FLOWS}",
        f"ok    skill groups  {INSTANCE}: {GROUPS}",
        "all 7 checks passed",
    ]
    assert [e.action for e in ccc_emulator.journal] == [
        "", "ListPhoneNumbers", "ListContactFlows", "ListSkillGroups",
    ]


def test_a_wrong_secret_fails_access_with_a_hint_and_skips_the_rest(
    ccc_emulator: Emulator,
    elsewhere: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """SignatureDoesNotMatch: the key id (never the secret), the service's first sentence, what to check."""
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "not-the-secret-0042")
    code, lines, _ = doctor(capsys, "--endpoint", ccc_emulator.url, "--instance", INSTANCE)
    assert code == 1
    assert lines[4:] == [
        "FAIL  access        the service refused the AccessKey LTAI5tCccEmulatorDemo01 "
        "(SignatureDoesNotMatch: Specified signature is not matched with our calculation.)",
        KEY_HINT,
        f"skip  instance      {INSTANCE}: needs an accepted AccessKey",
        f"skip  contact flows {INSTANCE}: needs an accepted AccessKey",
        f"skip  skill groups  {INSTANCE}: needs an accepted AccessKey",
        "1 check failed, 3 skipped: fix the first failure and run ccc-numbers doctor again",
    ]
    assert "not-the-secret-0042" not in "\n".join(lines)


def test_a_wrong_instance_fails_with_where_it_looked_and_the_others_still_run(
    ccc_emulator: Emulator, elsewhere: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An unknown instance: one failure naming endpoint and key; a second, good instance is still checked."""
    code, lines, _ = doctor(
        capsys, "--endpoint", ccc_emulator.url, "--instance", "d278629c-0000", "--instance", INSTANCE,
    )
    assert code == 1
    assert lines[4:] == [
        "ok    access        the service accepts the AccessKey's signed calls",
        f"FAIL  instance      d278629c-0000 does not exist at {ccc_emulator.url} for AccessKey "
        "LTAI5tCccEmulatorDemo01 (NotExist.Instance: Call center instance 'd278629c-0000' does not exist)",
        f"{INDENT}hint: check the instance id (--instance) and ccc:region or ccc:endpoint: an "
        "instance is found only through its own region's endpoint",
        "skip  contact flows d278629c-0000: needs the instance",
        "skip  skill groups  d278629c-0000: needs the instance",
        f"ok    instance      {INSTANCE} exists: 0 phone numbers bound",
        f"ok    contact flows {INSTANCE}: {FLOWS}",
        f"ok    skill groups  {INSTANCE}: {GROUPS}",
        "1 check failed, 2 skipped: fix the first failure and run ccc-numbers doctor again",
    ]


@pytest.fixture
def clock_20_minutes_ahead(monkeypatch: pytest.MonkeyPatch) -> Any:
    """This machine's clock 20 minutes fast: for the SDK's timestamps and the doctor's own reading."""
    offset = timedelta(minutes=20)

    class Fast(datetime):
        @classmethod
        def utcnow(cls) -> Fast:  # type: ignore[override]
            return cls.fromtimestamp(datetime.utcnow().timestamp() + offset.total_seconds())

    monkeypatch.setattr(tea_utils, "datetime", Fast)
    return lambda: time.time() + offset.total_seconds()


def test_a_skewed_clock_fails_the_clock_and_explains_the_refused_timestamp(
    ccc_emulator: Emulator, elsewhere: Path, capsys: pytest.CaptureFixture[str], clock_20_minutes_ahead: Any
) -> None:
    """20 minutes fast: the Date header shows it, and the service refuses the signed call for it."""
    code, lines, _ = doctor(
        capsys, "--endpoint", ccc_emulator.url, "--instance", INSTANCE, clock=clock_20_minutes_ahead
    )
    assert code == 1
    clock_hint = (
        f"{INDENT}hint: set this machine's clock (NTP): the service refuses requests whose "
        "timestamp is more than 15 minutes from its own"
    )
    assert re.fullmatch(
        r"FAIL  clock         this machine's clock is 20 min [0-2] s ahead of the service's Date header: "
        r"signed requests will be refused",
        lines[3],
    )
    assert lines[4:7] == [
        clock_hint,
        "FAIL  access        the service refused the request's timestamp (InvalidTimeStamp.Expired: "
        "Specified time stamp or date value is expired.)",
        clock_hint,
    ]
    assert lines[-1] == "2 checks failed, 3 skipped: fix the first failure and run ccc-numbers doctor again"


def test_nothing_listening_fails_the_endpoint_and_skips_what_needs_it(
    elsewhere: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A closed port: the endpoint fails with a hint; clock and everything after are skipped."""
    code, lines, _ = doctor(capsys, "--endpoint", "http://127.0.0.1:9", "--instance", INSTANCE)
    assert code == 1
    assert lines[2:] == [
        "FAIL  endpoint      no answer from http://127.0.0.1:9: [Errno 111] Connection refused",
        f"{INDENT}hint: check ccc:region or ccc:endpoint (or --endpoint), the network, and "
        "HTTPS_PROXY / HTTP_PROXY",
        "skip  clock         needs an endpoint that answers",
        "skip  access        needs credentials and an endpoint that answers",
        f"skip  instance      {INSTANCE}: needs credentials and an endpoint that answers",
        f"skip  contact flows {INSTANCE}: needs credentials and an endpoint that answers",
        f"skip  skill groups  {INSTANCE}: needs credentials and an endpoint that answers",
        "1 check failed, 5 skipped: fix the first failure and run ccc-numbers doctor again",
    ]


def test_usage_errors_exit_2_with_one_sentence(
    elsewhere: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No instance, a bad endpoint value, --stack without a project: exit 2, the reason on stderr."""
    assert doctor(capsys, "--endpoint", "http://127.0.0.1:9")[::2] == (
        2, "ccc-numbers doctor: no instance to check: pass --instance ID (no Pulumi project here has a state "
        "to name one)\n",
    )
    code, _, err = doctor(capsys, "--endpoint", "ftp://x", "--instance", INSTANCE)
    assert (code, err) == (
        2,
        "ccc-numbers doctor: ccc:endpoint must be a host name (ccc.cn-shanghai.aliyuncs.com), an http:// "
        'or https:// URL with an optional port and no path (http://127.0.0.1:8080), or "embedded"; got '
        "'ftp://x'\n",
    )
    code, _, err = doctor(capsys, "--stack", "dev", "--instance", INSTANCE)
    assert (code, err) == (
        2, f"ccc-numbers doctor: --stack dev names a stack, but there is no Pulumi.yaml in {elsewhere}: run "
        "from the project's folder\n",
    )
    with pytest.raises(SystemExit) as bad:
        cli.main(["doctor", "--nope"])
    assert bad.value.code == 2


# -- the stack config, read through the pulumi CLI -----------------------------------------------------


def test_stack_config_is_read_as_the_cli_prints_it(tmp_path: Path) -> None:
    """`pulumi config --json --show-secrets` output becomes the provider's settings; secrets included."""
    (tmp_path / "Pulumi.yaml").write_text("name: p\nruntime: python\n")
    calls: list[list[str]] = []
    printed = {
        ("config",): {
            "ccc:endpoint": {"value": "http://127.0.0.1:8080", "secret": False},
            "ccc:accessKeyId": {"value": "LTAIfromstack", "secret": False},
            "ccc:accessKeySecret": {"value": "s3cr3t-from-stack", "secret": True},
            "p:other": {"objectValue": {"a": 1}, "secret": False},
        },
        ("stack",): "dev\n",
    }

    def run(args: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        calls.append(args[1:])
        out = printed[(args[1],)]
        return subprocess.CompletedProcess(args, 0, out if isinstance(out, str) else json.dumps(out), "")

    env = {
        "PATH": os.environ["PATH"], "ALIBABA_CLOUD_ACCESS_KEY_ID": "LTAIenv",
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "e",
    }
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "pulumi").write_text("#!/bin/sh\nexit 1\n")
    (fake / "pulumi").chmod(0o755)
    env["PATH"] = f"{fake}:{env['PATH']}"
    loaded = stack_settings.load(cwd=tmp_path, environ=env, run=run)
    assert calls == [["config", "--json", "--show-secrets", "--non-interactive"],
                     ["stack", "--show-name", "--non-interactive"]]
    assert loaded.stack == "dev"
    creds = loaded.runtime.credentials
    assert creds is not None
    assert (creds.access_key_id, creds.access_key_secret, creds.source) == (
        "LTAIfromstack", "s3cr3t-from-stack", "stack config"
    )
    assert loaded.runtime.settings.endpoint is not None
    assert loaded.runtime.settings.endpoint.url == "http://127.0.0.1:8080"
    assert loaded.origin == f"the config of stack dev of the Pulumi project in {tmp_path.resolve()}"


def test_a_failing_pulumi_config_names_the_cli_reason_and_what_to_do(tmp_path: Path) -> None:
    """No stack selected: pulumi's own words and the --stack hint, exit 2 material."""
    (tmp_path / "Pulumi.yaml").write_text("name: p\nruntime: python\n")
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "pulumi").write_text("#!/bin/sh\nexit 1\n")
    (fake / "pulumi").chmod(0o755)

    def run(args: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(
            args, 255, "", "error: no stack selected; please use `pulumi stack select` to choose one\n"
        )

    with pytest.raises(stack_settings.SettingsError) as caught:
        stack_settings.load(cwd=tmp_path, environ={"PATH": str(fake)}, run=run)
    assert str(caught.value) == (
        "pulumi config failed: no stack selected; please use `pulumi stack select` to choose one; pass "
        "--stack NAME, or select one with `pulumi stack select`"
    )


def test_no_pulumi_cli_for_a_project_is_one_clear_error(tmp_path: Path) -> None:
    """A Pulumi.yaml but no pulumi on PATH: say so, and how to do without."""
    (tmp_path / "Pulumi.yaml").write_text("name: p\nruntime: python\n")
    with pytest.raises(stack_settings.SettingsError) as caught:
        stack_settings.load(cwd=tmp_path, environ={"PATH": str(tmp_path / "nothing")})
    assert str(caught.value) == (
        f"{tmp_path.resolve()} holds a Pulumi project, and its stack config is read with the pulumi CLI, "
        "which is not on PATH: install it (https://www.pulumi.com/docs/iac/download-install/), or run from a "
        "folder without Pulumi.yaml to use only the environment and --endpoint"
    )


def test_the_resource_type_the_doctor_looks_for_is_the_bindings() -> None:
    """stack_settings.RESOURCE_TYPE is PhoneNumberBinding's type token (so declared instances are found)."""
    # The SDK keeps the token without the provider's "pulumi-python:" prefix on the class.
    token = PhoneNumberBinding._resource_type_name  # type: ignore[attr-defined]
    assert f"pulumi-python:{token}" == stack_settings.RESOURCE_TYPE


def test_declared_instances_come_from_the_bindings_in_the_stack_state(tmp_path: Path) -> None:
    """`pulumi stack export`: the instance_id of each PhoneNumberBinding, once each, sorted."""
    (tmp_path / "Pulumi.yaml").write_text("name: p\nruntime: python\n")
    exported = {"version": 3, "deployment": {"resources": [
        {"type": "pulumi:pulumi:Stack", "outputs": {}},
        {"type": stack_settings.RESOURCE_TYPE, "outputs": {"instance_id": "inst-b"}},
        {"type": stack_settings.RESOURCE_TYPE, "inputs": {"instance_id": "inst-a"}},
        {"type": stack_settings.RESOURCE_TYPE, "outputs": {"instance_id": "inst-b"}},
        {"type": "pulumi:providers:pulumi-python", "inputs": {"instance_id": "not-a-binding"}},
    ]}}

    def run(args: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        assert args[1:] == ["stack", "export", "--stack", "dev", "--non-interactive"]
        return subprocess.CompletedProcess(args, 0, json.dumps(exported), "")

    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "pulumi").write_text("#!/bin/sh\nexit 1\n")
    (fake / "pulumi").chmod(0o755)
    settings = stack_settings.LocalSettings(RuntimeConfig(), tmp_path, "dev")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PATH", str(fake))
        assert stack_settings.declared_instances(settings, run=run) == ("inst-a", "inst-b")


@pytest.fixture
def real_cli(pulumi_cli: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A Pulumi project with a dev stack on a local file backend, for the real CLI on PATH."""
    monkeypatch.setenv("PATH", f"{pulumi_cli}{os.pathsep}{os.environ['PATH']}")
    project = tmp_path / "project"
    project.mkdir()
    (project / "Pulumi.yaml").write_text("name: doctor-test\nruntime: python\n")
    for key, value in {
        "PULUMI_BACKEND_URL": f"file://{tmp_path / 'backend'}", "PULUMI_CONFIG_PASSPHRASE": "",
        "PULUMI_HOME": str(tmp_path / "home"), "PULUMI_SKIP_UPDATE_CHECK": "true",
    }.items():
        monkeypatch.setenv(key, value)
    (tmp_path / "backend").mkdir()
    for name in ("ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET"):
        monkeypatch.delenv(name, raising=False)
    subprocess.run(["pulumi", "stack", "init", "dev", "--non-interactive"], cwd=project, check=True,
                   capture_output=True)
    monkeypatch.chdir(project)
    return project


@pytest.mark.real_engine
def test_doctor_reads_the_stack_config_through_the_real_cli(
    ccc_emulator: Emulator, real_cli: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Endpoint and key from the dev stack's config (the secret set with --secret): every check passes."""
    for args in (["ccc:endpoint", ccc_emulator.url], ["ccc:accessKeyId", demo.DEMO_ACCESS_KEY_ID],
                 ["--secret", "ccc:accessKeySecret", demo.DEMO_ACCESS_KEY_SECRET]):
        subprocess.run(["pulumi", "config", "set", *args, "--non-interactive"], cwd=real_cli, check=True,
                       capture_output=True)
    code, lines, err = doctor(capsys, "--instance", INSTANCE)
    assert (code, err) == (0, "")
    assert lines[:2] == [
        "ccc-numbers doctor: settings from the config of stack dev of the Pulumi project in "
        f"{real_cli.resolve()}",
        "ok    credentials   AccessKey LTAI5tCccEmulatorDemo01 from stack config",
    ]
    assert lines[-1] == "all 7 checks passed"
