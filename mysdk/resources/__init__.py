"""Typed resources of the API, each a thin layer over :meth:`mysdk.Client.request`."""

from mysdk.resources.base import Resource
from mysdk.resources.cars import Car, CarsResource

__all__ = ["Car", "CarsResource", "Resource"]
