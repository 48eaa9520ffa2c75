"""mysdk's testing kit: record, scrub, replay and scan HTTP exchanges.

For SDK authors and their CI (``pip install 'mysdk[testing]'``: vcrpy,
responses, pytest). Nothing here is imported by ``import mysdk``, and importing
this package loads neither vcrpy nor responses; they are imported when used.

* :func:`make_vcr` and :class:`Recorder`: vcrpy cassettes with every secret
  scrubbed both ways (headers, query, form/JSON/NDJSON bodies, BOM bodies,
  echoes) by a :class:`Scrubber`, on a canonical origin so pagination links and
  redirects replay from any port; replays block the network
  (:func:`block_network`).
* :func:`scan_text`, :func:`find_secrets`, :func:`scan_paths`, and
  ``python -m mysdk.testing scan cassettes/``: fail on secret-shaped values.
* :class:`FakeTokenEndpoint`: an OAuth2 token endpoint on ``responses``.
* :mod:`mysdk.testing.factories`: typed responses, errors and models.
* :mod:`mysdk.testing.plugin`: the pytest plugin (``recorded_client``,
  ``fake_token_endpoint``, ``--record``).

Guide: ``docs/testing.md``.
"""

from mysdk.testing._names import (
    DEFAULT_CANONICAL_ORIGIN,
    DEFAULT_SECRET_NAMES,
    FILTERED,
    OAUTH_FIELDS,
    SECRET_FIELDS,
    SECRET_HEADERS,
    SecretNames,
    credential_headers,
    is_placeholder,
)
from mysdk.testing._recorder import Recorder
from mysdk.testing._scrub import Scrubber, scrub_response_body
from mysdk.testing._vcr import NetworkBlockedError, block_network, make_vcr
from mysdk.testing.factories import (
    make_model,
    make_response,
    make_status_error,
)
from mysdk.testing.fake_oauth import FakeTokenEndpoint, TokenRequest
from mysdk.testing.scan import Finding, find_secrets, scan_paths, scan_text

__all__ = [
    "DEFAULT_CANONICAL_ORIGIN",
    "DEFAULT_SECRET_NAMES",
    "FILTERED",
    "OAUTH_FIELDS",
    "SECRET_FIELDS",
    "SECRET_HEADERS",
    "FakeTokenEndpoint",
    "Finding",
    "NetworkBlockedError",
    "Recorder",
    "Scrubber",
    "SecretNames",
    "TokenRequest",
    "block_network",
    "credential_headers",
    "find_secrets",
    "is_placeholder",
    "make_model",
    "make_response",
    "make_status_error",
    "make_vcr",
    "scan_paths",
    "scan_text",
    "scrub_response_body",
]
