"""Typed, forward-compatible models built from JSON, on the standard ``dataclasses``.

Declare a model by subclassing :class:`Model`; each subclass becomes a frozen,
keyword-only dataclass with :meth:`~Model.from_json` and :meth:`~Model.to_json`::

    class Owner(mysdk.Model):
        id: int
        name: str

    class Car(mysdk.Model):
        id: int
        make: str
        color: str | None = None                 # may be missing from the JSON
        kind: Kind | str = Kind.SEDAN            # an unknown kind is kept as text
        owner: Owner | None = None
        tags: list[str] = field(default_factory=list)
        created_at: str = field(default="", metadata={"json": "createdAt"})

    car = Car.from_json({"id": 1, "make": "VW", "unknown": "ignored"})
    cars = mysdk.models.parse(list[Car], data)

Each value is checked against the field's annotation (resolved with
:func:`typing.get_type_hints` once per class, on first use, so forward
references work) and converted where JSON has no type of its own (enums,
nested models, ``float`` from an integer). Supported annotations:

=====================  ==========================================================
``int``                an integer, not a bool
``float``              a number (an integer is converted to float), not a bool
``str``, ``bool``      exactly that JSON type
``None``               ``null``
``X | Y``, ``Optional``  the first member that fits, trying specific types
                       (None, bool, int, Literal, Enum, model, list, dict)
                       before ``float``, ``str`` and ``Any``
``list[X]``, ``list``  a JSON array, items checked
``dict[str, X]``       a JSON object, values checked
a model or dataclass   a JSON object; missing required fields are errors,
                       unknown fields are ignored (and not kept)
``Literal[...]``       one of the values, of the same type (``1`` is not ``True``)
an ``Enum``            a member's value; see forward compatibility below
``NewType``            as its supertype
``Any``, ``object``    anything, kept as decoded
=====================  ==========================================================

Forward compatibility: unknown fields are ignored (declare a field, or an
``Any`` field, to keep one). A value that is not a member of an enum is an
error for an annotation of the enum alone, since the value would not be what
the annotation promises. Two ways accept new values: annotate ``MyEnum | str``
(an unknown value is kept as the raw string), or give the enum a ``_missing_``
classmethod returning a fallback member such as ``UNKNOWN`` (the standard
:class:`enum.Enum` hook; it also receives values of another JSON type).

Errors: data that does not fit raises :class:`~mysdk.errors.DecodeError` whose
message names the path, ``cannot read Garage: cars[3].owner.id: expected int,
got str``, and nothing else (never a raw ``KeyError``, ``TypeError`` or
``RecursionError``; a ``__post_init__`` that raises becomes a DecodeError
chained to it). A model whose annotations cannot be resolved, or that uses a
type outside the table, raises :class:`~mysdk.errors.InvalidRequestError` on
its first use, whatever the data.

Import cost: this module imports :mod:`dataclasses` (which imports ``inspect``
and ``ast``, about 5-10 ms), so ``import mysdk`` does not import it; it is
loaded with the first model.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import types
import typing
import weakref
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal, TypeVar, Union, overload

from mysdk.errors import DecodeError, InvalidRequestError

if TYPE_CHECKING:
    from typing_extensions import dataclass_transform
else:
    try:
        from typing import dataclass_transform
    except ImportError:  # Python 3.10: only a marker for type checkers

        def dataclass_transform(**_: Any) -> Any:
            return lambda obj: obj


__all__ = ["JSON_NAME", "Model", "dump", "model", "parse"]

T = TypeVar("T")
M = TypeVar("M", bound="Model")

JSON_NAME = "json"
"""Key of ``dataclasses.field(metadata=...)`` naming a field's JSON key when it
differs from the attribute name: ``field(metadata={"json": "createdAt"})``."""

Decoder = Callable[[Any], Any]
_MISSING: Any = object()
_NONE_TYPE = type(None)
_UNIONS: tuple[Any, ...] = (Union, types.UnionType)
_MAX_CACHED = 1024


class _Invalid(Exception):
    """Internal: a value does not fit; ``path`` collects segments, innermost first."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem
        self.path: list[str] = []

    def where(self) -> str:
        return "".join(reversed(self.path)).lstrip(".")


class _Field(typing.NamedTuple):
    attr: str
    key: str
    decode: Decoder
    required: bool


_PLANS: weakref.WeakKeyDictionary[type, tuple[_Field, ...]] = weakref.WeakKeyDictionary()
_KEYS: weakref.WeakKeyDictionary[type, tuple[tuple[str, str], ...]] = (
    weakref.WeakKeyDictionary())
_DECODERS: dict[Any, Decoder] = {}


# -- the public surface -------------------------------------------------------------


@dataclass_transform(kw_only_default=True, frozen_default=True,
                     field_specifiers=(dataclasses.field, dataclasses.Field))
class Model:
    """Base of typed models: every subclass is a frozen, keyword-only dataclass.

    Subclasses get ``__init__`` (keyword arguments only), ``__repr__``,
    ``__eq__``, ``__hash__``, immutability (``dataclasses.replace`` makes a
    changed copy), pickling, and :meth:`from_json`/:meth:`to_json`. A subclass
    of a model adds fields to it. Type checkers see the fields through
    ``dataclass_transform`` (PEP 681), so ``Car.from_json(data)`` is a ``Car``.
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        dataclasses.dataclass(frozen=True, kw_only=True)(cls)

    @classmethod
    def from_json(cls: type[M], data: Any) -> M:
        """Build the model from decoded JSON (a ``dict``), checking every field.

        Args:
            data: The JSON object; unknown keys are ignored.

        Returns:
            The model.

        Raises:
            DecodeError: ``data`` is not an object, a required field is missing,
                or a value does not fit its annotation (the message names the
                path, e.g. ``owner.id: expected int, got str``).
            InvalidRequestError: The class cannot be decoded (an unresolvable or
                unsupported annotation, or ``Model`` itself).
        """
        if cls is Model:
            raise InvalidRequestError("Model.from_json: subclass Model to declare a model")
        value: M = parse(cls, data)
        return value

    def to_json(self) -> dict[str, Any]:
        """The model as a JSON-ready dict: nested models and lists converted,
        enums as their values, every field under its JSON name (see :data:`JSON_NAME`)."""
        value: dict[str, Any] = dump(self)
        return value


@dataclass_transform(kw_only_default=True, frozen_default=True,
                     field_specifiers=(dataclasses.field, dataclasses.Field))
def model(cls: type[T]) -> type[T]:
    """Class decorator: a frozen, keyword-only, slotted dataclass with
    ``from_json``/``to_json`` (the same rules as :class:`Model`).

    Type checkers see the dataclass but not the added methods: with the
    decorator, decode with ``parse(Car, data)`` and encode with ``dump(car)``,
    or subclass :class:`Model` to call ``Car.from_json`` in typed code.

    Args:
        cls: The class to turn into a model; methods of its own named
            ``from_json``/``to_json`` are kept.

    Returns:
        A new class (``__slots__`` need one), or ``cls`` itself when it already
        subclasses :class:`Model`.

    Raises:
        TypeError: What :func:`dataclasses.dataclass` raises for a bad
            declaration (a required field after a defaulted one is fine).
    """
    if isinstance(cls, type) and issubclass(cls, Model):
        return cls
    made = dataclasses.dataclass(frozen=True, kw_only=True, slots=True)(cls)
    if "from_json" not in made.__dict__:
        made.from_json = classmethod(_from_json)  # type: ignore[attr-defined]
    if "to_json" not in made.__dict__:
        made.to_json = dump  # type: ignore[attr-defined]
    return made


def _from_json(cls: type[T], data: Any) -> T:
    return parse(cls, data)


@overload
def parse(tp: type[T], data: Any) -> T: ...
@overload
def parse(tp: Any, data: Any) -> Any: ...


def parse(tp: Any, data: Any) -> Any:
    """Build a value of type ``tp`` from decoded JSON, e.g. ``parse(list[Car], data)``.

    Args:
        tp: A model or dataclass, or any annotation of the table in the module
            docstring (``list[Car]``, ``dict[str, int]``, ``Car | None``...).
        data: Decoded JSON.

    Returns:
        The value, checked and converted.

    Raises:
        DecodeError: ``data`` does not fit ``tp``; the message names the path.
        InvalidRequestError: ``tp`` is not a supported annotation.
    """
    decode = _decoder(tp)
    try:
        return decode(data)
    except _Invalid as exc:
        where = exc.where()
        text = f"{where}: {exc.problem}" if where else exc.problem
        raise DecodeError(f"cannot read {_name(tp)}: {text}") from exc.__cause__
    except RecursionError:
        raise DecodeError(f"cannot read {_name(tp)}: the JSON is nested too deeply") from None


def dump(value: Any) -> Any:
    """Encode ``value`` as JSON-ready data (the inverse of :func:`parse`).

    Args:
        value: A model, dataclass, enum, list, tuple, dict or JSON scalar.

    Returns:
        Models and dataclasses as dicts under their fields' JSON names, enums as
        their values, lists, tuples and dicts converted item by item; anything
        else unchanged (so a ``datetime`` in an ``Any`` field stays one).
    """
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (list, tuple)):
        return [dump(item) for item in value]
    if isinstance(value, dict):
        return {key: dump(item) for key, item in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {key: dump(getattr(value, attr)) for attr, key in _keys(type(value))}
    return value


# -- compiling annotations into decoders --------------------------------------------


def _decoder(tp: Any) -> Decoder:
    try:
        cached = _DECODERS.get(tp)
    except TypeError:  # an unhashable "type": not cached, and _compile refuses it
        cached = None
    if cached is None:
        cached = _compile(tp, "", set())
        if len(_DECODERS) >= _MAX_CACHED:
            _DECODERS.clear()
        with contextlib.suppress(TypeError):
            _DECODERS[tp] = cached
    return cached


def _compile(tp: Any, owner: str, visiting: set[type]) -> Decoder:
    """A decoder for annotation ``tp``; ``owner`` prefixes errors (``"Car.tags: "``)."""
    try:
        simple = _SIMPLE.get(tp)
    except TypeError:  # unhashable: not a type at all
        raise InvalidRequestError(f"{owner}cannot decode {_short(tp)}: not a type") from None
    if simple is not None:
        return simple
    supertype = getattr(tp, "__supertype__", None)  # typing.NewType
    if supertype is not None:
        return _compile(supertype, owner, visiting)
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is typing.Annotated:
        return _compile(args[0], owner, visiting)
    if origin in _UNIONS:
        return _union(tp, args, owner, visiting)
    if origin is Literal:
        return _literal(args)
    if origin is list and len(args) == 1:
        return _list(_compile(args[0], owner, visiting))
    if origin is dict and len(args) == 2:
        if args[0] is not str and args[0] is not Any:
            raise InvalidRequestError(f"{owner}cannot decode {_name(tp)}: JSON object keys "
                                      "are strings (use dict[str, ...])")
        return _dict(_compile(args[1], owner, visiting))
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return _enum(tp)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp) and tp is not Model:
        if tp not in visiting:
            _plan(tp, visiting)
        return _model(tp)
    raise InvalidRequestError(f"{owner}cannot decode {_name(tp)}: unsupported type (see "
                              "mysdk.models for the supported annotations)")


def _plan(cls: type, visiting: set[type] | None = None) -> tuple[_Field, ...]:
    """The fields of a model with their decoders, resolved once per class."""
    plan = _PLANS.get(cls)
    if plan is not None:
        return plan
    visiting = set() if visiting is None else visiting
    visiting.add(cls)
    try:
        hints = typing.get_type_hints(cls)
    except Exception as exc:  # NameError, TypeError... from user annotations
        raise InvalidRequestError(
            f"{cls.__name__}: cannot resolve the annotations ({type(exc).__name__}: {exc}); "
            "define the names they use at module level") from None
    fields = []
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        key = f.metadata.get(JSON_NAME, f.name)
        if not isinstance(key, str):
            raise InvalidRequestError(f"{cls.__name__}.{f.name}: metadata {JSON_NAME!r} must "
                                      f"be a string, got {key!r}")
        decode = _compile(hints.get(f.name, Any), f"{cls.__name__}.{f.name}: ", visiting)
        required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        fields.append(_Field(f.name, key, decode, required))
    plan = tuple(fields)
    _PLANS[cls] = plan
    return plan


def _keys(cls: type) -> tuple[tuple[str, str], ...]:
    """(attribute, JSON key) of every field of a dataclass, cached per class."""
    keys = _KEYS.get(cls)
    if keys is None:
        keys = tuple((f.name, f.metadata.get(JSON_NAME, f.name)) for f in dataclasses.fields(cls))
        _KEYS[cls] = keys
    return keys


# -- decoders -----------------------------------------------------------------------


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _any(value: Any) -> Any:
    return value


def _int(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise _Invalid(f"expected int, got {_kind(value)}")


def _float(value: Any) -> Any:
    if isinstance(value, float):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            return float(value)
        except OverflowError:
            raise _Invalid("integer too large for float") from None
    raise _Invalid(f"expected float, got {_kind(value)}")


def _str(value: Any) -> Any:
    if isinstance(value, str):
        return value
    raise _Invalid(f"expected str, got {_kind(value)}")


def _bool(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    raise _Invalid(f"expected bool, got {_kind(value)}")


def _null(value: Any) -> Any:
    if value is None:
        return None
    raise _Invalid(f"expected null, got {_kind(value)}")


def _list_any(value: Any) -> Any:
    if isinstance(value, list):
        return list(value)
    raise _Invalid(f"expected list, got {_kind(value)}")


def _list(item: Decoder) -> Decoder:
    if item is _any:
        return _list_any

    def decode(value: Any) -> Any:
        if not isinstance(value, list):
            raise _Invalid(f"expected list, got {_kind(value)}")
        out = []
        for index, element in enumerate(value):
            try:
                out.append(item(element))
            except _Invalid as exc:
                exc.path.append(f"[{index}]")
                raise
        return out

    return decode


def _dict(item: Decoder) -> Decoder:
    def decode(value: Any) -> Any:
        if not isinstance(value, Mapping):
            raise _Invalid(f"expected dict, got {_kind(value)}")
        out = {}
        for key, element in value.items():
            if not isinstance(key, str):
                raise _Invalid(f"expected a string key, got {_kind(key)}")
            try:
                out[key] = item(element)
            except _Invalid as exc:
                exc.path.append(f"[{key!r}]")
                raise
        return out

    return decode


_SIMPLE: dict[Any, Decoder] = {
    int: _int, float: _float, str: _str, bool: _bool, None: _null, _NONE_TYPE: _null,
    Any: _any, object: _any, list: _list_any, dict: _dict(_any),
}


def _literal(values: tuple[Any, ...]) -> Decoder:
    allowed = [(type(v), v) for v in values]

    def decode(value: Any) -> Any:
        for kind, literal in allowed:
            if type(value) is kind and value == literal:
                return value
        raise _Invalid(f"expected one of {list(values)!r}, got {_short(value)}")

    return decode


def _enum(cls: type[enum.Enum]) -> Decoder:
    value_types = {type(member.value) for member in cls}
    shown = ", ".join(repr(member.value) for member in list(cls)[:10])
    if len(cls) > 10:
        shown += ", ..."

    def decode(value: Any) -> Any:
        if type(value) in value_types:
            try:
                return cls(value)  # consults _missing_ too
            except Exception:  # noqa: S110 - ValueError, or whatever _missing_ raised
                pass
        else:
            try:
                member = cls._missing_(value)
            except Exception:
                member = None
            if isinstance(member, cls):
                return member
        raise _Invalid(f"{_short(value)} is not a {cls.__name__} (one of {shown}); annotate "
                       f"`{cls.__name__} | str` to keep unknown values")

    return decode


def _rank(tp: Any) -> int:
    """Order of union members: specific types first, catch-alls last."""
    if tp is _NONE_TYPE or tp is None:
        return 0
    if tp is bool:
        return 1
    if tp is int:
        return 2
    if tp is float:
        return 8
    if tp is str:
        return 9
    if tp is Any or tp is object:
        return 10
    return 5


def _union(tp: Any, args: tuple[Any, ...], owner: str, visiting: set[type]) -> Decoder:
    members = [_compile(arg, owner, visiting) for arg in sorted(args, key=_rank)]
    expected = " or ".join("null" if a is _NONE_TYPE else _name(a) for a in args)

    def decode(value: Any) -> Any:
        closest: _Invalid | None = None
        for member in members:
            try:
                return member(value)
            except _Invalid as exc:
                if closest is None and exc.path:
                    closest = exc  # it failed inside a structure: the best explanation
        if closest is not None:
            raise closest
        raise _Invalid(f"expected {expected}, got {_kind(value)}")

    return decode


def _model(cls: type) -> Decoder:
    def decode(value: Any) -> Any:
        if not isinstance(value, Mapping):
            raise _Invalid(f"expected dict, got {_kind(value)}")
        plan = _PLANS.get(cls) or _plan(cls)
        kwargs = {}
        for attr, key, field_decode, required in plan:
            raw = value.get(key, _MISSING)
            if raw is _MISSING:
                if required:
                    exc = _Invalid("missing required field")
                    exc.path.append(f".{key}")
                    raise exc
                continue
            try:
                kwargs[attr] = field_decode(raw)
            except _Invalid as exc:
                exc.path.append(f".{key}")
                raise
        try:
            return cls(**kwargs)
        except Exception as exc:  # __post_init__ validation, or a custom __init__
            raise _Invalid(f"{type(exc).__name__}: {exc}") from exc

    return decode


def _name(tp: Any) -> str:
    """A short name for messages: ``list[Car]``, ``Color | str``, ``None``."""
    if tp is None or tp is _NONE_TYPE:
        return "None"
    if tp is Any:
        return "Any"
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in _UNIONS:
        return " | ".join(_name(a) for a in args)
    if origin is Literal:
        return f"Literal[{', '.join(repr(a) for a in args)}]"
    if origin is not None and args:
        inner = ", ".join("..." if a is Ellipsis else _name(a) for a in args)
        return f"{getattr(origin, '__name__', repr(origin))}[{inner}]"
    if isinstance(tp, type):
        return tp.__name__
    return repr(tp)
