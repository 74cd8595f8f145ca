"""Every template renders in every language to HTML that Telegram accepts.

The emulator's parser is the judge (the same one that refuses bad HTML with 400), and hostile
names (``<script>``, ``&``) must come out escaped, never as markup.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.domain.people import Invite, Role, User
from bot.i18n import SUPPORTED_LOCALES
from bot.render import TEMPLATE_DIR, Renderer
from tests.unit.case_template_samples import CASE_SAMPLES
from tests.unit.commit_template_samples import COMMIT_SAMPLES
from tests.unit.dates_template_samples import test_dates_macros_render, test_weekday_date_filter  # noqa: F401
from tests.unit.digest_template_samples import DIGEST_SAMPLES
from tests.unit.export_template_samples import EXPORT_SAMPLES
from tests.unit.flow_template_samples import FLOW_SAMPLES
from tests.unit.instalment_template_samples import INSTALMENT_SAMPLES
from tests.unit.papers_template_samples import PAPERS_SAMPLES
from tests.unit.prep_template_samples import PREP_SAMPLES
from tests.unit.reminder_template_samples import REMINDER_SAMPLES
from tgemu import parse_html, utf16_len

NOW = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)
EVIL = "<b>Bad & Co</b>"


def user(role: Role, name: str = EVIL) -> User:
    return User(1, 100001, name, "evil", role, 1, "东城<&>", None, "en", True, None, NOW)


INVITE = Invite("abcDEF123_-x", Role.COLLECTOR, 1, "东城<&>", 1, NOW, NOW, None, None)

#: Sample parameters for each template; every template must appear here.
SAMPLES: dict[str, list[dict[str, object]]] = {
    "access/stranger": [{"telegram_id": 100001}],
    "access/deactivated": [{"telegram_id": 100001}],
    "start/welcome": [{"user": user(r)} for r in Role],
    "start/joined": [{"user": user(r)} for r in Role],
    "start/already_member": [{}],
    "start/invite_problem": [
        {"problem": p, "telegram_id": 1} for p in ("expired", "used", "unknown", "revoked")
    ],
    "help/help": [{"user": user(r)} for r in Role],
    "help/unknown": [{"suggestion": s} for s in (None, "/cases", "/case " + EVIL)],
    "lang/choose": [{}],
    "lang/changed": [{}],
    "whoami/whoami": [{"user": user(r), "language": "English"} for r in Role],
    "invite/created": [
        {
            "invite": Invite(INVITE.code, r, 1, "东城<&>", 1, NOW, NOW, None, None, name),
            "link": "https://t.me/x_bot?start=abc&x=<y>",
        }
        for r in Role
        for name in (None, EVIL)
    ],
    "invite/name_too_long": [{"limit": 64}],
    "invite/choose_role": [{}],
    "invite/choose_team": [{"teams": []}, {"teams": ["x"]}],
    "invite/not_allowed": [{}],
    "users/list": [
        {
            "users": [user(Role.COLLECTOR), user(Role.ADMIN, "")],
            "team_name": None,
            "can_manage": True,
            "total": 2,
            "page": 1,
            "pages": 1,
        },
        {
            "users": [],
            "team_name": "东城<&>",
            "can_manage": False,
            "total": 45,
            "page": 2,
            "pages": 3,
        },
    ],
    "users/card": [
        {"target": user(Role.SUPERVISOR), "changed": changed, "open_cases": n}
        for changed in (True, False)
        for n in (0, 3)
    ],
    "users/confirm_off": [{"target": user(Role.COLLECTOR), "open_cases": n} for n in (0, 3)],
    "users/not_allowed": [{}],
    "errors/generic": [{}],
    "notify/invite_used": [{"name": EVIL, "role": r.value, "team": "东城<&>"} for r in Role],
    "notify/collector_unreachable": [
        {"name": EVIL, "reason": r, "reminders": n}
        for r in ("blocked", "not_found")
        for n in (0, 3)
    ],
    **CASE_SAMPLES,
    **FLOW_SAMPLES,
    **COMMIT_SAMPLES,
    **PREP_SAMPLES,
    **EXPORT_SAMPLES,
    **REMINDER_SAMPLES,
    **INSTALMENT_SAMPLES,
    **DIGEST_SAMPLES,
    **PAPERS_SAMPLES,
}


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer(ZoneInfo("Asia/Shanghai"))


def all_templates() -> set[str]:
    return {
        str(p.relative_to(TEMPLATE_DIR)).removesuffix(".html.j2")
        for p in TEMPLATE_DIR.rglob("*.html.j2")
    }


def cases():
    for name, samples in SAMPLES.items():
        for i, params in enumerate(samples):
            for locale in SUPPORTED_LOCALES:
                yield pytest.param(name, params, locale, id=f"{name}#{i}-{locale}")


@pytest.mark.parametrize(("name", "params", "locale"), list(cases()))
def test_renders_to_html_telegram_accepts(renderer, name, params, locale):
    html = renderer.render(locale, name, **params)
    text, _entities = parse_html(html)  # raises like Telegram's "can't parse entities"
    assert text.strip(), "empty message"
    assert utf16_len(text) <= 4096
    assert "<b>Bad" not in html  # a hostile name never becomes markup...
    if "Bad &" in text:
        assert EVIL in text  # ...it is shown as the literal text it is
    assert "\n\n\n" not in text, "stray blank lines from template whitespace"
    if locale != "en":
        assert any("\u4e00" <= ch <= "\u9fff" for ch in text), "not translated"


def test_every_template_has_samples():
    missing = sorted(all_templates() - SAMPLES.keys())
    assert not missing, f"add sample parameters for {missing}"


def test_money_and_dates_follow_the_locale(renderer):
    env = renderer._envs
    assert env["en"].filters["money"](1234560) == "CN¥12,345.60"
    assert env["zh_Hans"].filters["money"](1234560) == "¥12,345.60"
    assert env["zh_Hant"].filters["money"](1234560) == "¥12,345.60"  # not Taiwan's "CN¥"
    # 01:00 UTC is 09:00 in Shanghai
    assert env["en"].filters["local_dt"](NOW) == "Nov 30, 2026 9:00\u202fAM"
    assert env["zh_Hans"].filters["local_dt"](NOW) == "2026年11月30日 09:00"
    assert env["zh_Hans"].filters["local_date"](NOW) == "2026年11月30日"


#: What an internal code looks like in a message: snake_case words, or JSON. The bot's own
#: @username in a deep link is the one snake_case a person may see.
_CODE = re.compile(r"\b[a-z]+(?:_[a-z0-9]+)+\b|[{\[]\s*\"")
_ALLOWED_CODES = {"x_bot"}


@pytest.mark.parametrize(("name", "params", "locale"), list(cases()))
def test_no_internal_code_or_json_reaches_a_person(renderer, name, params, locale):
    """Words, not codes (issue 16): an outcome's next step showed as 'sign_agreement'."""
    text, _entities = parse_html(renderer.render(locale, name, **params))
    codes = {m.group(0) for m in _CODE.finditer(text)} - _ALLOWED_CODES
    assert not codes, f"{name} in {locale} shows {sorted(codes)}"


def test_a_long_plan_says_the_holiday_calendar_note_once_per_year(renderer):
    """Issue 16: a 12-instalment summary repeated "2027年的法定节假日安排尚未公布…" four times."""
    from datetime import date

    from bot.domain.dates import Due, working_day
    from bot.domain.plans import Plan
    from handlers.commit import CommitDraft
    from tests.unit.case_template_samples import summary

    dues = [Due(date(2027, month, 15), False) for month in range(1, 13)]
    plan = Plan("每月15号 共12期", tuple(dues), kind="monthly", day=15, count=12)
    text = renderer.render(
        "zh_Hans", "commit/summary", summary=summary(),
        data=CommitDraft(money=300_000, plan=plan),
        dues=[(due, 100_000) for due in dues],
        workdays={due.date: working_day(due.date) for due in dues}, check=None,
    )  # fmt: skip
    assert text.count("2027年的法定节假日安排尚未公布") == 1
    assert text.count("是周末") == 2  # 15 May is a Saturday, 15 August a Sunday
    assert len(text.splitlines()) <= 20


def test_a_waiting_request_in_the_digest_says_what_was_asked(renderer):
    """Issue 16: the digest's waiting request showed only the borrower and who asked; the
    question itself was only in the export, as JSON."""
    detail = renderer.render(
        "zh_Hans", "digest/approval", borrower="王建国", contract="DC2024-0102", name="张伟",
        asked="2026-12-08", reasons=["fee_waiver"],
        proposal={"detail": "明天若当场还3万，罚息18,000元能否免除？"},
    )  # fmt: skip
    assert "请示内容：明天若当场还3万，罚息18,000元能否免除？" in detail
    assert "需要您批准的原因：减免费用" in detail
    plan = renderer.render(
        "en", "digest/approval", borrower="王建国", contract="DC2024-0102", name="张伟",
        asked="2026-12-08", reasons=["long_plan"],
        proposal={"money_today": 300_000, "gap": 0,
                  "dues": [["2026-12-25", 500_000], ["2027-01-25", 500_000]]},
    )  # fmt: skip
    assert "Money today: CN¥3,000.00" in plan
    assert "2 instalments, CN¥10,000.00, first Fri, Dec 25, 2026" in plan
    assert "Why it needs you: a long plan" in plan


@pytest.mark.parametrize("locale", ["zh_Hans", "zh_Hant"])
def test_a_prep_questions_part_is_named_once_and_with_its_own_strategy(renderer, locale):
    """Issue 16: "知己知彼 · 策略1 知己知彼" said the part twice, and the colleague's informal chat
    first was labelled 策略7 (it is 策略4, attack as defence)."""
    for sample in SAMPLES["prep/ask"]:
        text, _ = parse_html(renderer.render(locale, "prep/ask", **sample))
        header = text.splitlines()[1]
        words = [w for w in re.split(r"[ ·]+", header) if w]
        assert len(words) == len(set(words)), header
        if sample["step"] in ("pre_chat_by", "open_questions"):
            assert "策略4" in header, header


def test_the_outcome_questions_read_as_a_person_asks_them(renderer):
    """Issue 16: the question and the plan on one line ("这次谈判达到预定目标了吗？ 计划：…"),
    the jargon "（目标1）", and a receipt photo not acknowledged."""
    from tests.unit.commit_template_samples import PARAMS

    data = {"planned_step": "money_today", "planned_step_text": None, "receipt": None}
    achieved = renderer.render("zh_Hans", "outcome/ask", **PARAMS, step="achieved",
                               data=data, known=None)  # fmt: skip
    question, plan = achieved.splitlines()[-2:]
    assert question.endswith("？")
    assert plan.startswith("计划")
    money = renderer.render("zh_Hans", "outcome/ask", **PARAMS, step="money", data=data,
                            known=None)  # fmt: skip
    assert "目标1" not in money
    with_receipt = {**data, "receipt": {"file_id": "x"}}
    after_receipt = renderer.render("en", "outcome/ask", **PARAMS, step="next_step",
                                    data=with_receipt, known=None)  # fmt: skip
    assert "Receipt photo kept with this meeting." in after_receipt


def test_the_card_opens_with_what_matters_now(renderer):
    """Issue 16: the promise and the prep's state were below the fold of a ~35-line card. What
    the collector acts on (owed, the next instalment, broken promises, the next step and its
    date, the plan) now comes before the borrower's and the loan's details."""
    from dataclasses import replace as replaced

    from tests.unit.case_template_samples import FILE, VIEW
    from tests.unit.commit_template_samples import COMMITMENT, MEETING

    summary = replaced(FILE.summary, paid_since_figures=300_000, broken_promises=1,
                       promise_dates=(COMMITMENT.instalments[0].due_on,))  # fmt: skip
    text, _ = parse_html(renderer.render(
        "zh_Hans", "cases/card", card=VIEW, case_file=FILE, summary=summary,
        meetings=[replaced(MEETING, next_step="sign_agreement")], commitments=[COMMITMENT],
        current=COMMITMENT, unsettled=1, stalled=False,
    ))  # fmt: skip
    lines = text.splitlines()
    first_screen = "\n".join(lines[:14])
    for now in (
        "💰 目前尚欠",
        "📅 下一期",
        "⚠️ 未兑现的承诺",
        "➡️ 下一步：达成偿还本费协议",
        "还款承诺：",
    ):
        assert now in first_screen, now
    assert text.index("还款承诺：") < text.index("逾期本金")
    # The borrower's and the loan's details are one tap away (📄), not below the fold.
    assert "借款人\n" not in text
    details, _ = parse_html(renderer.render(
        "zh_Hans", "cases/file", card=VIEW, case_file=FILE, summary=summary))  # fmt: skip
    assert "借款人\n" in details


@pytest.mark.parametrize("offer", [{"amount": 700_000}, {"date": "2026-12-20"}])
def test_a_counter_offer_to_a_fee_waiver_says_the_waiver_is_not_granted(renderer, offer):
    """Issue 16: '↩️ 李组长提出了还价：2026年12月15日周二' did not say whether the waiver was
    granted."""
    from dataclasses import replace

    from bot.domain.commitments import ApprovalStatus
    from tests.unit.commit_template_samples import approval

    asked = replace(approval(ApprovalStatus.COUNTERED, offer), reasons=frozenset({"fee_waiver"}))
    asked = replace(asked, proposal={**asked.proposal, "waiver": "罚息18,000元"})
    told = renderer.render("zh_Hans", "commit/answer_for_collector", approval=asked)
    assert "申请减免：罚息18,000元" in told
    assert "还价只改方案：所申请的费用减免不予批准。" in told
    plain = replace(approval(ApprovalStatus.COUNTERED, offer), reasons=frozenset({"below_target"}))
    assert "减免" not in renderer.render("zh_Hans", "commit/answer_for_collector", approval=plain)
