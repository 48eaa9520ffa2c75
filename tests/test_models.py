"""mysdk.models: typed, forward-compatible models built from JSON."""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import json
import os
import pickle
import subprocess
import sys
import textwrap
import typing
from pathlib import Path
from typing import Any, Literal, NewType, Optional, TypeVar, Union

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mysdk.errors import DecodeError, InvalidRequestError
from mysdk.models import Model, dump, model, parse

ROOT = Path(__file__).resolve().parent.parent

UserId = NewType("UserId", int)


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


class Status(enum.Enum):
    ACTIVE = "active"
    UNKNOWN = "unknown"

    @classmethod
    def _missing_(cls, value: object) -> Status:
        return cls.UNKNOWN


class Owner(Model):
    id: int
    name: str


class Car(Model):
    id: int
    make: str
    color: str | None = None


class Garage(Model):
    name: str
    owner: Owner
    cars: list[Car]
    labels: dict[str, Owner] = dataclasses.field(default_factory=dict)
    rating: float = 0.0
    kind: Literal["public", "private"] = "public"
    paint: Color | str = Color.RED
    status: Status = Status.ACTIVE
    level: Level | None = None
    extra: Any = None
    keeper: UserId | None = None
    created_at: str = dataclasses.field(default="", metadata={"json": "createdAt"})


class Tree(Model):
    value: int
    children: list[Tree] = dataclasses.field(default_factory=list)


def garage_json(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "Main", "owner": {"id": 1, "name": "Ann"},
        "cars": [{"id": 1, "make": "VW"}, {"id": 2, "make": "Fiat", "color": "red"}],
    }
    data.update(changes)
    return data


# -- type rules (parse) -------------------------------------------------------------


@pytest.mark.parametrize(("tp", "data", "expected"), [
    (int, 3, 3), (int, -(10**30), -(10**30)),
    (float, 1.5, 1.5), (float, 2, 2.0),
    (str, "x", "x"), (bool, False, False), (None, None, None), (type(None), None, None),
    (int | None, None, None), (int | None, 4, 4), (Optional[str], "s", "s"),  # noqa: UP045
    (Union[int, str], "s", "s"),  # noqa: UP007
    (list[int], [1, 2], [1, 2]), (list, [1, "a"], [1, "a"]), (list[Any], [None], [None]),
    (dict[str, int], {"a": 1}, {"a": 1}), (dict, {"a": [1]}, {"a": [1]}),
    (Literal["a", "b"], "b", "b"), (Literal[1, None], None, None),
    (Color, "blue", Color.BLUE), (Level, 2, Level.HIGH),
    (Color | str, "green", "green"), (Color | str, "red", Color.RED),
    (str | Color, "red", Color.RED),  # the enum is tried before the catch-all str
    (int | float, 2, 2), (float | int, 2, 2), (float | int, 2.5, 2.5),
    (Any, {"x": [1]}, {"x": [1]}), (object, 7, 7),
    (UserId, 5, 5), (list[Car], [{"id": 1, "make": "VW"}], [Car(id=1, make="VW")]),
    (dict[str, list[int]], {"k": []}, {"k": []}),
])
def test_type_rules_accept(tp: Any, data: Any, expected: Any) -> None:
    result = parse(tp, data)
    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize(("tp", "data", "message"), [
    (int, True, "expected int, got bool"), (int, 1.0, "expected int, got float"),
    (int, "1", "expected int, got str"), (int, None, "expected int, got null"),
    (float, True, "expected float, got bool"), (float, "1.5", "expected float, got str"),
    (str, 1, "expected str, got int"), (bool, 0, "expected bool, got int"),
    (None, 0, "expected null, got int"), (int | None, "1", "expected int or null, got str"),
    (list[int], (1,), "expected list, got tuple"), (list[int], {"a": 1}, "expected list, got dict"),
    (list[int], [1, "2"], r"\[1\]: expected int, got str"),
    (dict[str, int], {"a": "1"}, r"\['a'\]: expected int, got str"),
    (dict[str, int], [], "expected dict, got list"),
    (dict[str, int], {1: 1}, "expected a string key, got int"),
    (Literal["a", "b"], "c", r"expected one of \['a', 'b'\], got 'c'"),
    (Literal[1], True, r"expected one of \[1\], got True"),
    (Color, "green", r"'green' is not a Color \(one of 'red', 'blue'\)"),
    (Color, ["red"], r"\['red'\] is not a Color"),
    (Level, "2", "'2' is not a Level"),
    (list[Car], [{"id": 1}], r"\[0\]\.make: missing required field"),
    (Car, [], "expected dict, got list"),
])
def test_type_rules_reject_with_a_path(tp: Any, data: Any, message: str) -> None:
    with pytest.raises(DecodeError, match=message):
        parse(tp, data)


def test_unknown_enum_value_message_says_how_to_be_forward_compatible() -> None:
    with pytest.raises(DecodeError, match=r"Color \| str"):
        parse(Color, "green")


def test_enum_missing_hook_maps_new_values() -> None:
    assert parse(Status, "archived") is Status.UNKNOWN
    assert Garage.from_json(garage_json(status="new")).status is Status.UNKNOWN


def test_unsupported_types_are_invalid_requests_not_decode_errors() -> None:
    for tp in (set[int], tuple[int, ...], bytes, TypeVar("T"), dict[int, str], 3):
        with pytest.raises(InvalidRequestError, match="cannot decode"):
            parse(tp, [])


# -- models -----------------------------------------------------------------------


def test_from_json_builds_nested_models() -> None:
    garage = Garage.from_json(garage_json(
        labels={"boss": {"id": 2, "name": "Bo"}}, rating=4, kind="private", paint="blue",
        level=1, extra={"free": ["form"]}, keeper=9, createdAt="2024-01-01",
    ))
    assert garage == Garage(
        name="Main", owner=Owner(id=1, name="Ann"),
        cars=[Car(id=1, make="VW"), Car(id=2, make="Fiat", color="red")],
        labels={"boss": Owner(id=2, name="Bo")}, rating=4.0, kind="private", paint=Color.BLUE,
        level=Level.LOW, extra={"free": ["form"]}, keeper=UserId(9), created_at="2024-01-01",
    )
    assert type(garage.rating) is float


def test_defaults_fill_missing_fields_and_unknown_fields_are_ignored() -> None:
    garage = Garage.from_json(garage_json(brand_new_field={"x": 1}))
    assert garage.labels == {}
    assert garage.paint is Color.RED
    assert garage.created_at == ""
    assert not hasattr(garage, "brand_new_field")
    assert "brand_new_field" not in garage.to_json()


def test_new_enum_value_is_kept_as_text_when_annotated_with_str() -> None:
    garage = Garage.from_json(garage_json(paint="chartreuse"))
    assert garage.paint == "chartreuse"
    assert garage.to_json()["paint"] == "chartreuse"


@pytest.mark.parametrize(("data", "message"), [
    ({"owner": {"id": 1, "name": "A"}, "cars": []}, r"cannot read Garage: name: missing"),
    (garage_json(owner={"id": "1", "name": "A"}), r"owner\.id: expected int, got str"),
    (garage_json(cars=[{"id": 1, "make": "VW"}] * 3 + [{"id": 4, "make": None}]),
     r"cars\[3\]\.make: expected str, got null"),
    (garage_json(labels={"a b": {"id": 1}}), r"labels\['a b'\]\.name: missing required field"),
    (garage_json(kind="shared"), r"kind: expected one of \['public', 'private'\]"),
    (garage_json(paint=3), r"paint: expected Color or str, got int"),
    (garage_json(createdAt=5), r"createdAt: expected str, got int"),
    (garage_json(level=3), r"level: expected Level or null, got int"),
    ([garage_json()], r"cannot read Garage: expected dict, got list"),
])
def test_decode_errors_name_the_path(data: Any, message: str) -> None:
    with pytest.raises(DecodeError, match=message):
        Garage.from_json(data)


def test_parse_list_of_models_names_the_index() -> None:
    with pytest.raises(DecodeError, match=r"cannot read list\[Car\]: \[1\]\.id: expected int"):
        parse(list[Car], [{"id": 1, "make": "a"}, {"id": "2", "make": "b"}])


def test_union_of_models_reports_the_error_inside_the_closest_match() -> None:
    with pytest.raises(DecodeError, match=r"\['owner'\]\.name: missing required field"):
        parse(dict[str, Owner | None], {"owner": {"id": 1}})


def test_to_json_round_trips() -> None:
    data = garage_json(labels={"boss": {"id": 2, "name": "Bo"}}, rating=1.5, paint="blue",
                       level=2, extra=[1, {"a": None}], createdAt="t")
    garage = Garage.from_json(data)
    dumped = garage.to_json()
    assert json.loads(json.dumps(dumped)) == dumped
    assert dumped["createdAt"] == "t"
    assert dumped["paint"] == "blue"
    assert dumped["level"] == 2
    assert dumped["cars"][0] == {"id": 1, "make": "VW", "color": None}
    assert Garage.from_json(dumped) == garage


def test_models_are_frozen_keyword_only_values() -> None:
    car = Car(id=1, make="VW")
    with pytest.raises(dataclasses.FrozenInstanceError):
        car.id = 2  # type: ignore[misc]
    with pytest.raises(TypeError):
        Car(1, "VW")  # type: ignore[misc]
    assert car == Car.from_json({"id": 1, "make": "VW"})
    assert hash(car) == hash(Car(id=1, make="VW"))
    assert repr(car) == "Car(id=1, make='VW', color=None)"
    assert dataclasses.replace(car, color="red").color == "red"
    assert pickle.loads(pickle.dumps(car)) == car  # noqa: S301 - our own data
    assert [f.name for f in dataclasses.fields(Car)] == ["id", "make", "color"]


def test_subclass_adds_fields() -> None:
    class SportsCar(Car):
        top_speed: int

    fast = SportsCar.from_json({"id": 1, "make": "Alfa", "top_speed": 250})
    assert (fast.make, fast.top_speed) == ("Alfa", 250)
    with pytest.raises(DecodeError, match="SportsCar: top_speed: missing"):
        SportsCar.from_json({"id": 1, "make": "Alfa"})


def test_post_init_validation_becomes_a_decode_error() -> None:
    class Year(Model):
        value: int

        def __post_init__(self) -> None:
            if not 1886 <= self.value <= 2100:
                raise ValueError("year out of range")

    assert Year.from_json({"value": 1990}).value == 1990
    with pytest.raises(DecodeError, match="Year: ValueError: year out of range") as info:
        Year.from_json({"value": 1500})
    assert isinstance(info.value.__cause__, ValueError)


def test_recursive_model_and_deep_nesting() -> None:
    tree = Tree.from_json({"value": 1, "children": [{"value": 2}, {"value": 3, "children": []}]})
    assert [c.value for c in tree.children] == [2, 3]
    with pytest.raises(DecodeError, match=r"children\[0\]\.children\[0\]\.value: expected int"):
        Tree.from_json({"value": 1, "children": [{"value": 2, "children": [{"value": "x"}]}]})
    deep: dict[str, Any] = {"value": 0}
    for _ in range(5000):
        deep = {"value": 0, "children": [deep]}
    with pytest.raises(DecodeError, match="nested too deeply"):
        Tree.from_json(deep)


def test_type_hints_are_resolved_once_per_class(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Any] = []
    real = typing.get_type_hints

    def counting(obj: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(obj)
        return real(obj, *args, **kwargs)

    monkeypatch.setattr(typing, "get_type_hints", counting)

    class Fresh(Model):
        a: int

    assert calls == []  # nothing resolved at class creation
    Fresh.from_json({"a": 1})
    Fresh.from_json({"a": 2})
    parse(list[Fresh], [{"a": 3}])
    assert calls == [Fresh]


def test_unsupported_field_type_fails_on_first_use_even_without_the_field() -> None:
    class Odd(Model):
        a: int
        tags: set[str] = dataclasses.field(default_factory=set)

    with pytest.raises(InvalidRequestError, match=r"Odd\.tags: cannot decode set\[str\]"):
        Odd.from_json({"a": 1})


def test_unresolvable_annotation_is_an_invalid_request() -> None:
    class Local(Model):
        a: int

    class UsesLocal(Model):
        inner: Local  # a string annotation naming a function-local class

    with pytest.raises(InvalidRequestError, match="UsesLocal: cannot resolve"):
        UsesLocal.from_json({"inner": {"a": 1}})


def test_model_base_is_not_decodable_itself() -> None:
    with pytest.raises(InvalidRequestError):
        Model.from_json({})


@model
class Point:
    x: int
    y: int = 0


class Shape(Model):
    corners: list[Point]


def test_model_decorator_makes_a_slotted_frozen_model() -> None:
    point = parse(Point, {"x": 1})
    assert point == Point(x=1, y=0)
    assert not hasattr(point, "__dict__")
    with pytest.raises(dataclasses.FrozenInstanceError):
        point.x = 2  # type: ignore[misc]
    assert Point.from_json({"x": 2, "y": 3}) == Point(x=2, y=3)  # type: ignore[attr-defined]
    assert Point(x=4).to_json() == {"x": 4, "y": 0}  # type: ignore[attr-defined]
    assert dump(Shape(corners=[point])) == {"corners": [{"x": 1, "y": 0}]}
    with pytest.raises(DecodeError, match=r"cannot read Shape: corners\[0\]\.x: expected int"):
        Shape.from_json({"corners": [{"x": "1"}]})
    assert model(Car) is Car


def test_plain_dataclasses_decode_too() -> None:
    @dataclasses.dataclass
    class Plain:
        a: int
        b: list[str] = dataclasses.field(default_factory=list)

    assert parse(Plain, {"a": 1, "b": ["x"]}) == Plain(a=1, b=["x"])
    assert dump(Plain(a=2)) == {"a": 2, "b": []}


# -- properties -------------------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner,
                                                                max_size=4),
    max_leaves=25,
)


def near(keys: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    """Objects with the model's keys (each maybe missing) holding arbitrary JSON."""
    return st.fixed_dictionaries({}, optional=dict.fromkeys(keys, JSON))


GARAGE_KEYS = ["name", "owner", "cars", "labels", "rating", "kind", "paint", "status",
               "level", "extra", "keeper", "createdAt"]


@given(data=JSON | near(GARAGE_KEYS) | near(["id", "make", "color"]) | near(["value", "children"]))
def test_any_json_into_a_model_builds_it_or_raises_decode_error(data: Any) -> None:
    for target in (Garage, Car, Tree, list[Car], dict[str, Tree | None], Color | str):
        with contextlib.suppress(DecodeError):
            parse(target, data)
    with contextlib.suppress(DecodeError):
        Garage.from_json(data)


@given(st.builds(Car, id=st.integers(), make=st.text(), color=st.none() | st.text()))
def test_car_round_trips_through_json(car: Car) -> None:
    assert Car.from_json(json.loads(json.dumps(car.to_json()))) == car


# -- static typing for users of the base ------------------------------------------

USER_SDK = '''
from __future__ import annotations

import enum

from mysdk.models import Model, dump, model, parse


class Kind(enum.Enum):
    SUV = "suv"


class Car(Model):
    id: int
    make: str
    color: str | None = None
    kind: Kind | str = Kind.SUV


def load(data: object) -> Car:
    return Car.from_json(data)


def load_many(data: object) -> list[Car]:
    return parse(list[Car], data)


car = Car(id=1, make="VW")
as_json: dict[str, object] = car.to_json()
ident: int = load({"id": 1, "make": "VW"}).id
'''

USER_MISTAKES = '''
from mysdk.models import Model


class Car(Model):
    id: int
    make: str


Car(id="1", make="VW")
Car(1, "VW")
Car(id=1, make="VW").id = 2
'''


def test_user_models_type_check_under_mypy_strict(tmp_path: Path) -> None:
    good = tmp_path / "user_sdk.py"
    good.write_text(textwrap.dedent(USER_SDK))
    bad = tmp_path / "user_mistakes.py"
    bad.write_text(textwrap.dedent(USER_MISTAKES))
    command = [sys.executable, "-m", "mypy", "--strict", "--no-incremental",
               "--python-version", "3.10", "--config-file", str(tmp_path / "none.ini")]
    (tmp_path / "none.ini").write_text("[mypy]\n")
    env = {**os.environ, "MYPYPATH": str(ROOT)}
    ok = subprocess.run([*command, str(good)], cwd=tmp_path, capture_output=True, text=True,
                        timeout=300, check=False, env=env)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    mistakes = subprocess.run([*command, str(bad)], cwd=tmp_path, capture_output=True,
                              text=True, timeout=300, check=False, env=env)
    out = mistakes.stdout
    assert 'Argument "id" to "Car" has incompatible type "str"; expected "int"' in out, out
    assert "Too many positional arguments" in out, out
    assert "read-only" in out or "frozen" in out, out
