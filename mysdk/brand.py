"""An SDK's own name, version, logger and root exception, on mysdk's one tree.

``class AcmeError(mysdk.MySDKError)`` becomes the root of every error an
``AcmeClient`` raises, without a parallel class tree: the error mysdk raises
(say :class:`~mysdk.errors.NotFoundError`) is given a class that derives from
both, so ``except AcmeError`` and ``except mysdk.NotFoundError`` both catch it.
"""

from __future__ import annotations

import re
import threading

from mysdk._version import __version__
from mysdk.errors import MySDKError

__all__ = ["Brand", "branded_class"]

_PRODUCT = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # RFC 9110 §10.1.5 product token
_GUARD = threading.Lock()
_CLASSES: dict[tuple[type[MySDKError], type[MySDKError]], type[MySDKError]] = {}


class Brand:
    """Who an SDK built on mysdk is.

    Args:
        name: Product token for the ``User-Agent`` (RFC 9110 §10.1.5), e.g.
            ``"acme-sdk"``.
        version: Its version, e.g. ``"1.2.0"``.
        error: The SDK's root exception, a subclass of
            :class:`~mysdk.errors.MySDKError` defining no ``__init__``; every
            error the SDK's client raises is also an instance of it.
        logger: Name of the logger events go to; default ``name`` with ``-``
            replaced by ``_``.

    Raises:
        ValueError: ``name`` or ``version`` is not a product token, or
            ``error`` is not a MySDKError subclass.
    """

    __slots__ = ("error", "logger", "name", "user_agent", "version")

    def __init__(self, name: str, version: str, *, error: type[MySDKError] = MySDKError,
                 logger: str | None = None) -> None:
        for label, value in (("name", name), ("version", version)):
            if not isinstance(value, str) or not _PRODUCT.fullmatch(value):
                raise ValueError(f"Brand.{label} must be a product token like 'acme-sdk' or "
                                 f"'1.2.0', got {value!r}")
        if not (isinstance(error, type) and issubclass(error, MySDKError)):
            raise ValueError(f"Brand.error must be a subclass of mysdk.MySDKError, got {error!r}")
        if error.__init__ is not MySDKError.__init__:
            raise ValueError("Brand.error must not define __init__: it is combined with "
                             "every mysdk error class, whose constructors differ")
        self.name = name
        self.version = version
        self.error = error
        self.logger = logger or name.replace("-", "_")
        self.user_agent = f"{name}/{version} mysdk/{__version__}"

    def __repr__(self) -> str:
        return f"Brand({self.name!r}, {self.version!r}, error={self.error.__name__})"


MYSDK = Brand("mysdk", __version__, logger="mysdk")
"""mysdk's own brand: errors are plain mysdk errors, events go to ``mysdk``."""


def branded_class(base: type[MySDKError], root: type[MySDKError]) -> type[MySDKError]:
    """The class deriving from ``base`` and the SDK's ``root`` (made once, then reused)."""
    if issubclass(base, root):
        return base
    key = (base, root)
    cls = _CLASSES.get(key)
    if cls is None:
        with _GUARD:
            cls = _CLASSES.get(key)
            if cls is None:
                # Named like ``base`` so a traceback shows the error it is; being
                # an SDK error is the trait this class adds.
                cls = type(base.__name__, (base, root), {
                    "__module__": base.__module__,
                    "__qualname__": base.__qualname__,
                    "__doc__": base.__doc__,
                    "_mysdk_brand": (base, root),
                })
                _CLASSES[key] = cls
    return cls


def brand_error(error: MySDKError, root: type[MySDKError]) -> MySDKError:
    """Make ``error`` (in place) an instance of ``root`` as well; returns it."""
    if not isinstance(error, root):
        error.__class__ = branded_class(type(error), root)
    return error
