"""The callback-data codec: what a forged or stale button can and cannot get through."""

from __future__ import annotations

import pytest

# Importing the handlers declares every route of the bot.
import handlers  # noqa: F401  (for the registry)
from bot import callbacks
from bot.callbacks import MAX_BYTES, CallbackDataError, Choice, Int, Route, decode

PAGE = Route("tst", (Choice(("q", "t")), Int(maximum=10_000)))


def test_a_route_round_trips_its_values():
    assert PAGE.data("q", 3) == "tst:q:3"
    assert PAGE.decode("tst:q:3") == ("q", 3)


@pytest.mark.parametrize(
    "data",
    [
        "tst:q:²",  # str.isdigit() says yes; int() would raise
        "tst:q:٣",  # Arabic-Indic three
        "tst:q:-1",
        "tst:q:+1",
        "tst:q: 1",
        "tst:q:01",  # no leading zeros: one spelling per value
        "tst:q:999999999999999",  # above the route's bound
        "tst:q:99999999999999999999999",  # above 64 bits: SQLite would overflow
        "tst:x:1",  # not one of the choices
        "tst:q",  # too few parts
        "tst:q:1:2",  # too many
        "tsx:q:1",  # another prefix
        "",
    ],
)
def test_malformed_data_decodes_to_nothing(data):
    assert PAGE.decode(data) is None


def test_building_a_button_that_telegram_would_refuse_fails_loudly():
    with pytest.raises(CallbackDataError):
        PAGE.data("q", 10_001)
    with pytest.raises(CallbackDataError):
        PAGE.data("z", 1)
    with pytest.raises(CallbackDataError):
        PAGE.data(True, 1)  # bools are ints in Python, never ids
    long = Route("long", tuple(Int() for _ in range(5)))
    with pytest.raises(CallbackDataError, match="longer than 64 bytes"):
        long.data(*([2**53] * 5))


def test_a_prefix_is_declared_once():
    with pytest.raises(CallbackDataError, match="declared twice"):
        callbacks.route("f", Int())


def test_every_route_of_the_bot_fits_telegram_at_its_largest_values():
    for declared in callbacks.routes():
        biggest = []
        for field in declared.fields:
            biggest.append(field.maximum if isinstance(field, Int) else max(field.values, key=len))
        assert len(declared.data(*biggest).encode()) <= MAX_BYTES, declared.prefix
        assert decode(declared.data(*biggest)) == (declared, tuple(biggest))


def test_decode_finds_the_route_or_nothing():
    assert decode("f:12:3:4")[1] == (12, 3, 4)
    assert decode("f:12:3") is None
    assert decode("nope:1") is None
    assert decode("x" * 65) is None
    assert decode(None) is None


def test_a_slot_stands_for_an_id_the_storage_fills_in_and_is_counted_as_the_longest():
    slotted = Route("tslot", (Int(), Choice(("ok", "no"))))
    data = slotted.data(callbacks.Slot("{approval_id}"), "ok")
    assert data == "tslot:{approval_id}:ok"
    assert slotted.decode(data.replace("{approval_id}", "42")) == (42, "ok")
    with pytest.raises(CallbackDataError):
        slotted.data("ok", callbacks.Slot("{approval_id}"))  # only an id may be a slot
    long = Route("tslot2", (Int(), Int(), Int(), Choice(("x" * 10,))))
    long.data(1, 2, 3, "x" * 10)  # fits as written...
    with pytest.raises(CallbackDataError):
        long.data(callbacks.Slot("{a}"), callbacks.Slot("{b}"), callbacks.Slot("{c}"), "x" * 10)
