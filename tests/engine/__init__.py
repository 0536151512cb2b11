"""Engine-faithful test driver for Python dynamic providers; the API is documented in driver.py."""

from .driver import (
    UNKNOWN,
    ChangesNotExpectedError,
    CheckFailedError,
    EngineError,
    HostStartError,
    ProviderError,
    RpcCall,
    is_secret,
    secret,
    unwrap_secrets,
)
from .stack import OperationResult, PassRecord, ResourceState, Stack, Step

__all__ = [
    "UNKNOWN",
    "ChangesNotExpectedError",
    "CheckFailedError",
    "EngineError",
    "HostStartError",
    "OperationResult",
    "PassRecord",
    "ProviderError",
    "ResourceState",
    "RpcCall",
    "Stack",
    "Step",
    "is_secret",
    "secret",
    "unwrap_secrets",
]
