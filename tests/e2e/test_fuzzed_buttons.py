"""The forged and malformed buttons the fuzzer found (issue 7): each gets a clear answer, none
reaches a handler as a crash, and nothing is logged as an error."""

from __future__ import annotations

import logging

import pytest

from bot.domain.people import Role

INVALID = "That button is no longer valid."
FORGED = [
    # a well-formed id that is nobody's case: checked on the server like every press
    ("cs.o:999999999999999", "No such case among yours."),
    ("cs.o:99999999999999999999999", INVALID),  # above 64 bits: SQLite would overflow
    ("us.p:²", INVALID),  # str.isdigit() says yes, int() says no
    ("us.p:٣", INVALID),  # an Arabic-Indic digit
    ("cs.o:-1", INVALID),
    ("cs.o:1:2", INVALID),  # one field too many
    ("ap:1:maybe", INVALID),  # not one of the choices
    ("f:1:1", INVALID),  # a flow answer without its option
    ("zz:1", INVALID),  # no such prefix
]


@pytest.mark.parametrize(("data", "said"), FORGED)
async def test_a_forged_button_gets_a_clear_answer_and_no_error_is_logged(
    world, bot, data, said, caplog
):
    caplog.set_level(logging.WARNING)
    admin = await world.member(Role.ADMIN, "主任", team=None)
    await admin.send("/whoami")
    msg = await admin.expect("Role")
    await admin.press_data(msg.message_id, data)
    toast = await admin.expect_toast()
    assert (toast["text"], toast["show_alert"]) == (said, True)
    await world.settle()
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert errors == [], [r.getMessage() for r in errors]
