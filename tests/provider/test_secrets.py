"""Secrets stay out of the Pulumi state (the pickled provider), error messages, logs and stderr."""

from __future__ import annotations

import base64
import logging
import socket
import traceback
from collections.abc import Iterator

import dill  # type: ignore[import-untyped]
import pytest
from pulumi.dynamic import Config, ConfigureRequest, ResourceProvider
from pulumi.dynamic.dynamic import serialize_provider

from ccc_emulator import Emulator, demo
from ccc_numbers import PhoneNumberBindingProvider, config
from ccc_numbers.client import CccClient
from ccc_numbers.config import Credentials, Endpoint, ProviderSettings, RetryPolicy, RuntimeConfig
from ccc_numbers.errors import CccError, ConfigurationError, InvalidInputError, TransportError, scrub
from ccc_numbers.models import Settings, Usage
from ccc_numbers.retry import instant_retries

SECRET = "wrong-secret-ZX81-never-print"
TOKEN = "sts-token-QL7-never-print"
STACK_CONFIG = {
    "ccc:endpoint": "http://127.0.0.1:1",
    "ccc:accessKeyId": "LTAIstackkey",
    "ccc:accessKeySecret": SECRET,
    "ccc:securityToken": TOKEN,
}


class ConfiguredProvider(ResourceProvider):
    """A provider shaped like ours: configure() reads the stack config into the process registry only."""

    def configure(self, req: ConfigureRequest) -> None:
        config.configure(req.config, {})


@pytest.fixture(autouse=True)
def restore_registry() -> Iterator[None]:
    """configure() installs process-wide; put the previous configuration back afterwards."""
    with config.installed(config.current()):
        yield


def pickled(provider: object) -> bytes:
    """The provider exactly as pulumi.dynamic stores it in __provider, decoded."""
    return base64.b64decode(serialize_provider(provider))


def test_configured_provider_pickle_has_no_secret() -> None:
    """After configure() with a secret, the pickle written into state carries neither secret nor token."""
    provider = ConfiguredProvider()
    provider.configure(ConfigureRequest(Config(STACK_CONFIG, "proj")))
    assert config.current().credentials == Credentials("LTAIstackkey", SECRET, TOKEN, "stack config")
    data = pickled(provider)
    assert SECRET.encode() not in data
    assert TOKEN.encode() not in data
    assert b"LTAIstackkey" not in data


def test_binding_provider_pickle_has_no_secret() -> None:
    """The real provider class, configured with credentials, pickles without them (and unpickles)."""
    provider = PhoneNumberBindingProvider()
    provider.configure(ConfigureRequest(Config(STACK_CONFIG, "proj")))
    encoded = serialize_provider(provider)
    data = base64.b64decode(encoded)
    assert SECRET.encode() not in data
    assert TOKEN.encode() not in data
    assert type(dill.loads(data)) is PhoneNumberBindingProvider
    # The pickle is an input: configuring must not change it, or every run would show a diff.
    assert serialize_provider(PhoneNumberBindingProvider()) == encoded


@pytest.mark.parametrize(
    "value",
    [
        Credentials("LTAIkey", SECRET, TOKEN),
        RuntimeConfig(ProviderSettings(), Credentials("LTAIkey", SECRET)),
        CccClient(RuntimeConfig(ProviderSettings(), Credentials("LTAIkey", SECRET))),
    ],
    ids=["Credentials", "RuntimeConfig", "CccClient"],
)
def test_credential_holders_refuse_to_be_pickled(value: object) -> None:
    """Putting credentials on the provider by mistake fails loudly instead of writing them into state."""

    class Careless(ResourceProvider):
        def __init__(self) -> None:
            self.held = value

    with pytest.raises(TypeError, match="never pickled"):
        serialize_provider(Careless())


def test_settings_pickle_and_hold_no_secret() -> None:
    """ProviderSettings are non-secret and picklable (safe to keep anywhere)."""
    settings = config.configure(Config(STACK_CONFIG, "proj"), {}).settings
    data = dill.dumps(settings, recurse=True)
    assert dill.loads(data) == settings
    assert SECRET.encode() not in data


# -- messages, logs and stderr ---------------------------------------------------------------------


def _everything_printed(
    err: BaseException, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> str:
    out, errs = capfd.readouterr()
    return "\n".join([
        str(err), repr(err), "".join(traceback.format_exception(err)), caplog.text, out, errs,
    ])


def test_wrong_secret_never_printed(
    ccc_emulator: Emulator, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    """SignatureDoesNotMatch from a wrong secret: message, traceback, DEBUG logs, stderr carry no secret."""
    caplog.set_level(logging.DEBUG)
    runtime = RuntimeConfig(
        ProviderSettings(endpoint=Endpoint(ccc_emulator.endpoint, "http"), requests_per_second=10_000),
        Credentials(demo.DEMO_ACCESS_KEY_ID, SECRET),
    )
    with pytest.raises(InvalidInputError) as caught:
        CccClient(runtime).list_numbers(demo.DEMO_INSTANCE_ID)
    assert caught.value.code == "SignatureDoesNotMatch"
    assert SECRET not in _everything_printed(caught.value, caplog, capfd)


def test_sts_token_never_printed_even_with_sdk_debug(
    ccc_emulator: Emulator,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """DEBUG=sdk would make darabonba print request headers (the STS token) to stderr; it is hidden."""
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("DEBUG", "sdk")
    sts = Credentials(
        demo.DEMO_STS_ACCESS_KEY_ID, demo.DEMO_STS_ACCESS_KEY_SECRET, demo.DEMO_STS_SECURITY_TOKEN
    )
    runtime = RuntimeConfig(
        ProviderSettings(endpoint=Endpoint(ccc_emulator.endpoint, "http"), requests_per_second=10_000), sts
    )
    ccc_emulator.inject("throttling", times=1)
    ccc_emulator.inject("internal_error", times=1, action="AddBulkPhoneNumbers")
    with instant_retries():
        CccClient(runtime).list_numbers(demo.DEMO_INSTANCE_ID)
        with pytest.raises(CccError) as caught:
            CccClient(runtime).add_bulk(demo.DEMO_INSTANCE_ID, [demo.landline(0)], Settings(Usage.INBOUND))
    printed = _everything_printed(caught.value, caplog, capfd)
    assert demo.DEMO_STS_SECURITY_TOKEN not in printed
    assert demo.DEMO_STS_ACCESS_KEY_SECRET not in printed
    assert "retrying" in caplog.text  # the DEBUG log did run


def test_transport_errors_never_print_credentials(
    caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    """Connection refused, with a key id, secret and token configured: none of them in any output."""
    caplog.set_level(logging.DEBUG)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    runtime = RuntimeConfig(
        ProviderSettings(endpoint=Endpoint(f"127.0.0.1:{port}", "http"), retry=RetryPolicy(2, 0, 0, 60)),
        Credentials("LTAIstackkey", SECRET, TOKEN),
    )
    with instant_retries(), pytest.raises(TransportError) as caught:
        CccClient(runtime).remove(demo.DEMO_INSTANCE_ID, "pn-1")
    printed = _everything_printed(caught.value, caplog, capfd)
    assert SECRET not in printed
    assert TOKEN not in printed


def test_config_errors_never_echo_secrets() -> None:
    """Half a key pair, or a secret of the wrong type: the message names keys, not values."""
    with pytest.raises(ConfigurationError) as half:
        config.configure(Config({"ccc:accessKeySecret": SECRET}, "proj"), {})
    with pytest.raises(ConfigurationError) as typed:
        config.configure(Config({"ccc:accessKeyId": "LTAIk", "ccc:securityToken": ["x", TOKEN]}, "proj"), {})
    assert SECRET not in str(half.value)
    assert TOKEN not in str(typed.value)
    assert str(typed.value) == "ccc:securityToken must be a string"


def test_scrub_removes_signed_url_parameters_and_secrets() -> None:
    """A v1 signed URL as the SDK quotes it in connection errors loses its key id, signature and token."""
    text = (
        "HTTPSConnectionPool(host='ccc.cn-shanghai.aliyuncs.com', port=443): Max retries exceeded with url: "
        "/?Action=ListPhoneNumbers&AccessKeyId=LTAIabc&Signature=8AeR1zmt%3D&SignatureNonce=82545b79"
        f"&SecurityToken=tok&Version=2017-07-05 (Caused by ...) secret was {SECRET}"
    )
    assert scrub(text, [SECRET, None, ""]) == (
        "HTTPSConnectionPool(host='ccc.cn-shanghai.aliyuncs.com', port=443): Max retries exceeded with url: "
        "/?Action=ListPhoneNumbers&AccessKeyId=***&Signature=***&SignatureNonce=***&SecurityToken=***"
        "&Version=2017-07-05 (Caused by ...) secret was ***"
    )
    header = "ACS3-HMAC-SHA256 Credential=LTAIabc,SignedHeaders=host;x-acs-date,Signature=ae5892ff"
    assert scrub(header) == "ACS3-HMAC-SHA256 Credential=***,SignedHeaders=host;x-acs-date,Signature=***"
