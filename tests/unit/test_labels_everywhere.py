"""Every value of every enumeration a person can see, in every place that shows it, in every
language, reads as words (issue 16, item 5: "No internal code, JSON or fen in anything a person
reads").

The enumerations are found, not listed: every ``Enum`` and every ``Literal`` declared in the
bot's packages (``bot``, ``handlers``, ``reminders``), every ``*_LABELS`` dict, every flow's
buttons, every export column that holds a code. Each enumeration is either given the places a
person sees it (:data:`SHOWN`: a template, a ``_words`` macro, a button label, an export
column) or said to be internal with the reason why (:data:`INTERNAL`); a new enumeration that is
neither fails :func:`test_every_enumeration_is_shown_in_words_or_said_to_be_internal`, and a new
value of a known one is rendered with the others. Each (place, value, language) is rendered
through the real path — the templates and macros with the catalogs, ``bot.exports._values`` for
a sheet's cells, ``context.label`` for buttons — and refused when it shows:

- a snake_case code or JSON (``sign_agreement``, ``{"money_today": …}``),
- the raw value (``office``, ``countered``) in Chinese, or any Latin word other than a few a
  Chinese reader writes so too (POS, CSV, XLSX…),
- the English words in a Chinese language (an untranslated msgid),
- the same words for two values (a new value falling into a macro's ``else``, which says
  "a fee waiver" or "written off"),
- an amount in fen where money belongs (a bare integer of five digits or more).

Run with ``-s`` to see how many combinations were rendered.
"""

from __future__ import annotations

import enum
import importlib
import pkgutil
import re
import typing
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, fields, is_dataclass, replace
from datetime import date, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import bot
import handlers
import reminders
from bot import exports, imports, labels
from bot.domain.casefile import LeadReason
from bot.domain.cases import Attitude, CaseStatus, PartyRole
from bot.domain.commitments import (
    Achieved,
    ApprovalReason,
    ApprovalStatus,
    Channel,
    CommitmentStatus,
    InstalmentStatus,
)
from bot.domain.dates import WorkdayCheck
from bot.domain.digest import Counted, DrillDown, LegalClockKind, LegalLists
from bot.domain.importing import FileProblem
from bot.domain.instalments import Answer, MissReason
from bot.domain.ledger import LedgerField, RowError, RowErrorCode
from bot.domain.legal import AlertAction, ClaimState, GuaranteeKind, LegalAlert, LegalEventKind
from bot.domain.people import InviteProblem, Role
from bot.domain.prep import (
    Approach,
    Business,
    Capacity,
    Character,
    Concession,
    FigureField,
    FileQuality,
    LegalQuestion,
    MeetingKind,
    MeetingStep,
    OpenQuestion,
    TalkingPoint,
    Venue,
    Warning,
    WeakPoint,
)
from bot.domain.reminders import ReminderKind
from bot.domain.unknowns import Unknown
from bot.domain.urgency import WEIGHTS, Deterioration
from bot.flows import Buttons, Choices, Option, flows
from bot.i18n import SUPPORTED_LOCALES
from bot.render import Renderer
from handlers.assign import REASON_LABELS as ASSIGN_REASONS
from handlers.instalments import REASON_LABELS as MISS_REASONS
from handlers.invite import ROLE_LABELS
from handlers.outcome import ACHIEVED_LABELS, STANCE_LABELS
from tests.domain.digest_samples import legal_item
from tests.unit.case_template_samples import FILE, VIEW
from tests.unit.commit_template_samples import APPROVALS, COMMITMENT, MEETING
from tests.unit.instalment_template_samples import KEPT
from tests.unit.prep_template_samples import FULL_BRIEF as BRIEF
from tests.unit.test_exports import demo as demo  # the demo cooperative (a fixture)
from tests.unit.test_templates import SAMPLES, user
from tgemu import parse_html

TZ = ZoneInfo("Asia/Shanghai")
TODAY = date(2026, 12, 8)
RENDERER = Renderer(TZ)

#: At least this many (place, value, language) combinations are rendered: a floor, so a change
#: that silently drops places from this test fails it.
FLOOR = 1400

# -- what a person must never see ----------------------------------------------------------------

_CODE = re.compile(
    r"\b[a-z]+(?:_[a-z0-9]+)+\b|\b[a-z]{2,}\.[a-z][a-z_0-9]+\b|[{\[]\s*\"|\"\s*:\s*[\d\"\[{]"
)
_CJK = re.compile(r"[\u3400-\u9fff]")
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
#: Latin a Chinese reader writes as is.
_LATIN_OK = {"POS", "PDF", "XLSX", "CSV", "ZIP", "Excel", "ID", "Telegram"}
#: An amount in fen: a bare integer of five digits or more (yuan are written 3,000.00).
_FEN = re.compile(r"(?<![\d,.\-])\d{5,}(?![\d,.])")


def _plain(text: str) -> str:
    try:
        return parse_html(text)[0]
    except Exception:  # a cell or a label: plain text already
        return text


# -- the places a value is seen ------------------------------------------------------------------

Render = Callable[[str, Any], str]


@dataclass(frozen=True)
class Place:
    """Where a person sees an enumeration's value: ``render(locale, value)`` gives the words.

    ``whole`` is a whole message (its samples hold Latin names, contract numbers): instead of
    refusing every Latin word, it refuses the raw value shown as a word. ``money`` marks a
    place that shows amounts (checked for fen)."""

    name: str
    render: Render
    whole: bool = False
    money: bool = False
    #: Values a person may see as they are (a file's extension: .xls).
    raw_ok: frozenset[str] = frozenset()
    #: The values this place offers, when not every value (a table of button labels).
    values: tuple[Any, ...] | None = None


_compiled: dict[tuple[str, str], Any] = {}


def rendered(locale: str, source: str, **ctx: Any) -> str:
    """``source`` (a macro's call) rendered in ``locale`` by the bot's own environment."""
    key = (locale, source)
    if key not in _compiled:
        _compiled[key] = RENDERER._envs[locale].from_string(source)
    return str(_compiled[key].render(**ctx))


def macro(module: str, call: str, **ctx: Any) -> Place:
    """A ``_words`` macro called with the value as ``v``."""
    source = f'{{% import "{module}" as w %}}{{{{ {call} }}}}'

    def render(locale: str, value: Any) -> str:
        return rendered(locale, source, v=value, **ctx)

    return Place(f"{module}:{call.split('(')[0].removeprefix('w.')}", render)


def template(name: str, build: Callable[[Any], dict[str, Any]], tag: str = "", **kw: Any) -> Place:
    """A whole template, its parameters built for the value (``tag``: which line of it)."""
    where = f"{name}:{tag}" if tag else name
    return Place(where, lambda loc, v: RENDERER.render(loc, name, **build(v)), whole=True, **kw)


def card(**params: Any) -> dict[str, Any]:
    """The case card's parameters (templates/cases/card), with ``params`` changed."""
    return {"card": VIEW, "case_file": FILE, "summary": FILE.summary, **params}


def sample(name: str, i: int = 0) -> dict[str, Any]:
    return dict(SAMPLES[name][i])


def prep_label(kind: str) -> Place:
    """A button and the brief's word for an answer (bot.labels.options → prep/label)."""
    return Place(
        f"prep/label:{kind}",
        lambda loc, v: RENDERER.render(loc, "prep/label", kind=kind, code=str(v)),
    )


def label_dict(name: str, table: dict[Any, str]) -> Place:
    """A button whose words are an ``N_`` label (``context.label``)."""
    return Place(name, lambda loc, v: RENDERER.label(loc, table[v]), values=tuple(table))


# -- the export's columns ------------------------------------------------------------------------


def _request(locale: str) -> exports.ExportRequest:
    period = exports.make_period(TODAY - timedelta(days=6), TODAY, TZ)
    return exports.ExportRequest(user(Role.ADMIN), None, period, TZ, TODAY, locale)


def column(sheet_key: str, field: str, status: str | None = None) -> Place:
    """A sheet's cell, through ``bot.exports._values`` (what the XLSX and the CSV write). A
    value given as ``(status, value)`` sets the row's status too (why a commitment ended)."""
    (sheet,) = [s for s in exports.SHEETS if s.key == sheet_key]
    index = [c.field for c in sheet.columns].index(field)

    def render(locale: str, value: Any) -> str:
        row = {c.field: None for c in sheet.columns}
        row["overdue_since"] = TODAY
        if isinstance(value, tuple):
            row["status"], value = value
        row[field] = value.value if isinstance(value, enum.Enum) else value
        cell = exports._values(sheet, SimpleNamespace(**row), _request(locale))[index]
        return "" if cell is None else str(cell)

    money = field in ("proposal", "counter")
    return Place(f"export:{sheet_key}.{field}", render, money=money)


#: What each export column that holds a code holds (a value, or (row status, value)).
PROPOSALS = [
    {"detail": "明天若当场还3万，罚息18,000元能否免除？"},
    {"money_today": 300_000, "gap": 0, "dues": [["2026-12-25", 500_000], ["2027-01-25", 500_000]]},
    {"money_today": 0, "gap": 1_020_000, "dues": [["2027-03-15", 1_200_000]]},
    {"money_today": 2_000_000},
]
COUNTERS = [
    {"amount": 2_400_000},
    {"date": "2026-12-15"},
    {"amount": 900_000, "date": "2027-01-04"},
]
END_REASONS = [
    ("amended", "replaced by 7"),
    ("rejected", "rejected"),
    ("rejected", "countered"),
    ("cancelled", "withdrawn"),
]
#: Where payments come from (the ``source`` the storage writes; no enum declares it).
SOURCES = ["outcome", "commit", "reminder"]
EXPORT_VALUES: dict[tuple[str, str], Sequence[Any]] = {
    ("cases", "status"): list(CaseStatus),
    ("meetings", "kind"): list(MeetingKind),
    ("meetings", "venue"): list(Venue),
    ("meetings", "step_achieved"): list(Achieved),
    ("meetings", "stance"): [],  # filled from the outcome's own buttons below
    ("meetings", "next_step"): list(MeetingStep),
    ("commitments", "status"): list(CommitmentStatus),
    ("commitments", "end_reason"): END_REASONS,
    ("instalments", "status"): list(InstalmentStatus),
    ("instalments", "miss_reason"): [*MissReason, "no_money,refused", "later,other"],
    ("payments", "channel"): list(Channel),
    ("payments", "source"): SOURCES,
    ("approvals", "reasons"): [*ApprovalReason, "fee_waiver,long_plan"],
    ("approvals", "status"): list(ApprovalStatus),
    ("approvals", "proposal"): PROPOSALS,
    ("approvals", "counter"): COUNTERS,
    # The legal clocks' sheet (issue 19): which clock, where it stands, what set its last day.
    ("legal", "clock"): [*LegalClockKind, "mortgage"],
    ("legal", "state"): list(
        dict.fromkeys(["running", "expired", "suspended", "no_due_date", *ClaimState])
    ),
    ("legal", "set_by"): ["due_date", "overdue_since", "agreed_period", *LegalEventKind],
}


def _shows_codes(col: exports.Column) -> bool:
    return col.kind == "word" or (
        col.get is not None and col.get.__qualname__.startswith("_worded")
    )


# -- the registry: every enumeration, where it is seen -------------------------------------------


EXPORT_VALUES[("meetings", "stance")] = list(STANCE_LABELS)


def _reminder(kind: ReminderKind) -> dict[str, Any]:
    from tests.unit.reminder_template_samples import TODAY as DAY
    from tests.unit.reminder_template_samples import batches, due

    when = {"due": DAY, "follow_up": DAY - timedelta(days=1), "heads_up": DAY + timedelta(days=1)}
    return batches([due(1, kind, when[kind.value], name="陈秀英")])[0].params


def _unknown(code: Unknown) -> Any:
    return SimpleNamespace(
        code=code.value, count=1, role="guarantor", name=None, phones=1, attitudes=0
    )


def _vague(locale: str, kind: str) -> str:
    """A vague phrase refused, quoting the collector's words (in their language)."""
    phrase = "mid-month" if locale == "en" else "月中"
    source = '{% import "commit/_dates.j2" as w %}{{ w.vague({"kind": k, "phrase": p}) }}'
    return rendered(locale, source, k=kind, p=phrase)


def _day_off(locale: str, reason: str | None) -> str:
    check = WorkdayCheck(
        is_working_day=reason is None,
        reason=reason,  # type: ignore[arg-type]
        holiday="National Day" if reason == "holiday" else None,
        next_working_day=date(2027, 10, 8),
        known=True,
    )
    source = '{% import "commit/_dates.j2" as w %}{{ w.day_off(c, d) }}'
    return rendered(locale, source, c=check, d=date(2027, 10, 2))


#: A next step due, as /today lists it.
STEP = SAMPLES["cases/queue"][4]["steps"][0]

#: A change of lead collector, as /assign reports it.
CHANGE = SAMPLES["assign/done"][0]["change"]

#: The states an answered instalment shows in place of its buttons.
ANSWERED = (
    InstalmentStatus.KEPT,
    InstalmentStatus.PARTIAL,
    InstalmentStatus.BROKEN,
    InstalmentStatus.CANCELLED,
)


#: Every enumeration a person can see, and each place that shows it. Keys are the enum class,
#: or "module.Name" for a Literal.
SHOWN: dict[Any, list[Place]] = {
    CaseStatus: [
        macro("cases/_words.j2", "w.status(v)"),
        template(
            "cases/card", lambda v: card(summary=replace(FILE.summary, status=v)), tag="status"
        ),
        column("cases", "status"),
    ],
    PartyRole: [macro("cases/_words.j2", "w.role(v)"), prep_label("role")],
    GuaranteeKind: [macro("cases/_legal.j2", "w.kind(v)"), column("legal", "guarantee_kind")],
    LegalEventKind: [macro("cases/_legal.j2", "w.event(v)"), column("legal", "set_by")],
    AlertAction: [
        Place(
            "cases/_legal.j2:action",
            lambda loc, v: rendered(
                loc,
                '{% import "cases/_legal.j2" as w %}{{ w.action(a) }}',
                a=LegalAlert(
                    1,
                    date(2026, 12, 18),
                    10,
                    v,
                    party_id=7,
                    party_name="Li Bao" if loc == "en" else "李保",
                ),
            ),
        )
    ],
    Attitude: [macro("cases/_words.j2", "w.attitude(v)"), prep_label("stance")],
    LeadReason: [
        macro("cases/_words.j2", "w.lead_reason(v)"),
        label_dict("handlers.assign.REASON_LABELS", ASSIGN_REASONS),
        template(
            "assign/done",
            lambda v: {**sample("assign/done"), "change": replace(CHANGE, reason=v, note=None)},
        ),
    ],
    Unknown: [macro("cases/_words.j2", "w.unknown(u(v))", u=_unknown)],
    Deterioration: [
        Place(
            "cases/_words.j2:reason (deterioration)",
            macro(
                "cases/_words.j2",
                'w.reason("deterioration." ~ v, s, 90)',
                s=SimpleNamespace(growth=0),
            ).render,
        )
    ],
    Channel: [
        label_dict("bot.labels.CHANNEL_LABELS", labels.CHANNEL_LABELS),
        column("payments", "channel"),
    ],
    Achieved: [
        label_dict("handlers.outcome.ACHIEVED_LABELS", ACHIEVED_LABELS),
        column("meetings", "step_achieved"),
    ],
    CommitmentStatus: [
        template(
            "cases/card",
            lambda v: card(current=replace(COMMITMENT, status=v), commitments=[]),
            tag="commitment",
            values=(CommitmentStatus.AGREED, CommitmentStatus.PENDING_APPROVAL),
        ),
        template(
            "cases/card",
            lambda v: card(commitments=[replace(COMMITMENT, status=v, end_reason="withdrawn")]),
            tag="earlier commitments",
            values=(CommitmentStatus.CANCELLED, CommitmentStatus.AMENDED),
        ),
        column("commitments", "status"),
    ],
    InstalmentStatus: [
        *(
            template(name, lambda v: {"instalment": replace(KEPT, status=v)}, values=ANSWERED)
            for name in ("instalments/label", "instalments/already")
        ),
        column("instalments", "status"),
    ],
    ApprovalStatus: [
        *(
            template(
                name,
                lambda v: {"approval": replace(APPROVALS[3], status=v)},
                values=(ApprovalStatus.APPROVED, ApprovalStatus.REJECTED, ApprovalStatus.COUNTERED),
                money=True,
            )
            for name in ("commit/answered", "commit/answer_for_collector")
        ),
        column("approvals", "status"),
    ],
    ApprovalReason: [
        macro("commit/_approval.j2", "w.reasons([v])"),
        column("approvals", "reasons"),
    ],
    MissReason: [
        macro("digest/_words.j2", "w.reasons(v)"),
        label_dict("handlers.instalments.REASON_LABELS", MISS_REASONS),
        template(
            "instalments/broken_for_supervisor",
            lambda v: {**sample("instalments/broken_for_supervisor"), "reasons": [v.value]},
            money=True,
        ),
        column("instalments", "miss_reason"),
    ],
    Answer: [
        label_dict(
            "bot.labels.answer_rows",
            {
                Answer.PAID: labels.PAID,
                Answer.PARTIAL: labels.PARTIAL,
                Answer.MISSED: labels.MISSED,
            },
        )
    ],
    Role: [
        template("whoami/whoami", lambda v: {"user": user(v, "王五"), "language": "中文"}),
        template(
            "users/card", lambda v: {"target": user(v, "王五"), "changed": True, "open_cases": 0}
        ),
        template("notify/invite_used", lambda v: {"name": "王五", "role": v.value, "team": "东城"}),
        label_dict("handlers.invite.ROLE_LABELS", ROLE_LABELS),
    ],
    InviteProblem: [
        template("start/invite_problem", lambda v: {"problem": v.value, "telegram_id": 1}),
    ],
    FileProblem: [
        template(
            "imports/refused",
            lambda v: {"problem": v.value, "file_name": "台账"},
            raw_ok=frozenset({"xls"}),
        ),
    ],
    ClaimState: [column("legal", "state")],
    LegalClockKind: [
        column("legal", "clock"),
        template(
            "digest/legal",
            lambda v: {
                "legal": LegalLists(
                    Counted([legal_item(v, 10, "李保", GuaranteeKind.JOINT)], 1), 1, Counted([], 0)
                )
            },
        ),
    ],
    DrillDown: [
        template(
            "digest/list",
            lambda v: {
                **next(p for p in SAMPLES["digest/list"] if p["kind"] == v.value),
                "who": "王五",
            },
            money=True,
        ),
    ],
    ReminderKind: [template("reminders/due", _reminder)],
    LedgerField: [label_dict("bot.imports.FIELD_NAMES", imports.FIELD_NAMES)],
    RowErrorCode: [
        Place(
            "bot.imports.reason_text",
            lambda loc, v: imports.reason_text(
                RowError(3, v, LedgerField.OVERDUE_PRINCIPAL, "¥1", "2"),
                {},
                lambda m: RENDERER.label(loc, m),
            ),
            whole=True,
        )
    ],
    Capacity: [prep_label("capacity")],
    Business: [prep_label("business")],
    Character: [prep_label("character")],
    WeakPoint: [prep_label("weak_point")],
    FileQuality: [prep_label("file_quality")],
    LegalQuestion: [prep_label("legal")],
    FigureField: [prep_label("figure")],
    Concession: [prep_label("concession")],
    MeetingKind: [
        prep_label("kind"),
        template(
            "prep/brief",
            lambda v: {**sample("prep/brief"), "brief": replace(BRIEF, kind=v)},
            tag="kind",
        ),
        column("meetings", "kind"),
    ],
    Venue: [
        prep_label("venue"),
        template(
            "prep/brief",
            lambda v: {**sample("prep/brief"), "brief": replace(BRIEF, venue=v)},
            tag="venue",
        ),
        column("meetings", "venue"),
    ],
    MeetingStep: [
        prep_label("step"),
        template(
            "outcome/saved",
            lambda v: {**sample("outcome/saved"), "meeting": replace(MEETING, next_step=v)},
        ),
        template(
            "cases/card", lambda v: card(meetings=[replace(MEETING, next_step=v)]), tag="next step"
        ),
        template(
            "cases/queue",
            lambda v: {**sample("cases/queue", 4), "steps": [replace(STEP, next_step=v)]},
            tag="/today's next steps",
        ),
        column("meetings", "next_step"),
    ],
    Approach: [prep_label("approach")],
    TalkingPoint: [prep_label("point")],
    OpenQuestion: [prep_label("question"), prep_label("question_short")],
    Warning: [prep_label("warning")],
    "bot.domain.dates.VagueKind": [
        Place("commit/_dates.j2:vague", _vague),
    ],
    "bot.domain.dates.Recurrence.kind": [
        macro(
            "commit/_dates.j2",
            'w.recurrence({"kind": v, "weekday": 2, "day": 25, "count": 4, "until": none})',
        ),
    ],
    "bot.domain.dates.WorkdayCheck.reason": [Place("commit/_dates.j2:day_off", _day_off)],
    "bot.exports.Format": [],  # the export flow's buttons (checked with every flow's buttons)
}


# -- codes that are strings, not enums: found in the source that raises them ---------------------

ROOT = Path(__file__).resolve().parents[2]


def codes_in(pattern: str, *files: str) -> list[str]:
    """Every string literal matching ``pattern`` in ``files`` (the code that raises them), so a
    code added there is rendered here."""
    found: set[str] = set()
    for name in files:
        found |= set(re.findall(rf'"({pattern})"', (ROOT / name).read_text(encoding="utf-8")))
    return sorted(found)


def _refusal(locale: str, code: str) -> str:
    """A refused date, schedule or amount (commit/_dates.j2:refusal), with every parameter."""
    params = {
        "text": "15/3" if locale == "en" else "下月中",
        "phrase": "月中",
        "kind": "period",
        "date": "2026-12-01",
        "years": 3,
        "first": "2027-03-04",
        "second": "2027-04-03",
        "until": "2026-12-01",
        "count": 60,
        "limit": 48,
        "value": "5000",
        "debt": "3040000",
    }
    if locale == "en":
        params["phrase"] = "mid-month"
    source = '{% import "commit/_dates.j2" as w %}{{ w.refusal(e) }}'
    error = SimpleNamespace(code=code, params=params)
    return rendered(locale, source, e=error)


def _export_date(locale: str, code: str) -> str:
    error = SimpleNamespace(
        code=code,
        params={"text": "3/4", "date": "2026-12-31", "first": "2027-03-04", "second": "2027-04-03"},
    )
    return RENDERER.render(locale, "export/bad_date", error=error)


def _figure_problem(locale: str, code: str) -> str:
    field = code.removeprefix("figure.").split("_")[0]
    problem = SimpleNamespace(
        code=code,
        field=field if field in {"bottom", "target", "opening"} else "target",
        params={"debt": 3_040_000, "bottom": 600_000, "target": 800_000, "opening": 1_200_000},
    )
    source = '{% import "prep/_words.j2" as w %}{{ w.figure_problem(p) }}'
    return rendered(locale, source, p=problem)


def _ledger(locale: str, code: str) -> str:
    (params,) = [p for p in SAMPLES["imports/unreadable"] if p["code"] == "ledger.too_large"]
    return RENDERER.render(locale, "imports/unreadable", **{**params, "code": code})


def _suggestions() -> list[str]:
    from bot.domain.prep import _CANDIDATES

    return sorted(
        {c for codes in _CANDIDATES.values() for c in codes}
        | {f"same_as_{f.value}" for f in FigureField}
    )


#: Codes kept as strings (a reason for an urgency score, a refused date), each with where it is
#: read; found in the code that makes them.
CODES: list[tuple[str, Sequence[str], Place]] = [
    (
        "urgency reasons (bot.domain.urgency.WEIGHTS)",
        sorted(WEIGHTS),
        macro("cases/_words.j2", "w.reason(v, s, 90)", s=SimpleNamespace(growth=1_200_000)),
    ),
    (
        "refused dates and amounts (DateError, AmountError)",
        [
            c
            for c in codes_in(
                r"(?:date|schedule|amount)\.[a-z_]+", "bot/domain/dates.py", "bot/domain/money.py"
            )
            if c != "date.future"
        ],
        Place("commit/_dates.j2:refusal", _refusal),
    ),
    (
        "a refused export day (parse_past_date)",
        ["date.future", "date.ambiguous", "date.unparseable"],
        Place("export/bad_date", _export_date, whole=True),
    ),
    (
        "refused figures (bot.domain.prep.check_figure)",
        codes_in(r"figure\.[a-z_]+", "bot/domain/prep.py")
        + [f"figure.{f.value}_above_debt" for f in FigureField],
        Place("prep/_words.j2:figure_problem", _figure_problem),
    ),
    (
        "suggested amounts (bot.domain.prep.figure_suggestions)",
        _suggestions(),
        Place(
            "prep/label:suggestion",
            lambda loc, v: RENDERER.render(
                loc, "prep/label", kind="suggestion", code=SimpleNamespace(code=v, amount=1_200_000)
            ),
        ),
    ),
    (
        "why the bot cannot reach a collector (the outbox)",
        codes_in(r"blocked|not_found", "bot/storage/stores/outbox.py"),
        template(
            "notify/collector_unreachable",
            lambda v: {"name": "张伟", "reason": v, "reminders": 2},
        ),
    ),
    (
        "unreadable ledgers (bot.domain.ledger)",
        codes_in(r"ledger\.[a-z_]+", "bot/domain/ledger.py", "bot/imports.py"),
        Place("imports/unreadable", _ledger, whole=True),
    ),
]


#: Enumerations no person reads as a word, and why.
INTERNAL: dict[str, str] = {
    "bot.domain.casefile.LedgerGap": "each gap changes its own card line ('not in the file')",
    "bot.domain.ledger._F": "LedgerField's members as plain attributes for the row parser",
    "bot.domain.legal.DueBasis": "where the due date came from; each basis has its own line",
    "bot.domain.legal.DocumentKind": "a stored paper's kind; shown through LegalEventKind",
    "bot.domain.importing.RowChange": "keys of the dry run's counts; each count has its sentence",
    "bot.domain.reminders.ReminderStatus": "the poller's bookkeeping",
    "bot.exports.Kind": "how a column is written (money, date…), never a cell",
    "bot.flows.Outcome": "what starting a flow did, for the caller",
    "bot.storage.records.FlowStatus": "a flow's row; each end has its own message (flows/*)",
    "bot.storage.records.ImportStatus": "an upload's row; once done, imports/already_done says so",
}


# -- discovery ----------------------------------------------------------------------------------


def _modules() -> Iterable[Any]:
    for package in (bot, handlers, reminders):
        yield package
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            if info.name.endswith("__main__"):
                continue
            yield importlib.import_module(info.name)


def _literal(tp: Any) -> tuple[str, ...] | None:
    """The values of a Literal (or of an optional Literal), else None."""
    if typing.get_origin(tp) is typing.Literal:
        return tuple(str(a) for a in typing.get_args(tp))
    for arg in typing.get_args(tp):
        found = _literal(arg)
        if found:
            return found
    return None


def _constants(cls: type) -> tuple[str, ...]:
    """The values of a class that is only a set of string constants (``FlowStatus.OPEN``)."""
    names = [n for n in vars(cls) if not n.startswith("_")]
    if not names or not all(n.isupper() and isinstance(vars(cls)[n], str) for n in names):
        return ()
    return tuple(vars(cls)[n] for n in names)


def discovered() -> dict[str, Any]:
    """Every Enum and Literal declared in the bot's packages, by qualified name: an Enum's
    class, a Literal's values."""
    found: dict[str, Any] = {}
    literals: dict[tuple[str, ...], str] = {}
    for module in _modules():
        for name, obj in vars(module).items():
            where = getattr(obj, "__module__", module.__name__)
            if isinstance(obj, type) and issubclass(obj, enum.Enum):
                if where == module.__name__:
                    found[f"{where}.{obj.__qualname__}"] = obj
            elif isinstance(obj, type) and where == module.__name__ and _constants(obj):
                found[f"{where}.{obj.__qualname__}"] = _constants(obj)
            elif typing.get_origin(obj) is typing.Literal and not name.startswith("_"):
                literals.setdefault(_literal(obj) or (), f"{module.__name__}.{name}")
            if isinstance(obj, type) and is_dataclass(obj) and where == module.__name__:
                try:
                    hints = typing.get_type_hints(obj)
                except Exception:
                    continue
                for f in fields(obj):
                    values = _literal(hints.get(f.name))
                    if values:
                        literals.setdefault(values, f"{where}.{obj.__qualname__}.{f.name}")
    # A Literal is named once, where it is first declared (a field typed with a module's
    # alias, or an alias re-exported by a package, is that alias).
    found.update({name: values for values, name in literals.items()})
    return found


def _key(k: Any) -> str:
    return k if isinstance(k, str) else f"{k.__module__}.{k.__qualname__}"


def _values(key: Any, every: dict[str, Any]) -> list[Any]:
    if isinstance(key, type):
        return list(key)
    return [v for v in every[key] if v != "None"]


# -- the tests -----------------------------------------------------------------------------------


def test_every_enumeration_is_shown_in_words_or_said_to_be_internal():
    """A new Enum or Literal in bot/, handlers/ or reminders/ must say where a person sees it
    (and so gets a label checked here in all three languages) or why no one does."""
    every = set(discovered())
    known = {_key(k) for k in SHOWN} | set(INTERNAL)
    assert sorted(every - known) == [], "new enumerations: add them to SHOWN or INTERNAL"
    assert sorted(known - every) == [], "gone: remove them from SHOWN / INTERNAL"


def test_every_export_column_that_holds_a_code_is_rendered_here():
    holding = {(s.key, c.field) for s in exports.SHEETS for c in s.columns if _shows_codes(c)}
    assert sorted(holding - EXPORT_VALUES.keys()) == []
    assert sorted(EXPORT_VALUES.keys() - holding) == []


def test_every_label_table_covers_its_enum():
    """A ``*_LABELS`` dict keyed by an enum names every member it offers (a new member gets a
    label or is left out on purpose: the assign reasons offer only the reasons a person gives)."""
    offered_on_purpose = {"handlers.assign.REASON_LABELS": {LeadReason.IMPORT, LeadReason.FIRST}}
    missing = []
    for module in _modules():
        for name, table in vars(module).items():
            if not (name.endswith("_LABELS") and isinstance(table, dict) and table):
                continue
            first = next(iter(table))
            if isinstance(first, enum.Enum):
                qualified = f"{module.__name__}.{name}"
                left = set(type(first)) - set(table) - offered_on_purpose.get(qualified, set())
                missing += [f"{qualified}[{m.value}]" for m in left]
    assert missing == []


def test_every_language_is_named_in_its_own_words():
    """The language buttons (/lang) name each language as its readers write it, never a code."""
    from bot.i18n import LANGUAGE_NAMES

    assert set(LANGUAGE_NAMES) == set(SUPPORTED_LOCALES)
    for code, name in LANGUAGE_NAMES.items():
        assert name != code
        assert not _CODE.search(name)
        assert bool(_CJK.search(name)) == code.startswith("zh")


@dataclass
class Found:
    place: str
    value: str
    locale: str
    problem: str
    text: str

    def __str__(self) -> str:
        return f"{self.place} · {self.value} · {self.locale}: {self.problem}: {self.text[:90]!r}"


def _raw(value: Any) -> str:
    return str(value.value if isinstance(value, enum.Enum) else value)


def _check(place: Place, value: Any, locale: str, text: str, english: str) -> list[str]:
    problems = []
    plain = _plain(text).strip()
    raw = _raw(value)
    if not plain:
        return ["nothing shown"]
    codes = set(_CODE.findall(plain)) - {"x_bot"}
    if codes:
        problems.append(f"code {sorted(codes)}")
    if place.money and _FEN.search(plain):
        problems.append("an amount in fen")
    if locale == "en":
        if _CJK.search(plain) and not place.whole and not _CJK.search(raw):
            problems.append("Chinese in English")
        return problems
    if plain == _plain(english).strip():
        problems.append("untranslated (same as English)")
    if not _CJK.search(plain) and not set(_LATIN_WORD.findall(plain)) <= _LATIN_OK:
        problems.append("no Chinese")
    if not place.whole:
        latin = set(_LATIN_WORD.findall(plain)) - _LATIN_OK
        if latin:
            problems.append(f"Latin words {sorted(latin)}")
    elif (
        raw not in place.raw_ok
        and re.fullmatch(r"[a-z_.,]+", raw)
        and re.search(rf"(?<![A-Za-z_]){re.escape(raw)}(?![A-Za-z_])", plain)
    ):
        problems.append(f"the raw value {raw!r}")
    return problems


def _combinations() -> Iterable[tuple[Place, Any]]:
    every = discovered()
    for key, places in SHOWN.items():
        for place in places:
            if place.name.startswith("export:"):
                continue
            for value in place.values if place.values is not None else _values(key, every):
                yield place, value
    for _what, values, place in CODES:
        for value in values:
            yield place, value
    for (sheet, field), values in EXPORT_VALUES.items():
        place = column(sheet, field)
        for value in values:
            yield place, value


def _option_labels() -> Iterable[tuple[Place, Any]]:
    """Every flow's buttons declared as a list (their N_ labels), and the buttons built by
    ``bot.labels.options`` (an enum's members through prep/label)."""
    for flow in flows().values():
        for step in flow.steps:
            given = step.input
            if not isinstance(given, (Buttons, Choices)):
                continue
            options = given.options
            where = f"flow {flow.name}.{step.name}"
            if callable(options):
                cells = dict(
                    zip(options.__code__.co_freevars, options.__closure__ or (), strict=True)
                )
                if "kind" in cells and "codes" in cells:
                    kind = cells["kind"].cell_contents
                    for code in cells["codes"].cell_contents:
                        yield prep_label(kind), code
                continue
            table = {o.value: o.label for o in options if isinstance(o, Option) and o.translate}
            place = Place(f"{where} (buttons)", lambda loc, v, t=table: RENDERER.label(loc, t[v]))
            for value in table:
                yield place, value
    presets = dict(exports.PRESETS)
    place = Place("bot.exports.PRESETS", lambda loc, v: RENDERER.label(loc, presets[v]))
    for key in presets:
        yield place, key


def test_every_value_reads_as_words_in_every_place_and_language():
    """Render every (place, value, language); report every one that shows a code, JSON, fen, an
    untranslated label, or the same words as another value."""
    found: list[Found] = []
    counted: Counter[str] = Counter()
    places: set[str] = set()
    seen: dict[tuple[str, str, str], str] = {}
    for place, value in [*_combinations(), *_option_labels()]:
        key = (place.name, _raw(value))
        if (place.name, key[1], "en") in seen:
            continue
        places.add(place.name)
        english = place.render("en", value)
        for locale in SUPPORTED_LOCALES:
            text = english if locale == "en" else place.render(locale, value)
            counted[locale] += 1
            seen[(place.name, key[1], locale)] = _plain(text).strip()
            for problem in _check(place, value, locale, text, english):
                found.append(Found(place.name, key[1], locale, problem, _plain(text)))
    # Two values, one wording: a value that fell into another's words (or a macro's "else").
    by_text: dict[tuple[str, str, str], list[str]] = {}
    for (name, value, locale), text in seen.items():
        by_text.setdefault((name, locale, text), []).append(value)
    for (name, locale, text), values in by_text.items():
        if len(values) > 1 and not any({*values} <= group for group in _SAME.get(name, [])):
            found.append(Found(name, "/".join(sorted(values)), locale, "same words", text))
    total = sum(counted.values())
    print(
        f"\nlabel test: {total} (place, value, language) combinations rendered over "
        f"{len(places)} places — " + ", ".join(f"{k} {v}" for k, v in sorted(counted.items()))
    )
    assert [str(f) for f in found] == [], "\n".join(str(f) for f in found)
    assert total >= FLOOR


#: Values that may share words in a place, and why.
_SAME: dict[str, list[set[str]]] = {
    # Both cells were cut off by Excel, and the same advice mends both.
    "bot.imports.reason_text": [{"bad_contract_no", "bad_id_number"}],
    # The days past due and the growth are the figures themselves; the band only weighs them.
    "cases/_words.j2:reason": [
        {"dpd.over_0", "dpd.over_30", "dpd.over_90", "dpd.over_180"},
        {"debt.growing", "debt.growing_fast"},
    ],
}


async def test_an_instalment_missed_for_two_reasons_reads_as_two_reasons_in_the_export(
    demo: Any,
) -> None:
    """Found by the label test: the instalments sheet's "Why missed" showed ``no_money,refused``
    (every reason of a miss is kept, comma-separated) where one reason showed as words."""
    import csv
    import io

    from tests.unit.test_exports import NOW as SEEDED
    from tests.unit.test_exports import TODAY as DAY

    storage, boss = demo[0], demo[1]["boss"]
    year = exports.ExportRequest(
        boss, None, exports.make_period(DAY - timedelta(days=180), DAY + timedelta(days=180), TZ),
        TZ, DAY, "zh_Hans", ("instalments",),
    )  # fmt: skip
    rows = []
    async for batch in storage.export_instalments(boss, year.period):
        rows += batch
    (open_one, *_) = [r for r in rows if r.status == "open"]
    later = open_one.due_on + timedelta(days=1)
    answered = await storage.answer_instalment(
        boss, open_one.id, Answer.MISSED, reason=["no_money", "refused"], today=later,
        grace_days=0, now=SEEDED + (later - DAY),
    )  # fmt: skip
    assert answered is not None
    assert answered.changed
    out = io.StringIO()
    await exports.write_csv(storage, year, "instalments", out)
    cells = {row["未还原因"] for row in csv.DictReader(io.StringIO(out.getvalue()))}
    assert "目前没钱、拒绝还款" in cells, cells
    assert not any("_" in c for c in cells)
