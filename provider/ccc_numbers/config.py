"""Provider settings and credentials, read from the stack config in ``configure()`` and the environment.

Stack config keys (namespace ``ccc:``; values may be strings, as ``pulumi config set`` stores them):

| key                      | default                       | meaning                                       |
|--------------------------|-------------------------------|-----------------------------------------------|
| `ccc:region`             | `cn-shanghai`                 | region; endpoint `ccc.<region>.aliyuncs.com`  |
| `ccc:endpoint`           | from the region               | `host[:port]` (HTTPS), `http://host:port`,    |
|                          |                               | `https://host[:port]`, or `embedded`: run     |
|                          |                               | the CCC emulator in the provider (demo key)   |
| `ccc:embeddedStatePath`  | `.ccc-emulator/state.sqlite3` | embedded emulator state; relative to the      |
|                          |                               | project directory                             |
| `ccc:accessKeyId`        | environment, then chain       | AccessKey id                                  |
| `ccc:accessKeySecret`    | environment, then chain       | AccessKey secret; set it with `--secret`      |
| `ccc:securityToken`      | none                          | STS token, with an STS AccessKey pair         |
| `ccc:batchSize`          | `100`                         | numbers per AddBulkPhoneNumbers call          |
|                          |                               | (1-1000); a smaller cap the API names wins    |
| `ccc:maxConcurrency`     | `4`                           | API calls in flight per operation (1-64)      |
| `ccc:requestsPerSecond`  | `50`                          | API calls per second per endpoint, whole      |
|                          |                               | provider process (0.1-10000)                  |
| `ccc:retryMaxAttempts`   | `6`                           | attempts per call on throttling, 5xx and      |
|                          |                               | network errors (1-20; 1: no retries)          |
| `ccc:retryBaseDelayMs`   | `200`                         | first backoff; doubles, full jitter (0-60000) |
| `ccc:retryMaxDelayMs`    | `10000`                       | cap on one wait, incl. `x-acs-retry-after`    |
|                          |                               | (0-600000)                                    |
| `ccc:retryBudgetSeconds` | `120`                         | time one call may spend retrying (1-3600)     |
| `ccc:connectTimeoutMs`   | `5000`                        | connect timeout (1-600000)                    |
| `ccc:readTimeoutMs`      | `30000`                       | answer timeout (1-3600000); an AddBulk call   |
|                          |                               | that times out is re-listed, never re-sent    |

Credentials, first match wins: ``ccc:accessKeyId`` + ``ccc:accessKeySecret`` (+ ``ccc:securityToken``);
then ``ALIBABA_CLOUD_ACCESS_KEY_ID`` + ``ALIBABA_CLOUD_ACCESS_KEY_SECRET``
(+ ``ALIBABA_CLOUD_SECURITY_TOKEN``); then the default credential chain of ``alibabacloud-credentials``
(profiles, ECS RAM role, …), resolved lazily by the client at its first call. With
``ccc:endpoint: embedded`` the emulator's demo key is used unless ``ccc:accessKeyId`` is set
(environment keys are ignored there: they belong to a real account).

Owns parsing and validating these values (errors name the key) and the process-wide registry of the
current :class:`RuntimeConfig`. Must not keep secrets on anything that is pickled: the provider object
is pickled into the Pulumi state, so ``configure()`` puts the runtime config here, in a module global,
and the client reads it per call. :class:`Credentials` and :class:`RuntimeConfig` refuse to be pickled,
so a mistake fails loudly instead of writing a secret into the state. Must not import the Alibaba SDK
or Pulumi (they are the client's and the binding's), nor start anything: the values here are plain,
and the client resolves the endpoint (``client.resolve_endpoint`` starts the embedded emulator).
"""

from __future__ import annotations

import difflib
import ipaddress
import math
import os
import re
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, NoReturn, Protocol

from .errors import ConfigurationError
from .plan import DEFAULT_BATCH_SIZE

__all__ = [
    "DEFAULT_EMBEDDED_STATE_PATH",
    "DEFAULT_REGION",
    "EMBEDDED",
    "KEYS",
    "ConfigSource",
    "Credentials",
    "Endpoint",
    "ProviderSettings",
    "RetryPolicy",
    "RuntimeConfig",
    "configure",
    "current",
    "install",
    "installed",
    "missing_credentials_error",
]

DEFAULT_REGION = "cn-shanghai"
EMBEDDED = "embedded"
DEFAULT_EMBEDDED_STATE_PATH = ".ccc-emulator/state.sqlite3"

ENV_ACCESS_KEY_ID = "ALIBABA_CLOUD_ACCESS_KEY_ID"
ENV_ACCESS_KEY_SECRET = "ALIBABA_CLOUD_ACCESS_KEY_SECRET"
ENV_SECURITY_TOKEN = "ALIBABA_CLOUD_SECURITY_TOKEN"

_NS = "ccc:"
K_REGION = "ccc:region"
K_ENDPOINT = "ccc:endpoint"
K_EMBEDDED_STATE_PATH = "ccc:embeddedStatePath"
K_ACCESS_KEY_ID = "ccc:accessKeyId"
K_ACCESS_KEY_SECRET = "ccc:accessKeySecret"
K_SECURITY_TOKEN = "ccc:securityToken"
K_BATCH_SIZE = "ccc:batchSize"
K_MAX_CONCURRENCY = "ccc:maxConcurrency"
K_REQUESTS_PER_SECOND = "ccc:requestsPerSecond"
K_RETRY_MAX_ATTEMPTS = "ccc:retryMaxAttempts"
K_RETRY_BASE_DELAY_MS = "ccc:retryBaseDelayMs"
K_RETRY_MAX_DELAY_MS = "ccc:retryMaxDelayMs"
K_RETRY_BUDGET_SECONDS = "ccc:retryBudgetSeconds"
K_CONNECT_TIMEOUT_MS = "ccc:connectTimeoutMs"
K_READ_TIMEOUT_MS = "ccc:readTimeoutMs"

#: Every key this provider reads, in the order of the table above.
KEYS: tuple[str, ...] = (
    K_REGION, K_ENDPOINT, K_EMBEDDED_STATE_PATH, K_ACCESS_KEY_ID, K_ACCESS_KEY_SECRET, K_SECURITY_TOKEN,
    K_BATCH_SIZE, K_MAX_CONCURRENCY, K_REQUESTS_PER_SECOND, K_RETRY_MAX_ATTEMPTS, K_RETRY_BASE_DELAY_MS,
    K_RETRY_MAX_DELAY_MS, K_RETRY_BUDGET_SECONDS, K_CONNECT_TIMEOUT_MS, K_READ_TIMEOUT_MS,
)
_SECRET_KEYS = frozenset({K_ACCESS_KEY_SECRET, K_SECURITY_TOKEN})

_REGION = re.compile(r"^[a-z]{2,}(-[a-z0-9]+)+$")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOST = re.compile(rf"^(?:{_LABEL}\.)*{_LABEL}$")


class ConfigSource(Protocol):
    """What ``configure()`` receives: ``pulumi.dynamic.Config`` or anything with the same ``get``."""

    def get(self, key: str) -> Any: ...


@dataclass(frozen=True)
class Endpoint:
    """Where the API is: a bare ``host[:port]`` (never with a scheme, see ccc-api.md §10) and a protocol."""

    host: str
    protocol: Literal["http", "https"] = "https"

    @property
    def url(self) -> str:
        return f"{self.protocol}://{self.host}"

    @property
    def hostname(self) -> str:
        """The host without its port."""
        return self.host.partition(":")[0]

    @property
    def is_loopback(self) -> bool:
        """True for localhost and 127.0.0.0/8 or ::1: such calls must never go through a proxy."""
        name = self.hostname
        if name.lower() == "localhost":
            return True
        try:
            return ipaddress.ip_address(name).is_loopback
        except ValueError:
            return False

    @classmethod
    def for_region(cls, region: str) -> Endpoint:
        """The public endpoint of a region, as the generated SDK resolves it (ccc-api.md §7)."""
        return cls(f"ccc.{region}.aliyuncs.com", "https")

    @classmethod
    def parse(cls, value: str, *, key: str = K_ENDPOINT) -> Endpoint:
        """``host[:port]`` → HTTPS; ``http(s)://host[:port][/]`` → that protocol; anything else: error."""
        text = value.strip()
        protocol: Literal["http", "https"] = "https"
        rest = text
        match = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*)://(.*)$", text)
        if match:
            scheme = match.group(1).lower()
            if scheme not in ("http", "https"):
                _bad_endpoint(key, value)
            protocol = "http" if scheme == "http" else "https"
            rest = match.group(2)
            if rest.endswith("/"):
                rest = rest[:-1]
        if not rest or any(c in rest for c in "/?#@ "):
            _bad_endpoint(key, value)
        host, port = _split_port(rest)
        if host is None:
            _bad_endpoint(key, value)
        if port is not None and not (port.isdigit() and 1 <= int(port) <= 65535):
            _bad_endpoint(key, value)
        bare = host if port is None else f"{host}:{port}"
        return cls(bare, protocol)


def _split_port(rest: str) -> tuple[str | None, str | None]:
    # Names and IPv4 only: CCC endpoints and the emulator never need an IPv6 literal.
    host, sep, port = rest.partition(":")
    if not _HOST.match(host):
        return None, None
    return host, (port if sep else None)


def _bad_endpoint(key: str, value: str) -> NoReturn:
    # An endpoint with user:password@ is refused, but its userinfo must not be echoed into the error.
    value = re.sub(r"^([A-Za-z][A-Za-z0-9+.-]*://)?[^/@\s]*@", r"\1***@", value)
    raise ConfigurationError(
        f"{key} must be a host name (ccc.cn-shanghai.aliyuncs.com), an http:// or https:// URL with "
        f"an optional port and no path (http://127.0.0.1:8080), or \"{EMBEDDED}\"; got {value!r}",
        key=key,
    )


@dataclass(frozen=True)
class RetryPolicy:
    """How the client retries throttling, 5xx and network errors: exponential backoff with full jitter."""

    max_attempts: int = 6
    base_delay_ms: int = 200
    max_delay_ms: int = 10_000
    budget_seconds: float = 120.0


@dataclass(frozen=True)
class ProviderSettings:
    """Everything non-secret the provider is configured with. Frozen, picklable, safe to log."""

    region: str = DEFAULT_REGION
    #: None: the region's public endpoint; ignored when ``embedded``.
    endpoint: Endpoint | None = None
    #: ``ccc:endpoint: embedded``: run the CCC emulator in the provider process.
    embedded: bool = False
    #: The embedded emulator's state file, absolute once read from config.
    embedded_state_path: str = DEFAULT_EMBEDDED_STATE_PATH
    batch_size: int = DEFAULT_BATCH_SIZE
    max_concurrency: int = 4
    requests_per_second: float = 50.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    connect_timeout_ms: int = 5_000
    read_timeout_ms: int = 30_000

    def static_endpoint(self) -> Endpoint:
        """The configured or regional endpoint; the embedded one is only known once started."""
        if self.embedded:
            raise ValueError("the embedded emulator's endpoint is known only after it starts")
        return self.endpoint or Endpoint.for_region(self.region)


_NO_PICKLE = (
    "{name} holds credentials and is never pickled: the provider object is pickled into the Pulumi "
    "state, so keep credentials in ccc_numbers.config's process registry, not on the provider"
)


@dataclass(frozen=True)
class Credentials:
    """An AccessKey pair, optionally with an STS token. Its repr shows only the key id and its source."""

    access_key_id: str
    access_key_secret: str = field(repr=False)
    security_token: str | None = field(default=None, repr=False)
    #: Where these came from, for messages: ``stack config``, ``environment``, ``emulator demo key``.
    source: str = "stack config"

    def secrets(self) -> tuple[str, ...]:
        """The values that must never appear in a message or a log line."""
        return tuple(s for s in (self.access_key_secret, self.security_token) if s)

    def __reduce_ex__(self, protocol: Any) -> NoReturn:
        raise TypeError(_NO_PICKLE.format(name="Credentials"))


@dataclass(frozen=True)
class RuntimeConfig:
    """What one provider process works with: the settings and, when known, the credentials.

    ``credentials`` None means "the default credential chain", resolved by the client at its first
    call (so a preview that makes no call needs none).
    """

    settings: ProviderSettings = field(default_factory=ProviderSettings)
    credentials: Credentials | None = None

    def __reduce_ex__(self, protocol: Any) -> NoReturn:
        raise TypeError(_NO_PICKLE.format(name="RuntimeConfig"))

    def secrets(self) -> tuple[str, ...]:
        return self.credentials.secrets() if self.credentials else ()

    @classmethod
    def from_pulumi_config(
        cls, config: ConfigSource, environ: Mapping[str, str] | None = None, *, cwd: Path | None = None
    ) -> RuntimeConfig:
        """Read and validate every ``ccc:`` key; credentials fall back to ``environ`` (or os.environ)."""
        env = os.environ if environ is None else environ
        _reject_unknown_keys(config)
        region = _region(config.get(K_REGION))
        endpoint_raw = _optional_str(config, K_ENDPOINT)
        embedded = endpoint_raw is not None and endpoint_raw.strip().lower() == EMBEDDED
        endpoint = None
        if endpoint_raw is not None and endpoint_raw.strip() and not embedded:
            endpoint = Endpoint.parse(endpoint_raw)
        state_path = _optional_str(config, K_EMBEDDED_STATE_PATH) or DEFAULT_EMBEDDED_STATE_PATH
        if not state_path.strip():
            raise ConfigurationError(f"{K_EMBEDDED_STATE_PATH} must not be empty", key=K_EMBEDDED_STATE_PATH)
        resolved_state = str((cwd or Path.cwd()) / Path(state_path).expanduser())

        base = RetryPolicy()
        retry = RetryPolicy(
            max_attempts=_int(config, K_RETRY_MAX_ATTEMPTS, base.max_attempts, 1, 20),
            base_delay_ms=_int(config, K_RETRY_BASE_DELAY_MS, base.base_delay_ms, 0, 60_000),
            max_delay_ms=_int(config, K_RETRY_MAX_DELAY_MS, base.max_delay_ms, 0, 600_000),
            budget_seconds=_number(config, K_RETRY_BUDGET_SECONDS, base.budget_seconds, 1, 3600),
        )
        if retry.max_delay_ms < retry.base_delay_ms:
            raise ConfigurationError(
                f"{K_RETRY_MAX_DELAY_MS} ({retry.max_delay_ms}) must be at least "
                f"{K_RETRY_BASE_DELAY_MS} ({retry.base_delay_ms})",
                key=K_RETRY_MAX_DELAY_MS,
            )
        defaults = ProviderSettings()
        settings = ProviderSettings(
            region=region,
            endpoint=endpoint,
            embedded=embedded,
            embedded_state_path=resolved_state,
            batch_size=_int(config, K_BATCH_SIZE, defaults.batch_size, 1, 1000),
            max_concurrency=_int(config, K_MAX_CONCURRENCY, defaults.max_concurrency, 1, 64),
            requests_per_second=_number(
                config, K_REQUESTS_PER_SECOND, defaults.requests_per_second, 0.1, 10_000
            ),
            retry=retry,
            connect_timeout_ms=_int(config, K_CONNECT_TIMEOUT_MS, defaults.connect_timeout_ms, 1, 600_000),
            read_timeout_ms=_int(config, K_READ_TIMEOUT_MS, defaults.read_timeout_ms, 1, 3_600_000),
        )
        return cls(settings, _credentials(config, env, embedded=embedded))


def _credentials(config: ConfigSource, env: Mapping[str, str], *, embedded: bool) -> Credentials | None:
    key_id = _optional_str(config, K_ACCESS_KEY_ID)
    secret = _optional_str(config, K_ACCESS_KEY_SECRET)
    token = _optional_str(config, K_SECURITY_TOKEN)
    if key_id or secret or token:
        if not key_id:
            missing = K_ACCESS_KEY_ID
            present = K_ACCESS_KEY_SECRET if secret else K_SECURITY_TOKEN
        elif not secret:
            missing, present = K_ACCESS_KEY_SECRET, K_ACCESS_KEY_ID
        else:
            return Credentials(key_id.strip(), secret.strip(), (token or "").strip() or None, "stack config")
        raise ConfigurationError(
            f"{present} is set but {missing} is not: set {K_ACCESS_KEY_ID} and {K_ACCESS_KEY_SECRET} "
            f"together (pulumi config set --secret {K_ACCESS_KEY_SECRET} …), or neither",
            key=missing,
        )
    if embedded:
        # The emulator knows only its own accounts; a real key from the environment would be refused.
        from ccc_emulator import demo  # noqa: PLC0415 - the emulator is needed only for embedded stacks

        return Credentials(demo.DEMO_ACCESS_KEY_ID, demo.DEMO_ACCESS_KEY_SECRET, None, "emulator demo key")
    env_id = (env.get(ENV_ACCESS_KEY_ID) or "").strip()
    env_secret = (env.get(ENV_ACCESS_KEY_SECRET) or "").strip()
    env_token = (env.get(ENV_SECURITY_TOKEN) or "").strip()
    if env_id and env_secret:
        return Credentials(env_id, env_secret, env_token or None, "environment")
    if env_id or env_secret:
        present, missing = ENV_ACCESS_KEY_ID, ENV_ACCESS_KEY_SECRET
        if not env_id:
            present, missing = missing, present
        raise ConfigurationError(
            f"the environment variable {present} is set but {missing} is not: set both, or neither "
            f"and use {K_ACCESS_KEY_ID} / {K_ACCESS_KEY_SECRET}"
        )
    return None


def missing_credentials_error(endpoint: Endpoint) -> ConfigurationError:
    """The one error for "no credentials anywhere", naming every way to provide them."""
    return ConfigurationError(
        f"no Alibaba Cloud credentials for the CCC endpoint {endpoint.url}: set {K_ACCESS_KEY_ID} and "
        f"{K_ACCESS_KEY_SECRET} (pulumi config set {K_ACCESS_KEY_ID} <id>; pulumi config set --secret "
        f"{K_ACCESS_KEY_SECRET} <secret>), or the environment variables {ENV_ACCESS_KEY_ID} and "
        f"{ENV_ACCESS_KEY_SECRET}, or a profile or RAM role for the Alibaba Cloud default credential chain",
        key=K_ACCESS_KEY_ID,
    )


def _reject_unknown_keys(config: ConfigSource) -> None:
    # pulumi.dynamic.Config offers only get(); its raw mapping is the one way to see a misspelt key
    # (a typo in ccc:accessKeySecret would otherwise silently fall back to other credentials). A
    # plain mapping (the stack config `ccc-numbers doctor` reads) shows its keys itself.
    raw = config if isinstance(config, Mapping) else getattr(config, "_props", None)
    if not isinstance(raw, Mapping):
        return
    for name in sorted(k for k in raw if isinstance(k, str) and k.startswith(_NS)):
        if name in KEYS:
            continue
        close = difflib.get_close_matches(name, KEYS, n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise ConfigurationError(
            f"unknown configuration key {name}{hint}; the provider reads {', '.join(KEYS)}", key=name
        )


def _optional_str(config: ConfigSource, key: str) -> str | None:
    value = config.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        shown = "" if key in _SECRET_KEYS else f", got {value!r}"
        raise ConfigurationError(f"{key} must be a string{shown}", key=key)
    return value


def _region(value: Any) -> str:
    if value is None:
        return DEFAULT_REGION
    if not isinstance(value, str) or not _REGION.match(value.strip()):
        raise ConfigurationError(
            f"{K_REGION} must be a region id such as cn-shanghai or cn-hangzhou, got {value!r}", key=K_REGION
        )
    return value.strip()


def _int(config: ConfigSource, key: str, default: int, low: int, high: int) -> int:
    value = config.get(key)
    if value is None:
        return default
    parsed: int | None = None
    if isinstance(value, bool):
        parsed = None
    elif isinstance(value, int):
        parsed = value
    elif isinstance(value, float) and value.is_integer():
        # The engine may hand numbers back as floats (pulumi-engine.md §5).
        parsed = int(value)
    elif isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d+\s*", value):
        parsed = int(value)
    if parsed is None or not low <= parsed <= high:
        raise ConfigurationError(
            f"{key} must be a whole number from {low} to {high}, got {value!r}", key=key
        )
    return parsed


def _number(config: ConfigSource, key: str, default: float, low: float, high: float) -> float:
    value = config.get(key)
    if value is None:
        return default
    parsed: float | None = None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        parsed = float(value)
    elif isinstance(value, str):
        try:
            parsed = float(value)
        except ValueError:
            parsed = None
    if parsed is None or not math.isfinite(parsed) or not low <= parsed <= high:
        raise ConfigurationError(
            f"{key} must be a number from {low:g} to {high:g}, got {value!r}", key=key
        )
    return parsed


# The process registry. One slot is enough: a provider host serves one stack, and the engine passes
# the same stack config to every provider instance it configures in that process.
_lock = threading.Lock()
_current: RuntimeConfig | None = None


def install(runtime: RuntimeConfig) -> None:
    """Make ``runtime`` the process's configuration (what ``configure()`` does)."""
    global _current  # noqa: PLW0603 - the registry is this module's purpose
    with _lock:
        _current = runtime


def current() -> RuntimeConfig:
    """The installed configuration; before any ``configure()``: the defaults and the environment."""
    with _lock:
        runtime = _current
    if runtime is None:
        runtime = RuntimeConfig.from_pulumi_config(_EmptyConfig())
    return runtime


@contextmanager
def installed(runtime: RuntimeConfig) -> Iterator[RuntimeConfig]:
    """Install ``runtime`` for the duration of a ``with`` block, then restore what was there (tests)."""
    global _current  # noqa: PLW0603 - see install()
    with _lock:
        previous = _current
        _current = runtime
    try:
        yield runtime
    finally:
        with _lock:
            _current = previous


def configure(config: ConfigSource, environ: Mapping[str, str] | None = None) -> RuntimeConfig:
    """Parse the stack config and install the result: the body of ``ResourceProvider.configure``."""
    runtime = RuntimeConfig.from_pulumi_config(config, environ)
    install(runtime)
    return runtime


class _EmptyConfig:
    def get(self, key: str) -> Any:  # noqa: ARG002 - the ConfigSource shape, with nothing in it
        return None
