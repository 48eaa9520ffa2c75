"""Declared resources: path templates, typed operations, nesting; no particular API."""

from mysdk.resources.base import Async, Mode, Resource, ResourceField, Sync, resource
from mysdk.resources.operations import (
    AsyncBoundOperation,
    BoundOperation,
    Operation,
    OperationOptions,
    RawResponse,
    delete,
    get,
    operation,
    patch,
    post,
    put,
)

__all__ = [
    "Async",
    "AsyncBoundOperation",
    "BoundOperation",
    "Mode",
    "Operation",
    "OperationOptions",
    "RawResponse",
    "Resource",
    "ResourceField",
    "Sync",
    "delete",
    "get",
    "operation",
    "patch",
    "post",
    "put",
    "resource",
]
