"""Issue 16, what a new user found in /prep: ``/cancel`` dropped every answer without offering
to keep the draft; the colleague's informal chat first had no "not needed" answer."""

from __future__ import annotations

import pytest

from bot.domain.people import Role
from tests.e2e.seed import case_id, ledger, row

#: The words the collector sees, per language: (first question, ⏩, ⏭, the pre-chat question,
#: its "not needed" button, the strategy it is labelled with, the ★ approach button, money).
WORDS = {
    "en": (
        "Can they repay?",
        "⏩ Rest of this part later",
        "⏭ Later",
        "Should a colleague chat informally",
        "Not needed",
        "strategy 4: attack as defence",
        "★",
        "How much will you ask for on the spot",
    ),
    "zh_Hans": (
        "对方有还款能力吗？",
        "⏩ 本部分其余的以后再说",
        "⏭ 以后再说",
        "要不要先换一位同事",
        "不需要",
        "策略4 以攻为守",
        "★",
        "当场",
    ),
    "zh_Hant": (
        "對方有還款能力嗎？",
        "⏩ 本部分其餘的以後再說",
        "⏭ 以後再說",
        "要不要先換一位同事",
        "不需要",
        "策略4 以攻為守",
        "★",
        "當場",
    ),
}


async def _collector_with_case(world, lang: str = "en"):
    zhang = await world.member(Role.COLLECTOR, "张伟", lang=lang)
    await ledger(world, "东城", [row(2, "HT1", "张三", dpd=40, overdue_yuan=9_000,
                                      collector="张伟")])  # fmt: skip
    return zhang


async def _stored_prep(world, zhang):
    admin = world.members[(await world.member(Role.ADMIN, "主任", team=None)).id]
    case_file = await world.storage.get_case(admin, await case_id(world, "HT1"))
    return case_file.latest_prep


async def _answer_three_then_cancel(zhang):
    await zhang.send("/prep HT1")
    await zhang.expect("Can they repay?")
    await zhang.press("can repay part")
    await zhang.expect("How is their business doing?")
    await zhang.press("business declining")
    await zhang.expect("What kind of counterpart")
    await zhang.press("⏩ Rest of this part later")
    await zhang.expect("Our bottom line")
    await zhang.send("6000")
    await zhang.expect("Our target")
    await zhang.send("/cancel")
    offer = await zhang.expect("Stopped: Meeting preparation")
    return offer


async def test_cancel_during_prep_offers_to_keep_the_answers_and_the_next_prep_resumes(world, bot):
    zhang = await _collector_with_case(world)
    offer = await _answer_three_then_cancel(zhang)
    assert "3 answers" in offer.text
    labels = [label for r in offer.buttons for label, _ in r]
    assert labels == ["💾 Keep draft", "🗑 Discard"]
    # Nothing answers the stopped interview now: typed text is not taken as the target.
    assert await world.storage.open_flow(world.members[zhang.id].id) is None

    await zhang.press("💾 Keep draft")
    kept = await zhang.expect("Draft kept")
    assert "张三" in kept.text
    assert "HT1" in kept.text
    assert kept.buttons == []

    # The next /prep of the case says so and goes on at the question where it stopped.
    await zhang.send("/prep HT1")
    back = await zhang.expect("Your kept draft")
    assert "3 answers are back" in back.text
    assert "question 10 of" in back.text
    await zhang.expect("Our target")
    state = await world.storage.open_flow(world.members[zhang.id].id)
    assert state.step == "target"
    assert (state.data["capacity"], state.data["business"], state.data["bottom"]) == (
        "partial", "declining", 600_000,
    )  # fmt: skip
    assert "kept_until" not in state.data
    # Kept once: finishing it (or stopping it again without keeping) leaves nothing to resume.
    await zhang.send("/cancel")
    await zhang.expect("Stopped: Meeting preparation")
    await zhang.send("/prep HT1")
    first = await zhang.expect("Can they repay?")
    assert "1/" in first.text


async def test_discard_drops_the_answers_and_the_next_prep_starts_afresh(world, bot):
    zhang = await _collector_with_case(world)
    await _answer_three_then_cancel(zhang)
    await zhang.press("🗑 Discard")
    await zhang.expect("Draft discarded")
    await zhang.send("/prep HT1")
    first = await zhang.expect("Can they repay?")
    assert "1/" in first.text
    assert "kept draft" not in "\n".join(m.text for m in await zhang.messages())
    state = await world.storage.open_flow(world.members[zhang.id].id)
    assert "bottom" not in state.data
    assert "capacity" not in state.data


async def test_cancel_before_any_answer_just_stops(world, bot):
    zhang = await _collector_with_case(world)
    await zhang.send("/prep HT1")
    await zhang.expect("Can they repay?")
    await zhang.send("/cancel")
    stopped = await zhang.expect("Stopped: Meeting preparation. Nothing was saved.")
    assert stopped.buttons == []


async def test_the_cancel_button_offers_to_keep_the_answers_too(world, bot):
    zhang = await _collector_with_case(world)
    await zhang.send("/prep HT1")
    await zhang.expect("Can they repay?")
    await zhang.press("can repay in full")
    await zhang.expect("How is their business doing?")
    await zhang.press("✖ Cancel")
    offer = await zhang.expect("Stopped: Meeting preparation")
    assert "1 answer." in offer.text
    await zhang.press("💾 Keep draft")
    await zhang.expect("Draft kept")
    await zhang.send("/prep HT1")
    await zhang.expect("Your kept draft")
    await zhang.expect("How is their business doing?")


@pytest.mark.parametrize("lang", ["en", "zh_Hans", "zh_Hant"])
async def test_the_informal_chat_first_is_strategy_4_and_may_be_not_needed(world, bot, lang):
    """The pre-chat question is labelled 策略4 (not 策略7) and answered "not needed" with a tap;
    the brief then names no colleague."""
    first, rest_later, later, question, not_needed, strategy, star, money = WORDS[lang]
    zhang = await _collector_with_case(world, lang)
    await zhang.send("/prep HT1")
    await zhang.expect(first)
    await zhang.press(rest_later)  # know them
    await zhang.expect("9/22")  # our lines
    await zhang.press(rest_later)
    await zhang.expect("13/22")  # this meeting
    await zhang.press(rest_later)
    await zhang.expect("18/22")  # the approach
    await zhang.press(star)  # the one the type calls for
    await zhang.expect("19/22")  # open questions
    await zhang.press(later)
    asked = await zhang.expect(question)
    assert strategy in asked.text
    assert "策略7" not in asked.text
    assert "strategy 7" not in asked.text
    await zhang.press(not_needed)
    await zhang.expect(money)
    await zhang.press(later)
    brief = await zhang.expect("💵")
    assert "👥" not in brief.text
    assert not_needed not in brief.text
    prep = await _stored_prep(world, zhang)
    assert prep.answers.pre_chat_by == "not_needed"


# -- the brief shows what the collector prepared (issue 16) ------------------------------------

#: Per language: the Q&A typed, the weak point's and the social relations' words, and what the
#: brief must then show for each (cut with "…" when long, one line each).
PREPARED = {
    "en": ("What if I can't pay? / Then your guarantor will.", "reputation", "Uncle Wang"),
    "zh_Hans": ("还不上怎么办？/ 那就由担保人代偿。", "名声", "王叔是他老领导"),
    "zh_Hant": ("還不上怎麼辦？/ 那就由擔保人代償。", "名聲", "王叔是他老領導"),
}


@pytest.mark.parametrize("lang", ["en", "zh_Hans", "zh_Hant"])
async def test_the_brief_shows_the_expected_questions_weak_points_and_relations(world, bot, lang):
    """/brief of a prep with every item filled: the expected question with our answer (策略2),
    the no-precedent line (策略8), the weak points, the social relations — each on one line,
    the whole on one phone screen."""
    from bot.domain.prep import (
        Approach,
        Character,
        Concession,
        Figures,
        MeetingKind,
        PrepAnswers,
        UrgencyFromPrep,
        Venue,
        WeakPoint,
    )

    qa, weak_word, relations = PREPARED[lang]
    zhang = await _collector_with_case(world, lang)
    question, answer = (part.strip() for part in qa.split("/"))
    answers = PrepAnswers(
        character=Character.NOVICE_WEAK,
        approach=Approach.PRESSURE,
        weak_points=frozenset({WeakPoint.REPUTATION}),
        weak_points_text=None,
        social_relations=f"{relations} {'x' * 60}",
        figures=Figures(bottom=600_000, target=800_000, opening=900_000),
        needs_approval=frozenset({Concession.FEE_WAIVER}),
        kind=MeetingKind.RESULT,
        venue=Venue.OFFICE,
        qa=((question, answer), ("Q2?", ""), ("Q3?", "A3")),
        pre_chat_by="李娜",
        money_today=200_000,
    )
    user = world.members[zhang.id]
    await world.storage.add_prep(user, await case_id(world, "HT1"), answers, approach_reason=None,
                                 urgency=UrgencyFromPrep(), now=world.clock.now())  # fmt: skip
    await zhang.send("/brief HT1")
    brief = await zhang.expect("💵")
    lines = brief.text.splitlines()

    def line_with(mark: str) -> str:
        (found,) = [line for line in lines if mark in line]
        return found

    (first,) = [line for line in lines if line.startswith(f"💬 {question[:5]}")]
    assert f" → {answer[:3]}" in first  # both cut to share the line, each with "…"
    assert "💬 Q2?" in lines
    assert "💬 Q3? → A3" in lines
    assert weak_word in line_with("🔑")
    assert relations[:2] in line_with("🤝")
    assert line_with("🤝").endswith("…")  # long words cut, the line kept to one
    precedent = {"en": "precedent", "zh_Hans": "先例", "zh_Hant": "先例"}[lang]
    assert sum(precedent in line for line in lines) == 1  # 策略8's line, once
    assert "李娜" in brief.text
    assert len(lines) <= 25
