"""Samples for templates/commit/_dates.j2 (the words of bot.domain.dates and of
parse_instalment_amount), and the test that renders every macro with them in every language.

``test_dates_macros_render`` is collected from tests/unit/test_templates.py (imported there, so
it shares that module's ``renderer`` fixture). The sample lists serve the /commit and /outcome
templates too: ``[{"e": e} for e in REFUSALS]`` covers every refusal code.
"""

from __future__ import annotations

from datetime import date

import pytest

from bot.domain.dates import DateError, Recurrence, WorkdayCheck, working_day
from bot.domain.money import AmountError
from bot.i18n import SUPPORTED_LOCALES
from tests.unit.case_template_samples import EVIL
from tgemu import parse_html

#: One refusal per code (a hostile text where the user's words are echoed).
REFUSALS: list[DateError | AmountError] = [
    DateError("date.vague", {"text": EVIL, "phrase": "月底", "kind": "period_end"}),
    DateError("date.vague", {"text": "下半年", "phrase": "下半年", "kind": "period"}),
    DateError("date.vague", {"text": EVIL, "phrase": EVIL, "kind": "someday"}),
    DateError("date.past", {"text": "2026-11-01", "date": "2026-11-01"}),
    DateError("date.too_far", {"text": "2062-01-01", "date": "2062-01-01", "years": "5"}),
    DateError("date.ambiguous", {"text": "03/04", "first": "2027-03-04", "second": "2027-04-03"}),
    DateError("date.no_such_day", {"text": EVIL}),
    DateError("date.unparseable", {"text": EVIL}),
    DateError("schedule.no_count", {"text": "每周三"}),
    DateError("schedule.count_and_until", {"text": EVIL}),
    DateError(
        "schedule.until_before_first",
        {"text": EVIL, "until": "2026-12-01", "first": "2026-12-25"},
    ),
    DateError("schedule.too_many", {"text": EVIL, "count": "61", "limit": "60"}),
    AmountError("amount.several", {"value": EVIL}),
    AmountError("amount.zero", {"value": "0"}),
    AmountError("amount.absurd", {"value": EVIL, "limit": "30000000", "debt": "10000000"}),
    AmountError("amount.negative", {"value": "-5"}),
    AmountError("amount.too_precise", {"value": "5.001"}),
    AmountError("amount.too_large", {"value": "1e20"}),
    AmountError("amount.unparseable", {"value": EVIL}),
    AmountError("amount.empty", {"value": ""}),
]

NATIONAL_DAY = date(2026, 10, 1)
TIAOXIU_SUNDAY = date(2026, 9, 20)
SUNDAY = date(2026, 11, 29)
NEW_YEAR_2027 = date(2027, 1, 1)  # a year chinese-calendar 1.11 has no data for

#: (check, the date it is about): a holiday, a weekend, a working day, a year without data,
#: and a holiday whose name the words do not know.
WORKDAYS: list[tuple[WorkdayCheck, date]] = [
    (working_day(NATIONAL_DAY), NATIONAL_DAY),
    (working_day(SUNDAY), SUNDAY),
    (working_day(TIAOXIU_SUNDAY), TIAOXIU_SUNDAY),
    (
        WorkdayCheck(False, "holiday", date(2027, 1, 4), known=False, holiday="New Year's Day"),
        NEW_YEAR_2027,
    ),
    (WorkdayCheck(False, "holiday", date(2026, 9, 7), holiday=EVIL), date(2026, 9, 3)),
    (WorkdayCheck(False, "holiday", date(2026, 9, 7)), date(2026, 9, 3)),
]

RECURRENCES = (
    [Recurrence("weekly", weekday=w, count=4) for w in range(7)]
    + [Recurrence("monthly", day=day, count=6) for day in (1, 2, 3, 11, 12, 13, 21, 22, 23, 25, 31)]
    + [Recurrence("monthly", day=25, until=date(2027, 5, 25))]
)

HOLIDAYS = [
    "New Year's Day",
    "Spring Festival",
    "Tomb-sweeping Day",
    "Labour Day",
    "Dragon Boat Festival",
    "Mid-autumn Festival",
    "National Day",
]

_IMPORT = '{% import "commit/_dates.j2" as dates %}'


def macro_calls():
    """(call, context) pairs: every macro with every sample."""
    for e in REFUSALS:
        yield f"refusal/{e.code}/{e.params.get('kind', '')}", "dates.refusal(e)", {"e": e}
    for i, (check, d) in enumerate(WORKDAYS):
        yield f"workday/{i}", "dates.workday(check, d)", {"check": check, "d": d}
    for r in RECURRENCES:
        yield f"recurrence/{r.kind}/{r.weekday}/{r.day}", "dates.recurrence(r)", {"r": r}
    for name in HOLIDAYS:
        yield f"holiday/{name}", "dates.holiday(name)", {"name": name}
    yield "due/date", "dates.due(d)", {"d": NATIONAL_DAY}
    yield "due/iso", "dates.due(d, false)", {"d": "2026-12-25"}
    yield "short_month_rule/31", "dates.short_month_rule(31)", {}
    yield "short_month_rule", "dates.short_month_rule()", {}
    yield "calendar_unknown", "dates.calendar_unknown(2027)", {}
    yield "way_forward", "dates.way_forward()", {}


def render_macro(renderer, locale: str, call: str, context: dict[str, object]) -> str:
    env = renderer._envs[locale]
    return env.from_string(_IMPORT + "{{ " + call + " }}").render(**context).strip()


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
@pytest.mark.parametrize(
    ("call", "context"), [pytest.param(c, ctx, id=i) for i, c, ctx in macro_calls()]
)
def test_dates_macros_render(renderer, locale, call, context):
    html = render_macro(renderer, locale, call, context)
    check = context.get("check")
    if isinstance(check, WorkdayCheck) and check.is_working_day:
        assert html == "", "a working day is not warned"
        return
    text, _entities = parse_html(html)  # what Telegram would refuse, this refuses
    assert text.strip()
    assert "<b>Bad" not in html
    if "Bad &" in text:
        assert EVIL in text
    e = context.get("e")
    if e is not None:
        assert e.code not in text, "a refusal shown as its code"
    if locale != "en" and context.get("name") != EVIL:
        assert any("\u4e00" <= ch <= "\u9fff" for ch in text), f"not translated: {text}"
    if locale == "zh_Hant":
        assert "周" not in text, f"simplified weekday in 繁體: {text}"


def test_weekday_date_filter(renderer):
    env = renderer._envs
    christmas = date(2026, 12, 25)
    assert env["en"].filters["weekday_date"](christmas) == "Fri, Dec 25, 2026"
    assert env["zh_Hans"].filters["weekday_date"](christmas) == "2026年12月25日周五"
    assert env["zh_Hant"].filters["weekday_date"](christmas) == "2026年12月25日週五"
    assert env["zh_Hans"].filters["weekday_date"]("2026-12-25", False) == "12月25日周五"
