"""Server-reported timing: ``Server-Timing`` (W3C Server Timing) and ``X-API-Time``."""

from __future__ import annotations

import math
from collections.abc import Mapping

__all__ = ["server_timing"]

_MAX_METRICS = 16  # a hostile header cannot make an error or event large


def server_timing(headers: Mapping[str, str]) -> dict[str, float]:
    """Durations the server reports, in milliseconds by metric name.

    Reads ``Server-Timing: db;dur=53.2, app;desc="x";dur=47`` (W3C Server
    Timing §3: metrics with a ``dur`` parameter, in milliseconds) and
    ``X-API-Time`` (seconds, as some APIs send it; stored as ``"x-api-time"``
    in milliseconds). Malformed entries are skipped; never raises.

    Returns:
        Up to 16 metrics, e.g. ``{"db": 53.2, "app": 47.0}``; empty when absent.
    """
    out: dict[str, float] = {}
    raw = headers.get("Server-Timing")
    if isinstance(raw, str):
        for metric in raw.split(",")[:_MAX_METRICS]:
            name, *params = (part.strip() for part in metric.split(";"))
            for param in params:
                key, _, value = param.partition("=")
                if key.strip().lower() == "dur" and name:
                    number = _number(value.strip().strip('"'))
                    if number is not None:
                        out[name[:64]] = number
    api_time = _number(str(headers.get("X-API-Time", "")).strip())
    if api_time is not None:
        out["x-api-time"] = api_time * 1000.0
    return out


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) and value >= 0 else None
