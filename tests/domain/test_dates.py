"""bot.domain.dates, read like a calendar (strategy 5 忌华而不实: exact dates or fixed days only).

Most tests are made on Saturday 28 November 2026 (``SAT``); the week around it:

    Mon 23 Nov … Fri 27 Nov, Sat 28 Nov (today), Sun 29 Nov
    Mon 30 Nov, Tue 1 Dec, Wed 2 Dec, … Sun 6 Dec
"""

from __future__ import annotations

import re
from datetime import date

import pytest

from bot.domain.dates import (
    HORIZON_YEARS,
    MAX_INSTALMENTS,
    VAGUE_PHRASES,
    DateError,
    Due,
    Recurrence,
    calendar_years,
    find_vague,
    month_grid,
    parse_date,
    parse_dates,
    parse_schedule,
    parse_written_date,
    schedule_dates,
    shift_month,
    working_day,
)
from bot.domain.errors import DomainError

SAT = date(2026, 11, 28)  # Saturday 28 Nov 2026
WED = date(2026, 12, 2)  # Wednesday 2 Dec 2026


def d(text: str) -> date:
    """``"25 Dec 2026"`` → date: the tests write dates the way a calendar shows them."""
    day, month, year = text.split()
    months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    return date(int(year), months.index(month) + 1, int(day))


def refused(code: str, fn, *args) -> DateError:
    with pytest.raises(DateError) as info:
        fn(*args)
    assert info.value.code == code, info.value
    return info.value


# --- exact dates ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-25", "25 Dec 2026"),
        ("2026/12/25", "25 Dec 2026"),
        ("2026.12.25", "25 Dec 2026"),
        ("2026年12月25日", "25 Dec 2026"),
        ("１２月２５日", "25 Dec 2026"),  # full-width digits
        ("12月25日", "25 Dec 2026"),
        ("12月25号", "25 Dec 2026"),
        ("12 月 25 日", "25 Dec 2026"),
        ("十二月二十五日", "25 Dec 2026"),
        ("十二月廿五号", "25 Dec 2026"),
        ("12月25號", "25 Dec 2026"),  # 繁體
        ("12/25", "25 Dec 2026"),  # the day is the part above 12
        ("25/12", "25 Dec 2026"),
        ("25/12/2026", "25 Dec 2026"),
        ("12/25/2026", "25 Dec 2026"),
        ("04/04", "4 Apr 2027"),  # equal parts are not ambiguous
        ("1/15", "15 Jan 2027"),  # no year, already gone this year: next year's
        ("11月28日", "28 Nov 2026"),  # no year, today: today
        ("25号", "25 Dec 2026"),  # the next 25th
        ("25日", "25 Dec 2026"),
        ("二十五号", "25 Dec 2026"),
        ("28号", "28 Dec 2026"),  # said on the 28th: not today, next month's
        ("30号", "30 Nov 2026"),
        ("31号", "31 Dec 2026"),  # November has no 31st: the next month that has one
        ("下个月10号", "10 Dec 2026"),
        ("下個月10號", "10 Dec 2026"),
        ("本月30号", "30 Nov 2026"),
        ("今天", "28 Nov 2026"),
        ("today", "28 Nov 2026"),
        ("明天", "29 Nov 2026"),
        ("tomorrow", "29 Nov 2026"),
        ("Tomorrow.", "29 Nov 2026"),
        ("后天", "30 Nov 2026"),
        ("後天", "30 Nov 2026"),
        ("the day after tomorrow", "30 Nov 2026"),
        ("大后天", "1 Dec 2026"),
        ("周五", "4 Dec 2026"),  # the next Friday
        ("星期五", "4 Dec 2026"),
        ("礼拜五", "4 Dec 2026"),
        ("週五", "4 Dec 2026"),
        ("禮拜五", "4 Dec 2026"),
        ("周六", "5 Dec 2026"),  # said on a Saturday: not today, next week's
        ("周日", "29 Nov 2026"),
        ("星期天", "29 Nov 2026"),
        ("下周三", "2 Dec 2026"),  # Wednesday of next week (Mon 30 Nov – Sun 6 Dec)
        ("下週三", "2 Dec 2026"),
        ("下下周一", "7 Dec 2026"),
        ("本周日", "29 Nov 2026"),
        ("Friday", "4 Dec 2026"),
        ("fri", "4 Dec 2026"),
        ("this Friday", "4 Dec 2026"),
        ("on Friday", "4 Dec 2026"),
        ("next Wednesday", "2 Dec 2026"),  # read as 下周三
        ("Dec 25", "25 Dec 2026"),
        ("25 Dec", "25 Dec 2026"),
        ("December 25", "25 Dec 2026"),
        ("December 25th, 2027", "25 Dec 2027"),
        ("the 25th of December", "25 Dec 2026"),
        ("Jan 10", "10 Jan 2027"),
        ("on the 25th", "25 Dec 2026"),
        ("the 30th", "30 Nov 2026"),
    ],
)
def test_an_exact_date_on_sat_28_nov_2026(text, expected):
    assert parse_date(text, SAT) == d(expected)


def test_next_wednesday_said_on_a_monday_is_nine_days_ahead():
    monday = date(2026, 11, 30)
    assert parse_date("下周三", monday) == d("9 Dec 2026")
    assert parse_date("next Wednesday", monday) == d("9 Dec 2026")
    assert parse_date("周三", monday) == d("2 Dec 2026")  # the next one, this week


def test_wednesday_said_on_a_wednesday_is_next_weeks():
    assert parse_date("周三", WED) == d("9 Dec 2026")
    assert parse_date("Wednesday", WED) == d("9 Dec 2026")
    assert parse_date("这周三", WED) == WED  # this week's Wednesday is today


def test_the_25th_said_on_the_25th_is_next_months():
    assert parse_date("25号", date(2026, 12, 25)) == d("25 Jan 2027")


def test_29_february_without_a_year_is_the_next_that_exists():
    assert parse_date("2月29日", SAT) == d("29 Feb 2028")
    refused("date.no_such_day", parse_date, "2027-02-29", SAT)


@pytest.mark.parametrize(
    ("text", "first", "second"),
    [("03/04", "2026-03-04", "2026-04-03"), ("3/4/2027", "2027-03-04", "2027-04-03")],
)
def test_day_and_month_both_12_or_below_are_ambiguous(text, first, second):
    e = refused("date.ambiguous", parse_date, text, SAT)
    assert (e.params["first"], e.params["second"]) == (first, second)


@pytest.mark.parametrize("text", ["2026-11-27", "2025-12-25", "这周五", "本周一", "本月20号"])
def test_a_date_before_today_is_refused(text):
    e = refused("date.past", parse_date, text, SAT)
    assert e.params["date"] < SAT.isoformat()
    assert e.params["text"] == text


def test_beyond_the_horizon_is_too_far():
    assert parse_date("2031-11-28", SAT) == d("28 Nov 2031")  # exactly five years: fine
    e = refused("date.too_far", parse_date, "2031-11-29", SAT)
    assert e.params == {"text": "2031-11-29", "date": "2031-11-29", "years": str(HORIZON_YEARS)}


@pytest.mark.parametrize("text", ["2026-02-30", "2月30日", "4月31日", "32号", "本月31号", "13/13"])
def test_a_day_that_does_not_exist(text):
    refused("date.no_such_day", parse_date, text, SAT)


@pytest.mark.parametrize("text", ["", "   ", "25", "xyz", "五千", "周八", "12月25日前", "每周三"])
def test_nothing_recognisable(text):
    refused("date.unparseable", parse_date, text, SAT)


def test_a_date_error_is_a_domain_error_with_string_params():
    e = refused("date.past", parse_date, "2026-01-01", SAT)
    assert isinstance(e, DomainError)
    assert all(isinstance(v, str) for v in e.params.values())


def test_a_list_of_exact_dates_sorted_without_duplicates():
    assert parse_dates("12月25日、1月10日，12月25日", SAT) == [d("25 Dec 2026"), d("10 Jan 2027")]
    assert parse_dates("Dec 25, 2027, Jan 10", SAT) == [d("10 Jan 2027"), d("25 Dec 2027")]
    e = refused("date.vague", parse_dates, "12月25日、月底", SAT)
    assert e.params["phrase"] == "月底"


# --- the refusal list: every phrase, all three languages -----------------------------------

#: Text a collector types for each entry that is a pattern rather than plain words.
PATTERN_EXAMPLES = {
    "下个?月(?![0-9一二三四五六七八九十廿卅]|底|末|初|中)": "下个月",
    "下個?月(?![0-9一二三四五六七八九十廿卅]|底|末|初|中)": "下個月吧",
    "下周(?![一二三四五六日天1-7])": "下周",
    "下週(?![一二三四五六日天1-7])": "下週吧",
    "明年(?![0-9一二三四五六七八九十]+月)": "明年",
    "(?:下个?|这个?|本|[0-9一二三四五六七八九十]+)月(?:上旬|中旬|下旬|初|中)": "下个月中旬",
    "(?:春节|过年|过完年|年|国庆|中秋|端午|清明|五一|元旦)(?:以后|之后|后|前后|前|左右)": "春节后",
    "开春|开年|秋收(?:以后|之后|后)?": "秋收以后",
    "(?:明年|今年)?(?:春|夏|秋|冬)天": "明年春天",
    "(?:下個?|這個?|本|[0-9一二三四五六七八九十]+)月(?:上旬|中旬|下旬|初|中)": "3月中旬",
    "(?:春節|過年|過完年|年|國慶|中秋|端午|清明|五一|元旦)(?:以後|之後|後|前後|前|左右)": (
        "過完年以後"
    ),
    "開春|開年|秋收(?:以後|之後|後)?": "開春",
    r"\b(?:early|mid|late)[- ]?(?:next |this )?(?:week|month|year)\b": "mid next month",
    (
        r"\b(?:early|mid|late)[- ]?(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|"
        r"june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\b"
    ): "mid-December",
    (
        r"\b(?:after|before|around) (?:the )?(?:chinese new year|new year|spring festival|"
        r"national day|mid-autumn festival|harvest|holidays?)\b"
    ): "after Chinese New Year",
    r"\bend of (?:the |this |next )?month\b": "end of next month",
    r"\bmonth[- ]end\b": "month-end",
    r"\bend of (?:the |this |next )?year\b": "end of the year",
    r"\byear[- ]end\b": "year end",
    r"\bend of (?:the |this |next )?quarter\b": "end of this quarter",
    r"\bevery month[- ]end\b": "every month end",
    r"\bevery end of (?:the )?month\b": "every end of the month",
    r"\bnext (?:spring|summer|autumn|fall|winter)\b": "next spring",
    r"\bthis (?:spring|summer|autumn|fall|winter)\b": "this summer",
    r"\bin (?:the )?(?:spring|summer|autumn|fall|winter)\b": "in the autumn",
    r"\bearly next (?:year|month|week)\b": "early next year",
    r"\b(?:early|late) in the (?:year|month)\b": "late in the month",
    r"\bmid[- ]?month\b": "mid-month",
    r"\bmiddle of (?:the |next )?month\b": "middle of next month",
    r"\bbeginning of (?:the |next )?(?:month|year)\b": "beginning of next year",
    r"\bthis weekend\b": "this weekend",
    r"\b(?:at|on|over) the weekend\b": "at the weekend",
    r"\bweekend\b": "Weekend",
    r"\bnext (?:week|month|year)\b": "next month",
    r"\bevery half[- ]year\b": "every half year",
    r"\bhalf[- ]yearly\b": "half-yearly",
    r"\bevery quarter\b": "every quarter",
    r"\bsoon\b": "soon",
    r"\blater\b": "later",
    r"\bsome ?day\b": "someday",
    r"\bin a few days\b": "in a few days",
    r"\bwhen (?:i|he|she|they|we) can\b": "when I can",
    r"\bwhen (?:i|he|she|they|we) (?:have|get|has) (?:the )?money\b": "when he has money",
    r"\bas soon as possible\b": "as soon as possible",
    r"\basap\b": "ASAP",
    r"\bone of these days\b": "one of these days",
}


def _example(pattern: str) -> str:
    if re.escape(pattern) == pattern:  # plain words: the phrase itself
        return pattern
    return PATTERN_EXAMPLES[pattern]


def vague_cases():
    for language, entries in VAGUE_PHRASES.items():
        for pattern, kind in entries:
            yield pytest.param(language, pattern, kind, id=f"{language}:{_example(pattern)}")


@pytest.mark.parametrize(("language", "pattern", "kind"), list(vague_cases()))
def test_every_vague_phrase_is_refused_as_a_date_and_as_a_schedule(language, pattern, kind):
    text = _example(pattern)
    for fn in (parse_date, parse_schedule):
        e = refused("date.vague", fn, text, SAT)
        assert e.params["kind"] == kind, (language, text, e.params)
        assert e.params["phrase"], e.params
        assert e.params["text"] == text


@pytest.mark.parametrize(("language", "pattern", "kind"), list(vague_cases()))
def test_every_vague_phrase_is_found_inside_a_sentence(language, pattern, kind):
    text = _example(pattern)
    sentence = f"他说{text}还" if language != "en" else f"he says {text}, really"
    found = find_vague(sentence)
    assert found is not None
    assert found[1] == kind


def test_how_many_phrases_each_language_refuses():
    counts = {language: len(entries) for language, entries in VAGUE_PHRASES.items()}
    assert counts == {"zh_Hans": 42, "zh_Hant": 42, "en": 34}


@pytest.mark.parametrize(
    "phrase",
    [
        "月底",
        "月末",
        "下月末",
        "下个月底",
        "年底",
        "年末",
        "年初",
        "明年初",
        "下半年",
        "上半年",
        "这周末",
        "周末",
        "本周末",
        "过段时间",
        "过几天",
        "过阵子",
        "以后",
        "有钱了",
        "尽快",
        "最近",
        "月中",
        "月初",
        "中旬",
        "下旬",
        "季度末",
        "每月底",
        "每半年",
    ],
)
def test_the_issues_simplified_phrases_are_in_the_data(phrase):
    assert phrase in dict(VAGUE_PHRASES["zh_Hans"])


@pytest.mark.parametrize(
    "phrase",
    [
        "月底",
        "下個月底",
        "這週末",
        "週末",
        "過段時間",
        "過幾天",
        "過陣子",
        "以後",
        "有錢了",
        "盡快",
        "每月底",
        "每半年",
    ],
)
def test_the_traditional_forms_are_in_the_data(phrase):
    assert phrase in dict(VAGUE_PHRASES["zh_Hant"])


@pytest.mark.parametrize(
    "text",
    [
        "end of month",
        "end of next month",
        "end of the year",
        "next spring",
        "soon",
        "later",
        "someday",
        "in a few days",
        "at the weekend",
        "this weekend",
        "when I can",
        "early next year",
        "mid-month",
        "every month end",
        "every half year",
    ],
)
def test_the_issues_english_phrases_are_refused(text):
    refused("date.vague", parse_schedule, text, SAT)


@pytest.mark.parametrize(
    ("text", "phrase", "kind"),
    [
        ("12月底", "月底", "period_end"),
        ("下个月底前", "下个月底", "period_end"),  # the longest phrase is named
        ("下個月底", "下個月底", "period_end"),
        ("每季度末", "每季度末", "period_end"),
        ("ＥＮＤ ＯＦ ＭＯＮＴＨ", "END OF MONTH", "period_end"),  # width and case folded
        ("过两天吧，等有钱了", "有钱了", "someday"),
        ("下半年再说", "下半年", "period"),
        ("下个月初", "下个月初", "period"),  # the month named with its part (issue 16)
        ("下周末", "下周末", "period"),
    ],
)
def test_the_phrase_named_is_the_one_typed(text, phrase, kind):
    e = refused("date.vague", parse_date, text, SAT)
    assert (e.params["phrase"], e.params["kind"]) == (phrase, kind)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("下个月25号", "25 Dec 2026"),  # 下个月 with a day is exact
        ("下周三", "2 Dec 2026"),  # 下周 with a weekday is exact
        ("明年3月5日", "5 Mar 2027"),  # 明年 with a month and day is exact
        ("soonest Friday", None),  # "soonest" is not "soon": just not a date
    ],
)
def test_exact_forms_that_contain_period_words_are_not_refused_as_vague(text, expected):
    if expected is None:
        refused("date.unparseable", parse_date, text, SAT)
    else:
        assert parse_date(text, SAT) == d(expected)


# --- schedules ------------------------------------------------------------------------------


def dates_of(text: str, today: date) -> list[date]:
    rule = parse_schedule(text, today)
    assert isinstance(rule, Recurrence), rule
    return [due.date for due in schedule_dates(rule, today)]


MONTHLY_25_X6 = ["25 Dec 2026", "25 Jan 2027", "25 Feb 2027", "25 Mar 2027", "25 Apr 2027"]
MONTHLY_25_X6 = [*MONTHLY_25_X6, "25 May 2027"]


@pytest.mark.parametrize(
    "text",
    [
        "每月25号 ×6",
        "每月25日×6",
        "每个月25号 x6",
        "每個月25號 共6期",
        "每月25号，6期",
        "每月二十五号共六期",
        "每月25号 6次",
        "每月25号 6个月",
        "the 25th of each month x6",
        "25th monthly, 6 times",
        "25th monthly for 6 months",
        "monthly on the 25th, 6 instalments",
        "every month on the 25th ×6",
        "每月25号到2027年5月25日",
        "每月25号至2027-05-25",
        "the 25th of every month until May 25, 2027",
    ],
)
def test_every_25th_x6_made_on_sat_28_nov_2026_runs_25_dec_to_25_may(text):
    assert dates_of(text, SAT) == [d(x) for x in MONTHLY_25_X6]


@pytest.mark.parametrize(
    "text",
    [
        "每周三 ×4",
        "每个星期三 4次",
        "每週三 共4期",
        "每礼拜三x4",
        "every Wednesday 4 times",
        "Wednesdays ×4",
    ],
)
def test_every_wednesday_x4_made_on_wednesday_2_dec_starts_9_dec(text):
    assert dates_of(text, WED) == [
        d("9 Dec 2026"),
        d("16 Dec 2026"),
        d("23 Dec 2026"),
        d("30 Dec 2026"),
    ]


def test_every_wednesday_made_on_sat_28_nov_starts_2_dec():
    assert dates_of("每周三×2", SAT) == [d("2 Dec 2026"), d("9 Dec 2026")]


def test_every_wednesday_until_an_inclusive_end_date():
    assert dates_of("every wednesday until 2026-12-23", WED) == [
        d("9 Dec 2026"),
        d("16 Dec 2026"),
        d("23 Dec 2026"),
    ]


def test_31st_monthly_from_january_falls_on_the_last_day_of_february_flagged():
    made = date(2027, 1, 10)
    rule = parse_schedule("每月31号 ×3", made)
    assert rule == Recurrence("monthly", day=31, count=3)
    assert schedule_dates(rule, made) == [
        Due(d("31 Jan 2027")),
        Due(d("28 Feb 2027"), short_month=True),
        Due(d("31 Mar 2027")),
    ]


def test_31st_monthly_in_a_leap_year_falls_on_29_february():
    made = date(2028, 1, 10)
    dues = schedule_dates(Recurrence("monthly", day=31, count=4), made)
    assert [(x.date, x.short_month) for x in dues] == [
        (d("31 Jan 2028"), False),
        (d("29 Feb 2028"), True),
        (d("31 Mar 2028"), False),
        (d("30 Apr 2028"), True),
    ]


def test_29th_monthly_short_only_in_a_common_february():
    dues = schedule_dates(Recurrence("monthly", day=29, count=2), date(2027, 1, 29))
    assert dues == [Due(d("28 Feb 2027"), short_month=True), Due(d("29 Mar 2027"))]
    dues = schedule_dates(Recurrence("monthly", day=29, count=2), date(2028, 1, 29))
    assert dues == [Due(d("29 Feb 2028")), Due(d("29 Mar 2028"))]


def test_30th_monthly_made_on_30_november_starts_in_december():
    dues = schedule_dates(Recurrence("monthly", day=30, count=3), date(2026, 11, 30))
    assert [x.date for x in dues] == [d("30 Dec 2026"), d("30 Jan 2027"), d("28 Feb 2027")]
    assert [x.short_month for x in dues] == [False, False, True]


def test_31st_monthly_made_on_5_november_starts_on_30_november_flagged():
    dues = schedule_dates(Recurrence("monthly", day=31, count=2), date(2026, 11, 5))
    assert dues == [Due(d("30 Nov 2026"), short_month=True), Due(d("31 Dec 2026"))]


def test_25th_monthly_made_on_the_25th_starts_next_month():
    dues = schedule_dates(Recurrence("monthly", day=25, count=1), date(2026, 12, 25))
    assert dues == [Due(d("25 Jan 2027"))]


def test_a_schedule_text_may_be_one_exact_date():
    assert parse_schedule("12月25日", SAT) == d("25 Dec 2026")
    assert parse_schedule("下周三", SAT) == d("2 Dec 2026")


@pytest.mark.parametrize(
    "text", ["每周三", "every Wednesday", "每月25号", "the 25th of each month"]
)
def test_a_recurring_day_needs_a_count_or_an_end_date(text):
    refused("schedule.no_count", parse_schedule, text, SAT)


def test_count_and_end_date_together_are_refused():
    refused("schedule.count_and_until", parse_schedule, "每月25号×6到2027-05-25", SAT)


def test_an_end_date_before_the_first_instalment():
    e = refused("schedule.until_before_first", parse_schedule, "每月25号到2026-12-01", SAT)
    assert (e.params["until"], e.params["first"]) == ("2026-12-01", "2026-12-25")


def test_an_end_date_in_the_past():
    refused("date.past", parse_schedule, "每周三到2026-11-01", SAT)


def test_too_many_instalments():
    assert len(dates_of(f"每月25号×{MAX_INSTALMENTS}", SAT)) == MAX_INSTALMENTS
    e = refused("schedule.too_many", parse_schedule, f"每月25号×{MAX_INSTALMENTS + 1}", SAT)
    assert e.params["limit"] == str(MAX_INSTALMENTS)
    refused("schedule.too_many", parse_schedule, "每周一到2028-11-01", SAT)  # 101 Mondays


def test_an_end_date_beyond_the_horizon():
    refused("date.too_far", parse_schedule, "每月25号到2032-01-25", SAT)


@pytest.mark.parametrize("text", ["每月32号×2", "每月0号×2", "the 32nd of each month x2"])
def test_a_monthly_day_no_month_has(text):
    refused("date.no_such_day", parse_schedule, text, SAT)


def test_a_count_without_a_recurring_day():
    refused("date.unparseable", parse_schedule, "12月25日 ×6", SAT)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"kind": "weekly", "count": 2},  # no weekday
        {"kind": "weekly", "weekday": 7, "count": 2},
        {"kind": "monthly", "day": 0, "count": 2},
        {"kind": "monthly", "day": 25},  # neither count nor until
        {"kind": "monthly", "day": 25, "count": 2, "until": SAT},  # both
        {"kind": "monthly", "day": 25, "count": 0},
        {"kind": "yearly", "day": 25, "count": 2},
    ],
)
def test_an_inconsistent_recurrence_is_a_programming_error(kwargs):
    with pytest.raises(ValueError):  # noqa: PT011 - the message names the field
        Recurrence(**kwargs)


# --- working days (mainland China, 调休 included) -------------------------------------------


def test_national_day_is_not_a_working_day_and_the_next_one_is_offered():
    check = working_day(d("1 Oct 2026"))
    assert not check.is_working_day
    assert check.reason == "holiday"
    assert check.holiday == "National Day"
    assert check.next_working_day == d("8 Oct 2026")  # Thu 8 Oct, after the 1–7 Oct break
    assert check.known


def test_a_tiaoxiu_sunday_is_a_working_day():
    # Sunday 20 Sep 2026 and Saturday 10 Oct 2026 are make-up workdays for National Day.
    assert d("20 Sep 2026").weekday() == 6
    assert working_day(d("20 Sep 2026")).is_working_day
    assert working_day(d("10 Oct 2026")).is_working_day
    assert working_day(d("20 Sep 2026")).reason is None


def test_a_saturday_before_a_tiaoxiu_sunday_offers_that_sunday():
    check = working_day(d("19 Sep 2026"))
    assert (check.reason, check.next_working_day) == ("weekend", d("20 Sep 2026"))


def test_a_holiday_on_a_weekend_is_a_holiday():
    check = working_day(d("3 Oct 2026"))  # a Saturday inside the National Day break
    assert (check.reason, check.holiday) == ("holiday", "National Day")


def test_an_ordinary_weekday_and_weekend():
    assert working_day(WED) == working_day(WED)  # frozen, comparable
    assert working_day(WED).is_working_day
    sunday = working_day(d("29 Nov 2026"))
    assert (sunday.reason, sunday.next_working_day, sunday.holiday) == (
        "weekend",
        d("30 Nov 2026"),
        None,
    )


def test_spring_festival_2026_offers_the_tiaoxiu_saturday_after_it():
    check = working_day(d("16 Feb 2026"))
    assert check.holiday == "Spring Festival"
    assert check.next_working_day == d("24 Feb 2026")


def test_the_package_covers_2004_to_2026_at_least():
    first, last = calendar_years()
    assert first <= 2004
    assert last >= 2026


def test_a_year_without_data_checks_weekends_and_the_fixed_holidays_only():
    _first, last = calendar_years()
    year = last + 1
    new_year = working_day(date(year, 1, 1))
    assert not new_year.known
    assert (new_year.is_working_day, new_year.reason) == (False, "holiday")
    assert new_year.next_working_day is not None
    assert new_year.next_working_day.weekday() < 5
    saturday = next(date(year, 3, day) for day in range(1, 8) if date(year, 3, day).weekday() == 5)
    check = working_day(saturday)
    assert (check.is_working_day, check.reason, check.known) == (False, "weekend", False)
    assert working_day(date(year, 10, 2)).holiday == "National Day"


def test_31_december_2026_offers_a_day_in_a_year_without_data():
    check = working_day(d("31 Dec 2026"))  # a Thursday: working
    assert check.is_working_day
    if calendar_years()[1] == 2026:
        # Fri 1 Jan 2027 is New Year's Day even without 2027's notice; the next is Mon 4 Jan.
        assert working_day(d("1 Jan 2027")).next_working_day == d("4 Jan 2027")


def test_other_regions_are_refused_naming_the_supported_one():
    with pytest.raises(ValueError, match="CN"):
        working_day(WED, region="HK")


# --- the month grid -------------------------------------------------------------------------


def test_december_2026_grid_monday_first():
    grid = month_grid(2026, 12, WED)
    assert len(grid) == 5
    assert all(len(week) == 7 for week in grid)
    assert grid[0][0] is None  # 1 Dec 2026 is a Tuesday
    first = grid[0][1]
    assert first is not None
    assert first.day == d("1 Dec 2026")
    assert first.past
    today = grid[0][2]
    assert today is not None
    assert (today.today, today.past) == (True, False)
    assert grid[-1][4:] == [None, None, None]  # Thu 31 Dec, then blanks
    weekends = [day for week in grid for day in week[5:] if day is not None]
    assert not any(day.working for day in weekends)


def test_october_2026_marks_national_day_and_the_tiaoxiu_saturday():
    days = {g.day: g for week in month_grid(2026, 10, SAT) for g in week if g is not None}
    assert len(days) == 31
    assert not any(days[date(2026, 10, n)].working for n in range(1, 8))
    assert days[d("10 Oct 2026")].working  # Saturday, make-up workday
    assert all(g.past for g in days.values())  # made in November


def test_february_2027_with_4_weeks_rows_cover_every_day():
    grid = month_grid(2027, 2, SAT)  # 1 Feb 2027 is a Monday: 4 full weeks
    assert [g.day.day for week in grid for g in week if g] == list(range(1, 29))
    assert len(grid) == 4


@pytest.mark.parametrize(
    ("year", "month", "delta", "expected"),
    [(2026, 12, 1, (2027, 1)), (2027, 1, -1, (2026, 12)), (2026, 11, 14, (2028, 1))],
)
def test_shift_month(year, month, delta, expected):
    assert shift_month(year, month, delta) == expected


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        # Issue 16: the refusal quoted "月中" and "next month", not what the collector typed.
        ("下个月中旬", "下个月中旬"),
        ("mid next month", "mid next month"),
        ("3月中旬还", "3月中旬"),
        ("mid-December", "mid-December"),
        # A festival or a season is a stretch of time too (strategy 5), not "a date I can't read".
        ("春节后", "春节后"),
        ("过完年以后", "过完年以后"),
        ("開春再說", "開春"),
        ("秋收以后", "秋收以后"),
        ("明年春天", "明年春天"),
        ("after Chinese New Year", "after Chinese New Year"),
        ("around the harvest", "around the harvest"),
    ],
)
def test_a_vague_phrase_is_quoted_whole_with_strategy_5s_reason(text, phrase):
    e = refused("date.vague", parse_date, text, SAT)
    assert (e.params["phrase"], e.params["kind"]) == (phrase, "period")


def test_a_list_of_iso_dates_separated_by_a_comma_and_a_space_is_read():
    # Issue 16: "2027-03-28, 2027-10-31" was taken for one date with a year after the comma.
    assert parse_dates("2027-03-28, 2027-10-31", SAT) == [d("28 Mar 2027"), d("31 Oct 2027")]
    assert parse_dates("2027/3/28, 2027年10月31日", SAT) == [d("28 Mar 2027"), d("31 Oct 2027")]
    # A year after a comma still belongs to its date.
    assert parse_dates("Dec 25, 2027, Jan 10", SAT) == [d("10 Jan 2027"), d("25 Dec 2027")]


# --- a date as a document writes it (a guarantee period's agreed end) -----------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2027-06-30", "30 Jun 2027"),  # still ahead
        ("2025年6月30日", "30 Jun 2025"),  # gone by: a period that ended before the file came
        ("2026/11/28", "28 Nov 2026"),  # today
        ("6月30日", "30 Jun 2027"),  # no year: the coming one
    ],
)
def test_a_written_date_on_sat_28_nov_2026_may_be_ahead_or_gone(text, expected):
    assert parse_written_date(text, SAT) == d(expected)


def test_a_written_date_is_refused_as_parse_date_refuses_it():
    refused("date.vague", parse_written_date, "around next summer", SAT)
    refused("date.ambiguous", parse_written_date, "03/04/2027", SAT)
    refused("date.unparseable", parse_written_date, "the day we shook hands", SAT)
