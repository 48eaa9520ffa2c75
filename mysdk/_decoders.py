"""Incremental decoders of a streamed body: bytes → lines → NDJSON values or SSE events.

Pure: no I/O, no clock, no threads. A decoder is fed each chunk of the body as it
arrives (:meth:`~LineDecoder.feed`) and told when the body ended
(:meth:`~LineDecoder.close`); each call returns an iterator of what became
complete. The sync :class:`mysdk.streaming.StreamResponse` and the async
:class:`mysdk.streaming.AsyncStreamResponse` run these same decoders, so both
split, decode and parse a body identically whatever its chunking.

The iterators are lazy so that a bad line raises only after every value before
it was delivered; the data of a chunk is taken in by ``feed`` itself, so values
left unread in one iterator come out of the next one, in order.

Rules (sources: WHATWG HTML §9.2.5-9.2.6 "Server-sent events"; RFC 8259 §8.1):

* A line ends at CRLF, LF or a lone CR; the break is not part of the line. A
  CRLF split across two chunks is one break (the line is delivered at the CR,
  the LF that follows is dropped).
* One UTF-8 byte order mark at the very start of the body is dropped (also when
  it arrives split over chunks); a later one is kept.
* Each line must be UTF-8 (strict: :class:`~mysdk.errors.DecodeError`, where the
  SSE spec would substitute U+FFFD; a corrupt stream is reported, not patched).
* A line may hold at most :data:`MAX_LINE` bytes (16 MiB). The bound holds while
  the line is still arriving, so a server sending an endless line costs at most
  that much memory before :class:`~mysdk.errors.DecodeError`.
* A last line without a break is delivered at the end of the body (lines and
  NDJSON); an SSE event not closed by a blank line is dropped, as the spec says.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any, NamedTuple, Protocol, TypeVar

from mysdk import errors

__all__ = ["MAX_LINE", "Decoder", "LineDecoder", "NDJSONDecoder", "SSEDecoder",
           "ServerSentEvent"]

T_co = TypeVar("T_co", covariant=True)

MAX_LINE = 16 * 1024 * 1024
"""Most bytes in one streamed line (without its break); a longer one is a DecodeError."""

_BOM = b"\xef\xbb\xbf"
_BREAK = re.compile(rb"[\r\n]")
_CR, _LF = 0x0D, 0x0A
# A retry value is kept when it has at most this many digits (> 30 million years
# in milliseconds); int() of a longer one is slow, and past 4300 digits raises.
_MAX_RETRY_DIGITS = 18


class ServerSentEvent(NamedTuple):
    """One event of a ``text/event-stream`` (WHATWG HTML §9.2 "Server-sent events").

    Attributes:
        event: The event type (``"message"`` when the stream named none).
        data: The data lines joined with ``"\\n"``.
        id: The last event id seen, or ``""``.
        retry: The reconnection time the server asked for, milliseconds, or None.
    """

    event: str
    data: str
    id: str
    retry: int | None

    def json(self) -> Any:
        """``data`` decoded as JSON.

        Raises:
            DecodeError: ``data`` is not JSON.
        """
        try:
            return json.loads(self.data)
        except (ValueError, RecursionError) as exc:
            raise errors.DecodeError(f"event data is not JSON: {type(exc).__name__}") from None


# Public as mysdk.streaming.ServerSentEvent (its home before the decoders moved
# here): pickles and reprs name that path, which stays importable.
ServerSentEvent.__module__ = "mysdk.streaming"


class Decoder(Protocol[T_co]):
    """What the stream classes drive: chunks in, complete values out."""

    def feed(self, data: bytes) -> Iterator[T_co]:
        """Take in the next chunk; iterate the values it completed."""
        ...

    def close(self) -> Iterator[T_co]:
        """The body ended; iterate the values still pending."""
        ...


class LineDecoder:
    """Bytes → lines (``str``, without their break); see the module's rules.

    Linear in the body's size however it is chunked (a line dripped one byte at
    a time is scanned once).

    Raises (from the iterators):
        DecodeError: A line is not UTF-8 or is longer than ``max_line`` bytes.
    """

    def __init__(self, max_line: int = MAX_LINE) -> None:
        self.max_line = max_line
        self._buffer = bytearray()
        self._start = 0  # where the pending line begins in _buffer
        self._scan = 0  # _buffer[_start:_scan] holds no line break
        self._skip_lf = False  # the last break was a CR at the end of a chunk
        self._at_start = True  # the byte order mark is not settled yet

    def feed(self, data: bytes) -> Iterator[str]:
        """Take in ``data`` now; iterate the lines it completed."""
        self._buffer += data
        return self._lines(final=False)

    def close(self) -> Iterator[str]:
        """Iterate the lines still pending, then the last one if it had no break."""
        return self._lines(final=True)

    def _lines(self, *, final: bool) -> Iterator[str]:
        # State lives on self, re-read after every yield: an iterator left
        # unfinished is simply continued by the next one.
        buf = self._buffer
        if self._at_start:
            if not final and len(buf) < len(_BOM) and _BOM.startswith(buf):
                return  # maybe the start of a byte order mark: wait for more
            if buf.startswith(_BOM):
                self._start = self._scan = len(_BOM)
            self._at_start = False
        while True:
            if self._skip_lf and self._start < len(buf):
                if buf[self._start] == _LF:
                    self._start += 1
                    self._scan = max(self._scan, self._start)
                self._skip_lf = False
            found = _BREAK.search(buf, self._scan)
            if found is None:
                break
            end = found.start()
            after = end + 1
            if buf[end] == _CR:
                if after == len(buf):
                    self._skip_lf = True  # a LF may open the next chunk
                elif buf[after] == _LF:
                    after += 1
            line = self._decode(self._start, end)
            self._start = self._scan = after
            yield line
        self._scan = len(buf)
        if self._start:
            del buf[:self._start]
            self._scan -= self._start
            self._start = 0
        if len(buf) > self.max_line:
            raise self._too_long()
        if final and buf:
            line = self._decode(0, len(buf))
            buf.clear()
            self._scan = 0
            yield line

    def _too_long(self) -> errors.DecodeError:
        size = (f"{self.max_line >> 20} MiB" if self.max_line % (1 << 20) == 0
                else f"{self.max_line} bytes")
        return errors.DecodeError(f"a streamed line is longer than {size}")

    def _decode(self, start: int, end: int) -> str:
        if end - start > self.max_line:
            raise self._too_long()
        try:
            return self._buffer[start:end].decode("utf-8")
        except UnicodeDecodeError:
            raise errors.DecodeError("a streamed line is not UTF-8") from None


class NDJSONDecoder:
    """Bytes → one JSON value per non-blank line (NDJSON / JSON Lines).

    A line is blank when ``str.strip()`` leaves nothing; lines are numbered from
    1, blank ones included.

    Raises (from the iterators):
        DecodeError: A line is not JSON (the message gives its number), or as
            :class:`LineDecoder`.
    """

    def __init__(self, max_line: int = MAX_LINE) -> None:
        self._lines = LineDecoder(max_line)
        self._number = 0

    def feed(self, data: bytes) -> Iterator[Any]:
        """Take in ``data`` now; iterate the values it completed."""
        return self._values(self._lines.feed(data))

    def close(self) -> Iterator[Any]:
        """Iterate the values still pending (a last line without a break)."""
        return self._values(self._lines.close())

    def _values(self, lines: Iterator[str]) -> Iterator[Any]:
        for line in lines:
            self._number += 1
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except (ValueError, RecursionError) as exc:
                raise errors.DecodeError(
                    f"line {self._number} of the stream is not JSON: "
                    f"{type(exc).__name__}") from None
            yield value


class SSEDecoder:
    """Bytes → :class:`ServerSentEvent`, parsed as WHATWG HTML §9.2.6 says.

    Comment lines (``:``) are skipped; a field line is split at its first
    colon, one space after it dropped (a line without a colon is a field with an
    empty value); ``data`` values are joined with ``"\\n"``; an event is
    dispatched at a blank line, and one without any ``data`` field is dropped;
    ``event`` names the next event only; ``id`` (without NUL) and ``retry``
    (ASCII digits only, at most 18 of them) last until changed; other fields
    are ignored; an event not closed by a blank line when the body ends is
    dropped.

    Raises (from the iterators):
        DecodeError: As :class:`LineDecoder`.
    """

    def __init__(self, max_line: int = MAX_LINE) -> None:
        self._lines = LineDecoder(max_line)
        self._event = ""
        self._data: list[str] = []
        self._last_id = ""
        self._retry: int | None = None

    def feed(self, data: bytes) -> Iterator[ServerSentEvent]:
        """Take in ``data`` now; iterate the events it completed."""
        return self._events(self._lines.feed(data))

    def close(self) -> Iterator[ServerSentEvent]:
        """The body ended: a pending event is dropped; nothing more is dispatched."""
        return self._events(self._lines.close())

    def line(self, line: str) -> ServerSentEvent | None:
        """Interpret one line (without its break); the event it dispatches, if any."""
        if not line:
            event, self._event = self._event, ""
            data, self._data = self._data, []
            if not data:
                return None
            return ServerSentEvent(event or "message", "\n".join(data), self._last_id,
                                   self._retry)
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        elif name == "id":
            if "\0" not in value:
                self._last_id = value
        elif (name == "retry" and value.isascii() and value.isdigit()
              and len(value) <= _MAX_RETRY_DIGITS):
            self._retry = int(value)
        return None

    def _events(self, lines: Iterator[str]) -> Iterator[ServerSentEvent]:
        for line in lines:
            event = self.line(line)
            if event is not None:
                yield event
