"""Stack config → ProviderSettings and Credentials: every key, every endpoint form, exact errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pulumi.dynamic import Config

from ccc_emulator import demo
from ccc_numbers import config
from ccc_numbers.config import (
    KEYS,
    Credentials,
    Endpoint,
    ProviderSettings,
    RetryPolicy,
    RuntimeConfig,
)
from ccc_numbers.errors import ConfigurationError

PROJECT_DIR = Path("/srv/stack")


def parse(values: dict[str, Any], environ: dict[str, str] | None = None) -> RuntimeConfig:
    """What configure() does with this stack config, in a project directory and an environment."""
    return RuntimeConfig.from_pulumi_config(Config(values, "proj"), environ or {}, cwd=PROJECT_DIR)


def error(values: dict[str, Any], environ: dict[str, str] | None = None) -> ConfigurationError:
    with pytest.raises(ConfigurationError) as caught:
        parse(values, environ)
    return caught.value


def test_defaults() -> None:
    """No ccc: keys and no environment: the documented defaults and the default credential chain."""
    assert parse({}) == RuntimeConfig(
        ProviderSettings(
            region="cn-shanghai",
            endpoint=None,
            embedded=False,
            embedded_state_path="/srv/stack/.ccc-emulator/state.sqlite3",
            batch_size=100,
            max_concurrency=4,
            requests_per_second=50.0,
            retry=RetryPolicy(max_attempts=6, base_delay_ms=200, max_delay_ms=10_000, budget_seconds=120.0),
            connect_timeout_ms=5_000,
            read_timeout_ms=30_000,
        ),
        None,
    )
    assert parse({}).settings.static_endpoint() == Endpoint("ccc.cn-shanghai.aliyuncs.com", "https")


def test_every_key_is_read() -> None:
    """Each documented key reaches its setting; strings (as `pulumi config set` stores) are parsed."""
    runtime = parse({
        "ccc:region": "cn-hangzhou",
        "ccc:endpoint": "http://127.0.0.1:8080",
        "ccc:embeddedStatePath": "state/ccc.db",
        "ccc:accessKeyId": "LTAIkey",
        "ccc:accessKeySecret": "s3cret-value",
        "ccc:securityToken": "sts-token-value",
        "ccc:batchSize": "50",
        "ccc:maxConcurrency": "8",
        "ccc:requestsPerSecond": "12.5",
        "ccc:retryMaxAttempts": "3",
        "ccc:retryBaseDelayMs": "50",
        "ccc:retryMaxDelayMs": "500",
        "ccc:retryBudgetSeconds": "30",
        "ccc:connectTimeoutMs": "1000",
        "ccc:readTimeoutMs": "2000",
        "proj:unrelated": "ignored",
        "aws:region": "us-east-1",
    })
    assert runtime == RuntimeConfig(
        ProviderSettings(
            region="cn-hangzhou",
            endpoint=Endpoint("127.0.0.1:8080", "http"),
            embedded=False,
            embedded_state_path="/srv/stack/state/ccc.db",
            batch_size=50,
            max_concurrency=8,
            requests_per_second=12.5,
            retry=RetryPolicy(max_attempts=3, base_delay_ms=50, max_delay_ms=500, budget_seconds=30.0),
            connect_timeout_ms=1_000,
            read_timeout_ms=2_000,
        ),
        Credentials("LTAIkey", "s3cret-value", "sts-token-value", "stack config"),
    )
    assert len(KEYS) == 15


def test_numbers_may_arrive_as_numbers() -> None:
    """Structured config and the engine hand back numbers, ints sometimes as floats."""
    settings = parse({"ccc:batchSize": 20.0, "ccc:maxConcurrency": 2, "ccc:requestsPerSecond": 5}).settings
    assert (settings.batch_size, settings.max_concurrency, settings.requests_per_second) == (20, 2, 5.0)


def test_region_sets_the_default_endpoint() -> None:
    """Without ccc:endpoint the region picks ccc.<region>.aliyuncs.com over HTTPS."""
    assert parse({"ccc:region": "cn-hangzhou"}).settings.static_endpoint() == Endpoint(
        "ccc.cn-hangzhou.aliyuncs.com", "https"
    )


@pytest.mark.parametrize(
    ("value", "endpoint"),
    [
        ("ccc.cn-shanghai.aliyuncs.com", Endpoint("ccc.cn-shanghai.aliyuncs.com", "https")),
        ("ccc-vpc.cn-shanghai.aliyuncs.com:443", Endpoint("ccc-vpc.cn-shanghai.aliyuncs.com:443", "https")),
        ("http://127.0.0.1:8080", Endpoint("127.0.0.1:8080", "http")),
        ("HTTP://localhost:9000/", Endpoint("localhost:9000", "http")),
        ("https://ccc.example.com", Endpoint("ccc.example.com", "https")),
        ("  https://ccc.example.com:8443  ", Endpoint("ccc.example.com:8443", "https")),
    ],
)
def test_endpoint_forms(value: str, endpoint: Endpoint) -> None:
    """A host means HTTPS; a URL gives its protocol; the SDK only ever gets the bare host:port."""
    settings = parse({"ccc:endpoint": value}).settings
    assert (settings.endpoint, settings.embedded) == (endpoint, False)
    assert settings.static_endpoint() == endpoint


@pytest.mark.parametrize("value", ["embedded", "Embedded", " EMBEDDED "])
def test_embedded_endpoint(value: str) -> None:
    """`embedded` (any case) selects the in-process emulator and its demo key."""
    runtime = parse({"ccc:endpoint": value})
    assert (runtime.settings.embedded, runtime.settings.endpoint) == (True, None)
    assert runtime.credentials == Credentials(
        demo.DEMO_ACCESS_KEY_ID, demo.DEMO_ACCESS_KEY_SECRET, None, "emulator demo key"
    )
    with pytest.raises(ValueError, match="known only after it starts"):
        runtime.settings.static_endpoint()


def test_embedded_state_path_forms() -> None:
    """Relative to the project directory; absolute paths and ~ are kept as such."""
    absolute = parse({"ccc:embeddedStatePath": "/var/lib/ccc.db"}).settings
    assert absolute.embedded_state_path == "/var/lib/ccc.db"
    assert parse({"ccc:embeddedStatePath": "~/ccc.db"}).settings.embedded_state_path == str(
        Path("~/ccc.db").expanduser()
    )


def test_empty_endpoint_means_unset() -> None:
    """`ccc:endpoint: ""` falls back to the region, as if absent."""
    assert parse({"ccc:endpoint": ""}).settings.endpoint is None


@pytest.mark.parametrize(
    "value",
    ["ftp://ccc.example.com", "http://host/path", "host:99999", "host:http",
     "a b", "http://", "-bad-.example.com", "host:80?x=1"],
)
def test_bad_endpoints(value: str) -> None:
    """Anything but a host, an http(s) URL without path, or `embedded` is refused, naming the key."""
    err = error({"ccc:endpoint": value})
    assert err.key == "ccc:endpoint"
    assert str(err) == (
        "ccc:endpoint must be a host name (ccc.cn-shanghai.aliyuncs.com), an http:// or https:// URL with "
        f'an optional port and no path (http://127.0.0.1:8080), or "embedded"; got {value!r}'
    )


@pytest.mark.parametrize(
    ("value", "shown"),
    [("http://user:s3cret@host", "http://***@host"), ("user:s3cret@host:80", "***@host:80")],
)
def test_bad_endpoint_with_userinfo_is_not_echoed(value: str, shown: str) -> None:
    """An endpoint carrying user:password@ is refused without repeating the password."""
    err = error({"ccc:endpoint": value})
    assert "s3cret" not in str(err)
    assert str(err).endswith(f"; got {shown!r}")


@pytest.mark.parametrize("value", ["CN Shanghai", "shanghai", "cn_shanghai", 7])
def test_bad_region(value: object) -> None:
    """Region ids look like cn-shanghai."""
    assert str(error({"ccc:region": value})) == (
        f"ccc:region must be a region id such as cn-shanghai or cn-hangzhou, got {value!r}"
    )


@pytest.mark.parametrize(
    ("key", "value", "low", "high"),
    [
        ("ccc:batchSize", "0", 1, 1000),
        ("ccc:batchSize", "1001", 1, 1000),
        ("ccc:batchSize", "ten", 1, 1000),
        ("ccc:batchSize", 1.5, 1, 1000),
        ("ccc:batchSize", True, 1, 1000),
        ("ccc:maxConcurrency", "65", 1, 64),
        ("ccc:retryMaxAttempts", "0", 1, 20),
        ("ccc:retryBaseDelayMs", "-1", 0, 60000),
        ("ccc:retryMaxDelayMs", "600001", 0, 600000),
        ("ccc:connectTimeoutMs", "0", 1, 600000),
        ("ccc:readTimeoutMs", "1e3", 1, 3600000),
    ],
)
def test_bad_whole_numbers(key: str, value: object, low: int, high: int) -> None:
    """Whole-number keys name themselves, their range and the value given."""
    err = error({key: value})
    assert (str(err), err.key) == (f"{key} must be a whole number from {low} to {high}, got {value!r}", key)


@pytest.mark.parametrize("value", ["0", "-1", "fast", "nan", "inf", "10001", False])
def test_bad_requests_per_second(value: object) -> None:
    """The request rate is a positive, finite number up to 10000."""
    assert str(error({"ccc:requestsPerSecond": value})) == (
        f"ccc:requestsPerSecond must be a number from 0.1 to 10000, got {value!r}"
    )


def test_bad_retry_budget() -> None:
    """The retry budget is 1 to 3600 seconds."""
    assert str(error({"ccc:retryBudgetSeconds": "0.5"})) == (
        "ccc:retryBudgetSeconds must be a number from 1 to 3600, got '0.5'"
    )


def test_max_delay_below_base_delay() -> None:
    """A cap below the first backoff is a contradiction, named with both keys."""
    assert str(error({"ccc:retryBaseDelayMs": "500", "ccc:retryMaxDelayMs": "100"})) == (
        "ccc:retryMaxDelayMs (100) must be at least ccc:retryBaseDelayMs (500)"
    )


def test_empty_state_path() -> None:
    """A blank state path is refused rather than pointing at the project directory."""
    assert str(error({"ccc:embeddedStatePath": "  "})) == "ccc:embeddedStatePath must not be empty"


def test_unknown_key_suggests_the_known_one() -> None:
    """A misspelt ccc: key is an error (it would silently drop a credential), with a suggestion."""
    err = error({"ccc:accesKeySecret": "x"})
    assert err.key == "ccc:accesKeySecret"
    assert str(err) == (
        "unknown configuration key ccc:accesKeySecret (did you mean ccc:accessKeySecret?); the provider "
        "reads " + ", ".join(KEYS)
    )


def test_unknown_key_without_a_near_miss() -> None:
    """No suggestion when nothing is close."""
    assert str(error({"ccc:zzz": "1"})).startswith("unknown configuration key ccc:zzz; the provider reads ")


# -- credentials -----------------------------------------------------------------------------------

ENV = {"ALIBABA_CLOUD_ACCESS_KEY_ID": "LTAIenv", "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "env-secret-value"}


def test_stack_config_credentials_win_over_environment() -> None:
    """ccc:accessKeyId/Secret come first."""
    runtime = parse({"ccc:accessKeyId": "LTAIcfg", "ccc:accessKeySecret": "cfg-secret"}, ENV)
    assert runtime.credentials == Credentials("LTAIcfg", "cfg-secret", None, "stack config")


def test_environment_credentials() -> None:
    """Then the ALIBABA_CLOUD_* variables, with the STS token if set."""
    runtime = parse({}, {**ENV, "ALIBABA_CLOUD_SECURITY_TOKEN": "env-token"})
    assert runtime.credentials == Credentials("LTAIenv", "env-secret-value", "env-token", "environment")


def test_embedded_ignores_environment_keys_but_not_config_keys() -> None:
    """A real account's key in the environment is not sent to the emulator; a configured one is."""
    assert parse({"ccc:endpoint": "embedded"}, ENV).credentials == Credentials(
        demo.DEMO_ACCESS_KEY_ID, demo.DEMO_ACCESS_KEY_SECRET, None, "emulator demo key"
    )
    configured = {"ccc:endpoint": "embedded", "ccc:accessKeyId": "LTAIx", "ccc:accessKeySecret": "y-secret"}
    assert parse(configured).credentials == Credentials("LTAIx", "y-secret", None, "stack config")


@pytest.mark.parametrize(
    ("values", "present", "missing"),
    [
        ({"ccc:accessKeyId": "LTAIkey"}, "ccc:accessKeyId", "ccc:accessKeySecret"),
        ({"ccc:accessKeySecret": "only-secret"}, "ccc:accessKeySecret", "ccc:accessKeyId"),
        ({"ccc:securityToken": "only-token"}, "ccc:securityToken", "ccc:accessKeyId"),
    ],
)
def test_half_configured_credentials(values: dict[str, str], present: str, missing: str) -> None:
    """One half of a key pair is an error naming both halves, never echoing a value."""
    err = error(values)
    assert err.key == missing
    assert str(err) == (
        f"{present} is set but {missing} is not: set ccc:accessKeyId and ccc:accessKeySecret together "
        "(pulumi config set --secret ccc:accessKeySecret …), or neither"
    )


@pytest.mark.parametrize(
    ("environ", "present", "missing"),
    [
        ({"ALIBABA_CLOUD_ACCESS_KEY_ID": "LTAIenv"}, "ALIBABA_CLOUD_ACCESS_KEY_ID",
         "ALIBABA_CLOUD_ACCESS_KEY_SECRET"),
        ({"ALIBABA_CLOUD_ACCESS_KEY_SECRET": "env-secret"}, "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
         "ALIBABA_CLOUD_ACCESS_KEY_ID"),
    ],
)
def test_half_set_environment(environ: dict[str, str], present: str, missing: str) -> None:
    """Half a key pair in the environment is an error too."""
    assert str(error({}, environ)) == (
        f"the environment variable {present} is set but {missing} is not: set both, or neither and use "
        "ccc:accessKeyId / ccc:accessKeySecret"
    )


def test_non_string_secret_is_refused_without_echo() -> None:
    """A secret of the wrong type is named, its value is not."""
    assert str(error({"ccc:accessKeyId": "LTAIkey", "ccc:accessKeySecret": 12345678})) == (
        "ccc:accessKeySecret must be a string"
    )


def test_credentials_repr_hides_secret_and_token() -> None:
    """repr (and so every f-string and log line of a RuntimeConfig) shows the key id and source only."""
    runtime = parse({"ccc:accessKeyId": "LTAIkey", "ccc:accessKeySecret": "s3cret-value",
                     "ccc:securityToken": "sts-token-value"})
    text = repr(runtime)
    assert "s3cret-value" not in text
    assert "sts-token-value" not in text
    assert repr(runtime.credentials) == "Credentials(access_key_id='LTAIkey', source='stack config')"


# -- endpoint helpers and the registry -------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1:1", True), ("127.0.0.9", True), ("localhost:8080", True), ("LOCALHOST", True),
     ("10.0.0.1", False), ("ccc.cn-shanghai.aliyuncs.com", False)],
)
def test_loopback_detection(host: str, loopback: bool) -> None:
    """Loopback endpoints bypass proxies; everything else may use them."""
    assert Endpoint(host, "http").is_loopback is loopback


def test_configure_installs_and_installed_restores() -> None:
    """configure() makes the parsed config current; installed() puts back what was there."""
    first = RuntimeConfig(ProviderSettings(region="cn-hangzhou"))
    with config.installed(first):
        assert config.current() is first
        runtime = config.configure(Config({"ccc:region": "cn-beijing"}, "proj"), {})
        assert config.current() is runtime
        assert runtime.settings.region == "cn-beijing"
        with config.installed(RuntimeConfig()) as inner:
            assert config.current() is inner
        assert config.current() is runtime
    assert config.current() is not runtime


def test_current_without_configure_uses_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    """Before any configure(), current() is the defaults plus the process environment."""
    monkeypatch.setattr(config, "_current", None)
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", "LTAIproc")
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "proc-secret")
    runtime = config.current()
    assert runtime.settings.region == "cn-shanghai"
    assert runtime.credentials == Credentials("LTAIproc", "proc-secret", None, "environment")
