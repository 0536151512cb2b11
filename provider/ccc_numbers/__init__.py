"""Pulumi dynamic provider for Alibaba Cloud Contact Center (CCC) phone-number bindings.

The public surface: the resource and its arguments, the usage values, and the errors a program or a
test may want to catch. Everything else lives in private-by-convention modules (``models``,
``plan``, ``executor``, ``client``, ``config``) whose names may change. Importing this package must
stay cheap and offline: it never imports the Alibaba SDK (only create/update/read/delete do).
"""

from __future__ import annotations

from .binding import (
    NumberSettingsArgs,
    PhoneNumberBinding,
    PhoneNumberBindingArgs,
    PhoneNumberBindingProvider,
)
from .errors import (
    ApiError,
    ApplyError,
    BatchTooLargeError,
    CccError,
    ConfigurationError,
    InvalidInputError,
    InvalidParameterError,
    MissingReferenceError,
    NotFoundError,
    OwnershipError,
    PartialFailureError,
    SplitRefusedError,
    ThrottledError,
    TransportError,
    UnknownInstanceError,
)
from .models import Usage

__all__ = [
    "ApiError",
    "ApplyError",
    "BatchTooLargeError",
    "CccError",
    "ConfigurationError",
    "InvalidInputError",
    "InvalidParameterError",
    "MissingReferenceError",
    "NotFoundError",
    "NumberSettingsArgs",
    "OwnershipError",
    "PartialFailureError",
    "PhoneNumberBinding",
    "PhoneNumberBindingArgs",
    "PhoneNumberBindingProvider",
    "SplitRefusedError",
    "ThrottledError",
    "TransportError",
    "UnknownInstanceError",
    "Usage",
]
