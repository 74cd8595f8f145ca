"""/prep rules, as a collector would state them (策略1–12 of the source document)."""

from __future__ import annotations

import json

import pytest

from bot.domain.cases import Attitude
from bot.domain.prep import (
    FIGURE_ORDER,
    NO_PRE_CHAT,
    Approach,
    Business,
    Capacity,
    Character,
    Concession,
    FigureField,
    FigureProblem,
    Figures,
    FileQuality,
    LegalQuestion,
    MeetingKind,
    MeetingStep,
    OpenQuestion,
    PrepAnswers,
    Suggestion,
    TalkingPoint,
    UrgencyFromPrep,
    Venue,
    Warning,
    WeakPoint,
    approach_for,
    build_brief,
    check_figure,
    check_figures,
    figure_suggestions,
    known_facts,
    meeting_warnings,
    money_today_required,
    open_questions,
    talking_points,
    urgency_inputs,
)
from bot.domain.unknowns import Unknown
from bot.domain.urgency import Deterioration

YUAN = 100
OWED = 20_000 * YUAN  # the borrower owes ¥20,000 in all
BOTTOM, TARGET, OPENING = FigureField.BOTTOM, FigureField.TARGET, FigureField.OPENING


def y(amount: int) -> int:
    return amount * YUAN


# --- 策略10 取上求中: opening ask ≥ target ≥ bottom line > 0, none above the debt ---


def test_figures_in_order_are_accepted_one_by_one() -> None:
    assert check_figure(Figures(), BOTTOM, y(6000), OWED) is None
    assert check_figure(Figures(bottom=y(6000)), TARGET, y(8000), OWED) is None
    assert check_figure(Figures(y(6000), y(8000)), OPENING, y(12000), OWED) is None
    assert check_figures(Figures(y(6000), y(8000), y(12000)), OWED) == []


def test_equal_figures_are_allowed_no_room_to_concede_is_not_wrong() -> None:
    assert check_figures(Figures(y(8000), y(8000), y(8000)), OWED) == []
    assert check_figure(Figures(bottom=y(8000)), TARGET, y(8000), OWED) is None
    assert check_figure(Figures(y(8000), y(8000)), OPENING, y(8000), OWED) is None


@pytest.mark.parametrize("which", list(FigureField))
def test_zero_and_negative_figures_are_refused(which: FigureField) -> None:
    assert check_figure(Figures(), which, 0, OWED) == FigureProblem(
        which, "figure.not_positive", {}
    )
    assert check_figure(Figures(), which, -1, OWED) is not None


def test_an_opening_ask_below_the_target_is_refused_and_only_it_is_asked_again() -> None:
    """The issue's case: 5000 / 8000 / 6000 as opening / target / bottom line."""
    typed = Figures(bottom=y(6000), target=y(8000), opening=y(5000))
    assert check_figures(typed, OWED) == [
        FigureProblem(OPENING, "figure.opening_below_target", {"target": y(8000)})
    ]
    corrected = typed.with_value(OPENING, y(9000))
    assert (corrected.bottom, corrected.target) == (y(6000), y(8000))  # the other two stand
    assert check_figures(corrected, OWED) == []


def test_a_target_below_the_bottom_line_is_refused() -> None:
    assert check_figure(Figures(bottom=y(6000)), TARGET, y(5000), OWED) == FigureProblem(
        TARGET, "figure.target_below_bottom", {"bottom": y(6000)}
    )


def test_an_opening_ask_below_the_bottom_line_is_refused_when_no_target_is_set() -> None:
    assert check_figure(Figures(bottom=y(6000)), OPENING, y(5000), OWED) == FigureProblem(
        OPENING, "figure.opening_below_bottom", {"bottom": y(6000)}
    )


def test_correcting_an_earlier_figure_is_checked_against_the_later_ones() -> None:
    decided = Figures(y(6000), y(8000), y(10000))
    assert check_figure(decided, BOTTOM, y(9000), OWED) == FigureProblem(
        BOTTOM, "figure.bottom_above_target", {"target": y(8000)}
    )
    assert check_figure(decided, TARGET, y(11000), OWED) == FigureProblem(
        TARGET, "figure.target_above_opening", {"opening": y(10000)}
    )
    assert check_figure(Figures(opening=y(10000)), BOTTOM, y(11000), OWED) == FigureProblem(
        BOTTOM, "figure.bottom_above_opening", {"opening": y(10000)}
    )
    # its own old value does not count: a target may be raised above the old one
    assert check_figure(decided, TARGET, y(9000), OWED) is None


def test_an_opening_ask_above_the_debt_is_refused_the_debt_itself_is_fine() -> None:
    assert check_figure(Figures(), OPENING, OWED + 1, OWED) == FigureProblem(
        OPENING, "figure.opening_above_debt", {"debt": OWED}
    )
    assert check_figure(Figures(), OPENING, OWED, OWED) is None


@pytest.mark.parametrize("which", [BOTTOM, TARGET])
def test_a_target_or_bottom_line_above_the_debt_says_so(which: FigureField) -> None:
    problem = check_figure(Figures(), which, OWED + YUAN, OWED)
    assert problem == FigureProblem(which, f"figure.{which.value}_above_debt", {"debt": OWED})


def test_nothing_owed_leaves_no_room_for_any_figure() -> None:
    assert check_figure(Figures(), BOTTOM, 1, 0) is not None


def test_all_problems_at_once_blame_the_later_figure_once_each() -> None:
    problems = check_figures(Figures(bottom=0, target=OWED * 2, opening=y(100)), OWED)
    assert [(p.field, p.code) for p in problems] == [
        (BOTTOM, "figure.not_positive"),
        (TARGET, "figure.target_above_debt"),
    ]  # the refused two are not held against the opening ask
    problems = check_figures(Figures(bottom=y(9000), target=y(8000), opening=y(7000)), OWED)
    assert [(p.field, p.code) for p in problems] == [
        (TARGET, "figure.target_below_bottom"),
        (OPENING, "figure.opening_below_bottom"),
    ]
    assert check_figures(Figures(), OWED) == []
    assert FIGURE_ORDER == (BOTTOM, TARGET, OPENING)


# --- Suggestions: tap-able amounts consistent with what is decided ---


def suggest(which: FigureField, figures: Figures | None = None) -> list[Suggestion]:
    return figure_suggestions(
        which,
        total_overdue=y(12_000) + 67,
        overdue_principal=y(10_000),
        figures=figures or Figures(),
    )


def test_suggestions_open_with_everything_overdue_aim_at_principal_hold_half() -> None:
    assert suggest(OPENING)[0] == Suggestion("full_overdue", y(12_000))  # rounded down
    assert suggest(TARGET)[0] == Suggestion("overdue_principal", y(10_000))
    assert suggest(BOTTOM)[0] == Suggestion("half_overdue", y(6_000))


@pytest.mark.parametrize("which", list(FigureField))
def test_two_or_three_whole_yuan_positive_distinct_suggestions(which: FigureField) -> None:
    amounts = [s.amount for s in suggest(which)]
    assert 2 <= len(amounts) <= 3
    assert len(set(amounts)) == len(amounts)
    assert all(a > 0 and a % YUAN == 0 for a in amounts)


def test_suggestions_respect_the_figures_already_decided() -> None:
    figures = Figures(bottom=y(7_000), target=y(11_000))
    opening = suggest(OPENING, figures)
    assert all(s.amount >= y(11_000) for s in opening)
    assert len(opening) >= 2  # the target itself is offered: equal figures are allowed
    assert Suggestion("same_as_target", y(11_000)) in opening
    assert all(y(7_000) <= s.amount for s in suggest(TARGET, Figures(bottom=y(7_000))))
    assert all(s.amount <= y(5_000) for s in suggest(BOTTOM, Figures(opening=y(5_000))))
    for which in FigureField:
        others = figures.with_value(which, None)
        for s in figure_suggestions(
            which, total_overdue=y(12_000), overdue_principal=y(10_000), figures=others
        ):
            assert check_figure(others, which, s.amount, y(12_000)) is None


def test_no_interest_overdue_gives_one_button_for_full_and_principal() -> None:
    codes = [
        s.code
        for s in figure_suggestions(
            OPENING, total_overdue=y(8_000), overdue_principal=y(8_000), figures=Figures()
        )
    ]
    assert codes == ["full_overdue", "half_overdue"]


def test_nothing_overdue_suggests_nothing() -> None:
    assert figure_suggestions(BOTTOM, total_overdue=0, overdue_principal=0, figures=Figures()) == []


# --- 策略7 攻心为上 (一户一策): the approach per type, with its talking points ---


@pytest.mark.parametrize(
    ("character", "approach"),
    [
        (Character.NOVICE_WEAK, Approach.PRESSURE),
        (Character.SOFT_HISTORY, Approach.SYMPATHY),
        (Character.VAIN, Approach.FLATTERY),
        (Character.RESOLUTE, Approach.FIRM_BOTTOM_LINE),
        (Character.OTHER, Approach.READ_FIRST),
        (None, Approach.READ_FIRST),
    ],
)
def test_each_type_of_counterpart_gets_its_approach(
    character: Character | None, approach: Approach
) -> None:
    assert approach_for(character) is approach


@pytest.mark.parametrize("approach", list(Approach))
def test_each_approach_has_three_points_or_more_and_the_no_precedent_line(
    approach: Approach,
) -> None:
    points = talking_points(approach)
    assert len(points) >= 3
    assert len(set(points)) == len(points)
    assert TalkingPoint.NO_PRECEDENT in points  # 策略8, ready for any concession request


def test_pressure_stresses_how_serious_it_is_and_the_superiors_attention() -> None:
    points = talking_points(Approach.PRESSURE)
    assert {TalkingPoint.SERIOUSNESS, TalkingPoint.SUPERIORS_ATTENTION} <= set(points)


def test_a_resolute_counterpart_has_the_supervisor_asked_and_no_precedent_first() -> None:
    assert talking_points(Approach.FIRM_BOTTOM_LINE)[:2] == (
        TalkingPoint.ASK_SUPERVISOR,
        TalkingPoint.NO_PRECEDENT,
    )


def test_every_talking_point_belongs_to_some_approach() -> None:
    used = {p for a in Approach for p in talking_points(a)}
    assert used == set(TalkingPoint)


def test_a_chosen_approach_overrides_the_one_of_the_character() -> None:
    answers = PrepAnswers(character=Character.VAIN, approach=Approach.PRESSURE)
    assert answers.chosen_approach is Approach.PRESSURE
    assert PrepAnswers(character=Character.VAIN).chosen_approach is Approach.FLATTERY


# --- 策略4 以攻为守: open questions, what we do not know first ---


def test_open_questions_ask_first_about_what_is_unknown() -> None:
    known_business = PrepAnswers(business=Business.RUNNING, capacity=Capacity.FULL)
    questions = open_questions(known_business)
    assert set(questions) == set(OpenQuestion)
    assert questions.index(OpenQuestion.BUSINESS_NOW) > questions.index(OpenQuestion.INCOME_COMING)
    assert open_questions(PrepAnswers())[0] is OpenQuestion.BUSINESS_NOW


def test_a_result_meeting_asks_what_they_can_pay_today_third_a_visit_last() -> None:
    assert open_questions(PrepAnswers(kind=MeetingKind.RESULT))[2] is OpenQuestion.PAY_TODAY
    assert open_questions(PrepAnswers(kind=MeetingKind.INVESTIGATIVE))[-1] is (
        OpenQuestion.PAY_TODAY
    )


def test_family_and_guarantor_are_asked_about_early_while_a_stance_is_unknown() -> None:
    base = {"business": Business.RUNNING, "capacity": Capacity.FULL, "capacity_amount": 1}
    unknown = open_questions(PrepAnswers(party_stances={1: Attitude.UNKNOWN}, **base))  # type: ignore[arg-type]
    known = open_questions(PrepAnswers(party_stances={1: Attitude.HOSTILE}, **base))  # type: ignore[arg-type]
    assert unknown[0] is OpenQuestion.FAMILY_VIEW
    assert known.index(OpenQuestion.FAMILY_VIEW) > known.index(OpenQuestion.BUSINESS_NOW)


# --- 策略3 主场作战, 策略2 立竿见影, 策略5, 策略10: the warnings ---


def warnings(meetings: int = 0, **kw: object) -> list[Warning]:
    base: dict[str, object] = {"figures": Figures(y(6000), y(8000), y(10000))}
    base.update(kw)
    return meeting_warnings(PrepAnswers(**base), meetings_without_agreement=meetings)  # type: ignore[arg-type]


@pytest.mark.parametrize("venue", [Venue.HOME, Venue.BUSINESS, Venue.OTHER])
def test_a_result_meeting_away_from_home_ground_is_warned(venue: Venue) -> None:
    """A result meeting at the borrower's home is warned: 主场作战."""
    assert Warning.AWAY_FROM_HOME_GROUND in warnings(kind=MeetingKind.RESULT, venue=venue)


@pytest.mark.parametrize("venue", [Venue.OFFICE, Venue.COURT])
def test_a_result_meeting_at_our_cooperative_or_the_court_is_not(venue: Venue) -> None:
    assert warnings(kind=MeetingKind.RESULT, venue=venue, money_today=y(1000)) == []


@pytest.mark.parametrize("venue", [*Venue, None])
def test_an_investigative_visit_anywhere_reveals_no_bottom_line(venue: Venue | None) -> None:
    found = warnings(kind=MeetingKind.INVESTIGATIVE, venue=venue)
    assert found == [Warning.REVEAL_NO_BOTTOM_LINE]  # and a visit at their home is fine


def test_an_unknown_kind_or_venue_is_not_warned_about_home_ground() -> None:
    assert warnings(venue=Venue.HOME) == []
    assert warnings(kind=MeetingKind.RESULT) == []


def test_two_meetings_without_agreement_warn_to_settle_within_three() -> None:
    assert Warning.SETTLE_WITHIN_THREE not in warnings(meetings=1)
    assert Warning.SETTLE_WITHIN_THREE in warnings(meetings=2)
    assert Warning.SETTLE_WITHIN_THREE in warnings(meetings=5)


def test_a_result_meeting_planning_no_money_today_is_warned() -> None:
    assert Warning.NO_MONEY_TODAY in warnings(kind=MeetingKind.RESULT, money_today=0)
    assert Warning.NO_MONEY_TODAY not in warnings(kind=MeetingKind.RESULT, money_today=1)
    assert Warning.NO_MONEY_TODAY not in warnings(kind=MeetingKind.INVESTIGATIVE, money_today=0)


def test_no_bottom_line_or_no_target_is_warned_a_missing_opening_ask_is_not() -> None:
    assert Warning.FIGURES_MISSING in warnings(figures=Figures())
    assert Warning.FIGURES_MISSING in warnings(figures=Figures(bottom=y(6000)))
    assert Warning.FIGURES_MISSING in warnings(figures=Figures(target=y(8000)))
    assert Warning.FIGURES_MISSING not in warnings(figures=Figures(y(6000), y(8000)))


def test_warnings_come_most_pressing_first() -> None:
    found = warnings(
        meetings=2, kind=MeetingKind.RESULT, venue=Venue.HOME, money_today=0, figures=Figures()
    )
    assert found == [
        Warning.AWAY_FROM_HOME_GROUND,
        Warning.NO_MONEY_TODAY,
        Warning.FIGURES_MISSING,
        Warning.SETTLE_WITHIN_THREE,
    ]


def test_money_today_may_not_be_skipped_for_a_result_meeting_only() -> None:
    assert money_today_required(MeetingKind.RESULT)
    assert not money_today_required(MeetingKind.INVESTIGATIVE)
    assert not money_today_required(None)


# --- 策略1 知己知彼: which facts the answers make known ---


def test_nothing_answered_makes_nothing_known() -> None:
    assert known_facts(PrepAnswers()) == frozenset()


def test_every_answer_of_know_them_and_our_lines_becomes_known() -> None:
    answers = PrepAnswers(
        capacity=Capacity.NONE,  # "none" is an answer: there is no capacity
        business=Business.STOPPED,
        character=Character.OTHER,
        weak_points_text="怕上失信名单",
        file_quality=FileQuality.GAPS,
        social_relations="村支书是他表哥",
        legal_questions=frozenset({LegalQuestion.OTHER}),
        figures=Figures(bottom=y(1), target=y(2)),
        party_stances={1: Attitude.COOPERATIVE},
    )
    assert known_facts(answers) == {
        Unknown.REPAYMENT_CAPACITY,
        Unknown.BUSINESS_CONDITION,
        Unknown.CHARACTER,
        Unknown.WEAK_POINTS,
        Unknown.FILE_QUALITY,
        Unknown.SOCIAL_RELATIONS,
        Unknown.LEGAL_QUESTIONS,
        Unknown.BOTTOM_LINE,
        Unknown.TARGET,
    }


def test_weak_points_are_known_from_a_button_alone_stances_never_hide_missing_phones() -> None:
    answers = PrepAnswers(
        weak_points=frozenset({WeakPoint.FAMILY}), party_stances={1: Attitude.HOSTILE}
    )
    assert known_facts(answers) == {Unknown.WEAK_POINTS}
    assert Unknown.PARTIES not in known_facts(answers)


def test_skipped_legal_questions_and_blank_text_stay_unknown() -> None:
    assert known_facts(PrepAnswers(legal_questions=frozenset(), social_relations="")) == set()


# --- 策略11 兵贵神速: what prep gives the urgency score ---


def test_a_declining_or_stopped_business_is_sliding_a_running_one_clears_the_flag() -> None:
    for business in (Business.DECLINING, Business.STOPPED):
        inputs = urgency_inputs(PrepAnswers(business=business))
        assert inputs.business_sliding is True
        assert Deterioration.BUSINESS_SLIDING in inputs.deterioration(frozenset())
    running = urgency_inputs(PrepAnswers(business=Business.RUNNING))
    current = {Deterioration.BUSINESS_SLIDING, Deterioration.ASSETS_MOVING}
    assert running.deterioration(current) == {Deterioration.ASSETS_MOVING}
    assert urgency_inputs(PrepAnswers()).deterioration(current) == current


def test_a_strong_guarantor_is_the_guarantor_weak_point_and_a_cooperative_guarantor() -> None:
    weak = frozenset({WeakPoint.GUARANTOR_RELATIONSHIP})
    both = PrepAnswers(weak_points=weak, party_stances={4: Attitude.COOPERATIVE})
    assert urgency_inputs(both).strong_guarantor is True
    assert urgency_inputs(both, guarantor_ids={4}).strong_guarantor is True
    # the cooperative one is the spouse, not the guarantor: prep says nothing
    assert urgency_inputs(both, guarantor_ids={5}).strong_guarantor is None
    hostile = PrepAnswers(weak_points=weak, party_stances={4: Attitude.HOSTILE})
    assert urgency_inputs(hostile).strong_guarantor is None
    alone = PrepAnswers(party_stances={4: Attitude.COOPERATIVE})
    assert urgency_inputs(alone).strong_guarantor is None


@pytest.mark.parametrize(
    "point", [WeakPoint.BUSINESS_LICENCE, WeakPoint.REPUTATION, WeakPoint.COURT_RECORD]
)
def test_licence_reputation_or_court_record_make_default_costly(point: WeakPoint) -> None:
    assert urgency_inputs(PrepAnswers(weak_points=frozenset({point}))).high_default_cost is True


def test_family_as_the_only_weak_point_says_nothing_about_the_cost_of_default() -> None:
    inputs = urgency_inputs(PrepAnswers(weak_points=frozenset({WeakPoint.FAMILY})))
    assert inputs == UrgencyFromPrep(None, None, None)


# --- Drafts survive as JSON ---


FULL = PrepAnswers(
    capacity=Capacity.PARTIAL,
    capacity_amount=y(3000),
    business=Business.DECLINING,
    character=Character.RESOLUTE,
    weak_points=frozenset(WeakPoint),
    weak_points_text="要面子",
    file_quality=FileQuality.DEFECTS,
    party_stances={1: Attitude.COOPERATIVE, 12: Attitude.HOSTILE},
    social_relations="同村",
    legal_questions=frozenset(LegalQuestion),
    figures=Figures(y(6000), y(8000), y(10000)),
    needs_approval=frozenset(Concession),
    kind=MeetingKind.RESULT,
    venue=Venue.OFFICE,
    attendees="我、王主任；借款人夫妇",
    step=MeetingStep.SIGN_AGREEMENT,
    step_text="签协议",
    qa=(("能不能免息？", "开先例不行"), ("下月再还？", "今天先还一部分")),
    open_questions=(OpenQuestion.PAY_TODAY, OpenQuestion.BUSINESS_NOW),
    pre_chat_by="李娜",
    money_today=0,
    approach=Approach.SYMPATHY,
)


def test_answers_go_to_json_and_back_unchanged() -> None:
    data = json.loads(json.dumps(FULL.to_json()))
    assert PrepAnswers.from_json(data) == FULL
    assert PrepAnswers.from_json(PrepAnswers().to_json()) == PrepAnswers()
    assert PrepAnswers().to_json() == {}


def test_a_draft_from_another_version_loses_only_what_it_cannot_read() -> None:
    data = FULL.to_json() | {
        "capacity": "plenty",  # a code this version does not know
        "money_today": True,  # a bool is not an amount
        "figures": {"bottom": -5, "target": "8000", "opening": y(10000)},
        "party_stances": {"x": "cooperative", "3": "angry", "4": "neutral"},
        "qa": [["q"], ["q", "a"], "qa"],
        "open_questions": ["pay_today", "pay_today", "later"],
        "surplus": 1,
    }
    answers = PrepAnswers.from_json(data)
    assert answers.capacity is None
    assert answers.money_today is None
    assert answers.figures == Figures(opening=y(10000))
    assert answers.party_stances == {4: Attitude.NEUTRAL}
    assert answers.qa == (("q", "a"),)
    assert answers.open_questions == (OpenQuestion.PAY_TODAY,)
    assert answers.character is Character.RESOLUTE  # the rest stands
    assert PrepAnswers.from_json({}) == PrepAnswers()


# --- The brief ---


def test_the_brief_carries_the_plan_with_two_points_and_three_questions() -> None:
    brief = build_brief(
        PrepAnswers(character=Character.NOVICE_WEAK, kind=MeetingKind.RESULT, venue=Venue.HOME),
        unknown_count=5,
        meetings_without_agreement=2,
    )
    assert brief.approach is Approach.PRESSURE
    # The best point and 策略8's no-precedent line, ready for a concession (issue 16).
    assert brief.points == (talking_points(Approach.PRESSURE)[0], TalkingPoint.NO_PRECEDENT)
    assert len(brief.questions) == 3
    assert brief.questions[2] is OpenQuestion.PAY_TODAY
    assert brief.warnings == (
        Warning.AWAY_FROM_HOME_GROUND,
        Warning.FIGURES_MISSING,
        Warning.SETTLE_WITHIN_THREE,
    )
    assert brief.unknown_count == 5


def test_the_brief_keeps_the_collectors_own_choices() -> None:
    brief = build_brief(FULL, unknown_count=-1, meetings_without_agreement=0)
    assert brief.approach is Approach.SYMPATHY  # chosen, not the resolute one's
    assert brief.questions == (OpenQuestion.PAY_TODAY, OpenQuestion.BUSINESS_NOW)
    assert brief.figures == FULL.figures
    assert brief.money_today == 0
    assert brief.needs_approval == frozenset(Concession)
    assert brief.pre_chat_by == "李娜"
    assert brief.warnings == (Warning.NO_MONEY_TODAY,)
    assert brief.unknown_count == 0


def test_the_brief_carries_what_the_collector_prepared() -> None:
    """Issue 16: the expected questions and answers (策略2), the weak points in a fixed order
    with their own words, the social relations; a pre-chat "not needed" names nobody."""
    answers = PrepAnswers(
        qa=(("还不上怎么办？", "担保人代偿"),),
        weak_points=frozenset({WeakPoint.FAMILY, WeakPoint.REPUTATION}),
        weak_points_text="要面子",
        social_relations="王叔是他老领导",
        pre_chat_by=NO_PRE_CHAT,
    )
    brief = build_brief(answers, unknown_count=0, meetings_without_agreement=0)
    assert brief.qa == (("还不上怎么办？", "担保人代偿"),)
    assert brief.weak_points == (WeakPoint.REPUTATION, WeakPoint.FAMILY)
    assert brief.weak_points_text == "要面子"
    assert brief.social_relations == "王叔是他老领导"
    assert brief.pre_chat_by is None
    assert TalkingPoint.NO_PRECEDENT in brief.points
