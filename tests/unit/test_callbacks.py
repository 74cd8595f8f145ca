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


#: Every route of the bot as messages already in chats carry it: prefix -> each field's bound
#: (an id) or its values (a choice). Moving a declaration is fine; changing one of these is not.
STORED_BUTTONS = {
    "ac": (2**53,),
    "ap": (2**53, ("ok", "no", "ct")),
    "cm": (2**53,),
    "cn": (2**53,),
    "cq": (2**53,),
    "nt": (2**53,),
    "cs.l": (("q", "t"), 100_000),
    "cs.o": (2**53,),
    "cs.u": (2**53,),
    "cs.f": (2**53,),
    "cx": (2**53,),
    # Issue 19 added the legal lists (lg30, lg90, lglost): old buttons decode as before.
    "dg": (
        ("broken", "stalled", "untouch", "unprep", "coll", "lg30", "lg90", "lglost"),
        2**53,
        2**53,
    ),
    "dg.t": (2**53,),
    "f": (2**53, 2**53, 2**53),
    "fc": (2**53, ("keep", "new")),
    "fx": (2**53, 2**53),
    "gk": (2**53,),
    "hf": (2**53, ("import", "discard")),
    "lang": (("en", "zh_Hans", "zh_Hant"),),
    "oc": (2**53,),
    "pd": (2**53, ("keep", "drop")),
    "pp": (2**53,),
    "ri": (2**53, ("paid", "partial", "missed")),
    "us.a": (2**53,),
    "us.off": (2**53,),
    "us.on": (2**53,),
    "us.p": (100_000,),
    "us.s": (2**53,),
}


def test_the_buttons_already_in_chats_still_decode_to_the_same_values():
    declared = {
        r.prefix: tuple(f.maximum if isinstance(f, Int) else f.values for f in r.fields)
        for r in callbacks.routes()
    }
    assert declared == STORED_BUTTONS
