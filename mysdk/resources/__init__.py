"""Declared resources: path templates, typed operations, nesting; no particular API."""

from mysdk.resources.base import Resource, ResourceField, resource
from mysdk.resources.operations import (
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
    "Operation",
    "OperationOptions",
    "RawResponse",
    "Resource",
    "ResourceField",
    "delete",
    "get",
    "operation",
    "patch",
    "post",
    "put",
    "resource",
]
