"""Preparing the next meeting (/prep): the pure rules behind the interview and the brief.

The source document puts the decisive step of a collection before the meeting. The interview
collects, in order:

1. **Know them** — 策略1 知己知彼: repayment capacity (还款能力), business condition (经营状况),
   character (品行/性格), weak points (弱点), the quality of the loan file (资料质量), each related
   party's stance (策略9 步步为营), social relations (社会关系) and the legal questions (法律疑问).
2. **Our lines** — 策略10 取上求中 and 策略6 留有余地: bottom line (底线), target (目标) and
   opening ask (开价), checked by :func:`check_figure`; which concessions need the supervisor.
3. **This meeting** — 策略2 立竿见影 and 策略3 主场作战: investigative visit (调查性谈话) or result
   meeting (成果性谈话), the venue, who attends, the one step it must achieve, the questions
   expected and our answers.
4. **Approach** — 策略7 攻心为上 (一户一策), 策略4 以攻为守, 策略8 首开先河: the counterpart's type
   gives the approach (:func:`approach_for`) and its talking points (:func:`talking_points`);
   open questions to ask first (:func:`open_questions`); a colleague's informal chat first.
5. **Money today** — 策略5 忌华而不实: what we ask for on the spot.

:func:`build_brief` turns the answers into the one-screen plan. Everything here is pure: no
I/O, no clock; money is ``int`` fen. Enum values are stable lowercase codes (stored in the
database as JSON, translated by ``templates/prep/_words.j2``); the Chinese term is beside each.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any, TypeVar

from bot.domain.cases import Attitude
from bot.domain.unknowns import Unknown
from bot.domain.urgency import Deterioration

__all__ = [
    "FIGURE_ORDER",
    "Approach",
    "Brief",
    "Business",
    "Capacity",
    "Character",
    "Concession",
    "FigureField",
    "FigureProblem",
    "Figures",
    "FileQuality",
    "LegalQuestion",
    "MeetingKind",
    "MeetingStep",
    "OpenQuestion",
    "PartyStance",
    "PrepAnswers",
    "Suggestion",
    "TalkingPoint",
    "UrgencyFromPrep",
    "Venue",
    "Warning",
    "WeakPoint",
    "approach_for",
    "build_brief",
    "check_figure",
    "check_figures",
    "figure_suggestions",
    "known_facts",
    "meeting_warnings",
    "money_today_required",
    "open_questions",
    "talking_points",
    "urgency_inputs",
]


# --- Know them (策略1 知己知彼) ---


class Capacity(StrEnum):
    """Repayment capacity (还款能力)."""

    NONE = "none"  # 无还款能力
    PARTIAL = "partial"  # 部分还款能力
    FULL = "full"  # 有全额还款能力


class Business(StrEnum):
    """Business condition (经营状况)."""

    RUNNING = "running"  # 正常经营
    DECLINING = "declining"  # 经营下滑
    STOPPED = "stopped"  # 停业


class Character(StrEnum):
    """The counterpart's character (品行/性格), the types of 策略7 攻心为上."""

    NOVICE_WEAK = "novice_weak"  # 新手或软弱型
    SOFT_HISTORY = "soft_history"  # 吃软不吃硬、有合作基础
    VAIN = "vain"  # 虚荣、好面子
    RESOLUTE = "resolute"  # 态度坚定果决 (策略6)
    OTHER = "other"  # 其他


class WeakPoint(StrEnum):
    """Weak or pressure points (弱点、痛点) to press on."""

    REPUTATION = "reputation"  # 声誉、名声
    FAMILY = "family"  # 家庭
    BUSINESS_LICENCE = "business_licence"  # 营业执照、经营资质
    GUARANTOR_RELATIONSHIP = "guarantor_relationship"  # 与担保人的关系
    COURT_RECORD = "court_record"  # 诉讼记录、失信记录


class FileQuality(StrEnum):
    """Quality of the loan file and its documents (材料质量)."""

    COMPLETE = "complete"  # 资料齐全
    GAPS = "gaps"  # 资料有缺漏
    DEFECTS = "defects"  # 资料有瑕疵


class LegalQuestion(StrEnum):
    """Legal questions the process may raise (流程可能存在的法律疑问)."""

    GUARANTEE_VALIDITY = "guarantee_validity"  # 担保是否有效
    COLLATERAL_REGISTRATION = "collateral_registration"  # 抵押是否登记
    LIMITATION_PERIOD = "limitation_period"  # 诉讼时效
    SPOUSE_JOINT_LIABILITY = "spouse_joint_liability"  # 配偶是否承担共同债务
    OTHER = "other"  # 其他


#: The stance of a related party (策略9): the case model's own attitude.
PartyStance = Attitude


# --- Our lines (策略10 取上求中, 策略6 留有余地) ---


class FigureField(StrEnum):
    """One of our three figures."""

    BOTTOM = "bottom"  # 底线
    TARGET = "target"  # 目标
    OPENING = "opening"  # 开价


#: The order the figures are asked in (and checked in): bottom line, target, opening ask.
FIGURE_ORDER: tuple[FigureField, ...] = (
    FigureField.BOTTOM,
    FigureField.TARGET,
    FigureField.OPENING,
)


class Concession(StrEnum):
    """A concession the collector may be asked for (让步)."""

    FEE_WAIVER = "fee_waiver"  # 减免费用/占用费
    LONG_PLAN = "long_plan"  # 分期超过 N 个月
    BELOW_TARGET = "below_target"  # 低于目标


@dataclass(frozen=True, slots=True)
class Figures:
    """Our three figures in fen; ``None`` = not decided yet."""

    bottom: int | None = None  # 底线
    target: int | None = None  # 目标
    opening: int | None = None  # 开价

    def get(self, which: FigureField) -> int | None:
        value: int | None = getattr(self, which.value)
        return value

    def with_value(self, which: FigureField, value: int | None) -> Figures:
        """These figures with ``which`` set to ``value`` (the others kept)."""
        return replace(self, **{which.value: value})


@dataclass(frozen=True, slots=True)
class FigureProblem:
    """Why a figure was refused: ``field`` is the one figure to ask again (the others stand);
    ``code`` names the rule; ``params`` holds the amounts (fen) the message quotes."""

    field: FigureField
    code: str
    params: dict[str, int]


@dataclass(frozen=True, slots=True)
class Suggestion:
    """A tap-able amount for a figure: ``code`` says what it is (``full_overdue`` …)."""

    code: str
    amount: int  # fen


# --- This meeting (策略2 立竿见影, 策略3 主场作战) ---


class MeetingKind(StrEnum):
    """The kind of meeting (策略3)."""

    INVESTIGATIVE = "investigative"  # 调查性谈话
    RESULT = "result"  # 成果性谈话


class Venue(StrEnum):
    """Where the meeting takes place (策略3 主场作战)."""

    OFFICE = "office"  # 我社
    COURT = "court"  # 法院
    HOME = "home"  # 借款人家中
    BUSINESS = "business"  # 经营场所
    OTHER = "other"  # 其他场地

    @property
    def is_home_ground(self) -> bool:
        """Our cooperative or the court: 主场 (策略3)."""
        return self in (Venue.OFFICE, Venue.COURT)


class MeetingStep(StrEnum):
    """The one step this meeting must achieve (策略2: 每次谈判都将进程向前推进一步)."""

    MONEY_TODAY = "money_today"  # 当即收回部分款项
    SIGN_AGREEMENT = "sign_agreement"  # 签订还款协议
    CONFIRM_DEBT = "confirm_debt"  # 确认欠款
    MEET_GUARANTOR = "meet_guarantor"  # 约见担保人
    ASSESS_ASSETS = "assess_assets"  # 摸清资产状况
    OTHER = "other"  # 其他


# --- Approach (策略7 攻心为上, 策略4 以攻为守, 策略8 首开先河) ---


class Approach(StrEnum):
    """How to talk to this counterpart (一户一策, 策略7; the resolute one from 策略6)."""

    PRESSURE = "pressure"  # 施压 (novice_weak)
    SYMPATHY = "sympathy"  # 软化、博同理心 (soft_history)
    FLATTERY = "flattery"  # 恭维 (vain)
    FIRM_BOTTOM_LINE = "firm_bottom_line"  # 明确底线、即时请示 (resolute)
    READ_FIRST = "read_first"  # 先摸清 (other / not known)


class TalkingPoint(StrEnum):
    """A line the collector can say or use in the meeting."""

    # Pressure (策略7: 以愤怒等行动使对手手足无措; 策略4: 强调严重性、上级压力; 策略5).
    SHOW_DISPLEASURE = "show_displeasure"  # 以愤怒等行动施压
    SERIOUSNESS = "seriousness"  # 强调逾期的严重性 (策略4)
    SUPERIORS_ATTENTION = "superiors_attention"  # 上级的重视与压力 (策略4)
    RESULT_TODAY = "result_today"  # 今天就要有清收成果 (策略5)
    # Sympathy (策略7: 以软化方式博得同理心，制造负罪感).
    OUR_HISTORY = "our_history"  # 双方的合作基础
    MY_POSITION = "my_position"  # 博得同理心：我的难处
    TRUST_KEPT = "trust_kept"  # 制造负罪感：我社当初的信任
    # Flattery (策略7: 恭维对方，唤起自尊心、虚荣心).
    STANDING = "standing"  # 恭维：您的信誉和地位
    CAPABLE = "capable"  # 恭维：以您的能力
    GOOD_NAME = "good_name"  # 面子：保住好名声
    # Resolute counterpart (策略6 留有余地: 明确底线、即时请示、勉强让步).
    ASK_SUPERVISOR = "ask_supervisor"  # 即时请示
    IN_PRINCIPLE = "in_principle"  # 答应大概内容，细节留有余地
    RELUCTANT = "reluctant"  # 勉强姿态同意
    # Read first (策略4 以攻为守: 开放式问话，让对方尽量表述).
    LET_THEM_TALK = "let_them_talk"  # 让对方尽量表述
    # For any concession request (策略8 首开先河).
    NO_PRECEDENT = "no_precedent"  # 开了先例，对其他债务人也要同样做法


#: The answer "no colleague chats with them first" to the pre-chat question (策略4): decided,
#: so neither asked again nor shown on the brief as a name.
NO_PRE_CHAT = "not_needed"


class OpenQuestion(StrEnum):
    """Prepared open questions to ask first (策略4 以攻为守: 开放式的问话方式)."""

    BUSINESS_NOW = "business_now"  # 生意最近怎么样
    INCOME_COMING = "income_coming"  # 接下来有什么进账、什么时候到
    OTHER_DEBTS = "other_debts"  # 除了我社，还欠谁的钱
    YOUR_PLAN = "your_plan"  # 您打算怎么解决
    FAMILY_VIEW = "family_view"  # 家人和担保人怎么看
    PAY_TODAY = "pay_today"  # 今天能先还多少 (策略5)


class Warning(StrEnum):
    """What the plan should not do, each from one strategy."""

    AWAY_FROM_HOME_GROUND = "away_from_home_ground"  # 策略3 主场作战
    NO_MONEY_TODAY = "no_money_today"  # 策略5 忌华而不实
    FIGURES_MISSING = "figures_missing"  # 策略10 取上求中 (and 策略1)
    SETTLE_WITHIN_THREE = "settle_within_three"  # 策略2 立竿见影: 两到三次谈判定结论
    REVEAL_NO_BOTTOM_LINE = "reveal_no_bottom_line"  # 策略3: 调查中不透露底线和核心内容


# --- The answers ---


@dataclass(frozen=True, slots=True)
class PrepAnswers:
    """Everything the interview collected. Every fact is optional: a skipped fact is ``None``
    (or empty) and stays "still unknown". ``party_stances`` maps a related party's id to its
    stance; ``qa`` holds up to three (expected question, our answer) pairs; ``money_today`` 0
    means "nothing today" said explicitly, ``None`` not asked; ``approach`` ``None`` means the
    one :func:`approach_for` gives for ``character``."""

    capacity: Capacity | None = None
    capacity_amount: int | None = None
    business: Business | None = None
    character: Character | None = None
    weak_points: frozenset[WeakPoint] = frozenset()
    weak_points_text: str | None = None
    file_quality: FileQuality | None = None
    party_stances: Mapping[int, Attitude] = field(default_factory=dict)
    social_relations: str | None = None
    legal_questions: frozenset[LegalQuestion] = frozenset()
    figures: Figures = Figures()
    needs_approval: frozenset[Concession] = frozenset()
    kind: MeetingKind | None = None
    venue: Venue | None = None
    attendees: str | None = None
    step: MeetingStep | None = None
    step_text: str | None = None
    qa: tuple[tuple[str, str], ...] = ()
    open_questions: tuple[OpenQuestion, ...] = ()
    pre_chat_by: str | None = None
    money_today: int | None = None
    approach: Approach | None = None

    @property
    def chosen_approach(self) -> Approach:
        """The approach set explicitly, else the one the character calls for."""
        return self.approach or approach_for(self.character)

    def to_json(self) -> dict[str, Any]:
        """A JSON-able dict (enums as their codes, sets as sorted lists, party ids as strings);
        :meth:`from_json` reads it back. Unset facts are left out."""
        out: dict[str, Any] = {}
        for name in (
            "capacity",
            "capacity_amount",
            "business",
            "character",
            "weak_points_text",
            "file_quality",
            "social_relations",
            "kind",
            "venue",
            "attendees",
            "step",
            "step_text",
            "pre_chat_by",
            "money_today",
            "approach",
        ):
            value = getattr(self, name)
            if value is not None:
                out[name] = str(value) if isinstance(value, StrEnum) else value
        for name in ("weak_points", "legal_questions", "needs_approval"):
            values: frozenset[StrEnum] = getattr(self, name)
            if values:
                out[name] = sorted(str(v) for v in values)
        if self.party_stances:
            out["party_stances"] = {str(k): str(v) for k, v in sorted(self.party_stances.items())}
        figures = {f.value: self.figures.get(f) for f in FIGURE_ORDER}
        if any(v is not None for v in figures.values()):
            out["figures"] = {k: v for k, v in figures.items() if v is not None}
        if self.qa:
            out["qa"] = [[q, a] for q, a in self.qa]
        if self.open_questions:
            out["open_questions"] = [str(q) for q in self.open_questions]
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PrepAnswers:
        """Read what :meth:`to_json` wrote. Tolerant, because a draft may come from an older
        version of the bot: a missing key is a skipped fact; a code this version does not know,
        a value of the wrong type, a bool where an amount belongs and a negative amount are
        dropped (the fact becomes unknown again) rather than failing the whole draft."""
        figures = data.get("figures")
        figures = figures if isinstance(figures, Mapping) else {}
        stances: dict[int, Attitude] = {}
        raw_stances = data.get("party_stances")
        if isinstance(raw_stances, Mapping):
            for key, value in raw_stances.items():
                party = _int(key)
                stance = _enum(Attitude, value)
                if party is not None and stance is not None:
                    stances[party] = stance
        qa: list[tuple[str, str]] = []
        raw_qa = data.get("qa")
        if isinstance(raw_qa, list):
            for pair in raw_qa:
                if (
                    isinstance(pair, list | tuple)
                    and len(pair) == 2
                    and all(isinstance(x, str) for x in pair)
                ):
                    qa.append((pair[0], pair[1]))
        raw_questions = data.get("open_questions")
        questions = _enum_list(OpenQuestion, raw_questions)
        return cls(
            capacity=_enum(Capacity, data.get("capacity")),
            capacity_amount=_amount(data.get("capacity_amount")),
            business=_enum(Business, data.get("business")),
            character=_enum(Character, data.get("character")),
            weak_points=_enum_set(WeakPoint, data.get("weak_points")),
            weak_points_text=_text(data.get("weak_points_text")),
            file_quality=_enum(FileQuality, data.get("file_quality")),
            party_stances=stances,
            social_relations=_text(data.get("social_relations")),
            legal_questions=_enum_set(LegalQuestion, data.get("legal_questions")),
            figures=Figures(
                bottom=_amount(figures.get("bottom")),
                target=_amount(figures.get("target")),
                opening=_amount(figures.get("opening")),
            ),
            needs_approval=_enum_set(Concession, data.get("needs_approval")),
            kind=_enum(MeetingKind, data.get("kind")),
            venue=_enum(Venue, data.get("venue")),
            attendees=_text(data.get("attendees")),
            step=_enum(MeetingStep, data.get("step")),
            step_text=_text(data.get("step_text")),
            qa=tuple(qa[:3]),
            open_questions=questions,
            pre_chat_by=_text(data.get("pre_chat_by")),
            money_today=_amount(data.get("money_today")),
            approach=_enum(Approach, data.get("approach")),
        )


E = TypeVar("E", bound=StrEnum)


def _enum(kind: type[E], value: object) -> E | None:
    if not isinstance(value, str):
        return None
    try:
        return kind(value)
    except ValueError:
        return None


def _enum_list(kind: type[E], value: object) -> tuple[E, ...]:
    """The known codes of a JSON list, in order, each once."""
    if not isinstance(value, list | tuple):
        return ()
    return tuple(dict.fromkeys(e for e in (_enum(kind, v) for v in value) if e is not None))


def _enum_set(kind: type[E], value: object) -> frozenset[E]:
    return frozenset(_enum_list(kind, value))


def _amount(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return None
    return value


def _int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


# --- Our lines: the figures (策略10 取上求中) ---


def check_figure(
    figures: Figures, field: FigureField, value: int, total_owed: int
) -> FigureProblem | None:
    """Check ``value`` for ``field`` against the figures already decided (策略10 取上求中: never
    show the bottom line first, open above it and concede "reluctantly" toward the target).

    The rule is opening ask (开价) ≥ target (目标) ≥ bottom line (底线) > 0, and no figure above
    what the borrower owes (``total_owed``, fen). ``figures`` holds the others; its own value
    for ``field`` is ignored (it is being replaced), so a correction is checked like a first
    answer. The figure being answered is the one refused — the ones already decided stand —
    and one problem is reported, the first of: not positive, above the debt, then the order
    against the nearest decided figure (the target before the bottom line for an opening ask).

    Edge cases: zero is refused (a bottom line of nothing is no line; "nothing today" belongs
    to money today, not here); equal figures are allowed (opening == target == bottom: no room
    to concede, but not wrong); a figure equal to the debt is allowed; with ``total_owed`` 0
    every figure is above the debt; a figure whose neighbours are not decided yet is checked
    only against those that are.

    Codes: ``figure.not_positive``; ``figure.{bottom,target,opening}_above_debt`` (param
    ``debt``); ``figure.target_below_bottom`` (``bottom``), ``figure.opening_below_target``
    (``target``), ``figure.opening_below_bottom`` (``bottom``), ``figure.bottom_above_target``
    (``target``), ``figure.bottom_above_opening`` (``opening``), ``figure.target_above_opening``
    (``opening``).
    """
    if value <= 0:
        return FigureProblem(field, "figure.not_positive", {})
    if value > total_owed:
        return FigureProblem(field, f"figure.{field.value}_above_debt", {"debt": total_owed})
    bottom, target, opening = figures.bottom, figures.target, figures.opening
    if field is FigureField.BOTTOM:
        if target is not None and value > target:
            return FigureProblem(field, "figure.bottom_above_target", {"target": target})
        if opening is not None and value > opening:
            return FigureProblem(field, "figure.bottom_above_opening", {"opening": opening})
    elif field is FigureField.TARGET:
        if bottom is not None and value < bottom:
            return FigureProblem(field, "figure.target_below_bottom", {"bottom": bottom})
        if opening is not None and value > opening:
            return FigureProblem(field, "figure.target_above_opening", {"opening": opening})
    else:
        if target is not None and value < target:
            return FigureProblem(field, "figure.opening_below_target", {"target": target})
        if bottom is not None and value < bottom:
            return FigureProblem(field, "figure.opening_below_bottom", {"bottom": bottom})
    return None


def check_figures(figures: Figures, total_owed: int) -> list[FigureProblem]:
    """All problems of ``figures`` at once (策略10 取上求中), as if they had been typed in the
    order they are asked (bottom line, target, opening ask — :data:`FIGURE_ORDER`): each
    figure is checked against the earlier ones that passed, so a wrong pair blames the later
    figure (5000 / 8000 / 6000 as opening / target / bottom refuses the opening ask only).
    At most one problem per figure, in that order; undecided figures are skipped; ``[]`` =
    the figures stand."""
    accepted = Figures()
    problems: list[FigureProblem] = []
    for which in FIGURE_ORDER:
        value = figures.get(which)
        if value is None:
            continue
        problem = check_figure(accepted, which, value, total_owed)
        if problem is None:
            accepted = accepted.with_value(which, value)
        else:
            problems.append(problem)
    return problems


_YUAN = 100

#: Candidate suggestions per figure, best first (策略10: open with everything overdue, aim for
#: the principal, hold half).
_CANDIDATES: dict[FigureField, tuple[str, ...]] = {
    FigureField.OPENING: ("full_overdue", "overdue_principal", "half_overdue"),
    FigureField.TARGET: ("overdue_principal", "half_overdue", "full_overdue"),
    FigureField.BOTTOM: ("half_overdue", "quarter_overdue", "overdue_principal"),
}


def figure_suggestions(
    field: FigureField, *, total_overdue: int, overdue_principal: int, figures: Figures
) -> list[Suggestion]:
    """Two or three amounts to tap for ``field``, best first (策略10 取上求中: open with the full
    overdue amount, aim for the overdue principal, hold half as the bottom line).

    - opening ask: full overdue, overdue principal, half the overdue;
    - target: overdue principal, half the overdue, full overdue;
    - bottom line: half the overdue, a quarter, the overdue principal.

    Each is rounded down to whole yuan (never above the debt), must be > 0 and consistent with
    the figures already decided (an opening ask ≥ the target and the bottom line; a target
    between them; a bottom line ≤ both), and amounts are deduplicated (the first code wins:
    with no overdue interest, full overdue and overdue principal are one button). When fewer
    than two are left, the decided neighbour itself is offered (``same_as_target``,
    ``same_as_bottom``, ``same_as_opening``: equal figures are allowed). Nothing overdue gives
    nothing to suggest: ``[]``.
    """
    shares = {
        "full_overdue": total_overdue,
        "overdue_principal": overdue_principal,
        "half_overdue": total_overdue // 2,
        "quarter_overdue": total_overdue // 4,
    }
    low, high = _bounds(field, figures)
    out: list[Suggestion] = []
    seen: set[int] = set()

    def offer(code: str, fen: int) -> None:
        amount = fen // _YUAN * _YUAN
        if amount <= 0 or amount in seen or amount < low or (high is not None and amount > high):
            return
        seen.add(amount)
        out.append(Suggestion(code, amount))

    for code in _CANDIDATES[field]:
        offer(code, shares[code])
    if len(out) < 2:
        for neighbour in FIGURE_ORDER:
            value = figures.get(neighbour)
            fits = value is not None and low <= value and (high is None or value <= high)
            if neighbour is not field and fits and value is not None and value not in seen:
                seen.add(value)
                out.append(Suggestion(f"same_as_{neighbour.value}", value))
    return out[:3]


def _bounds(field: FigureField, figures: Figures) -> tuple[int, int | None]:
    """The lowest and highest amount ``field`` may take given the other decided figures."""
    at = FIGURE_ORDER.index(field)
    lower = [v for f in FIGURE_ORDER[:at] if (v := figures.get(f)) is not None]
    upper = [v for f in FIGURE_ORDER[at + 1 :] if (v := figures.get(f)) is not None]
    return max(lower, default=1), min(upper, default=None)


# --- Approach (策略7 攻心为上, 策略4 以攻为守, 策略8 首开先河) ---

_APPROACH: dict[Character, Approach] = {
    Character.NOVICE_WEAK: Approach.PRESSURE,
    Character.SOFT_HISTORY: Approach.SYMPATHY,
    Character.VAIN: Approach.FLATTERY,
    Character.RESOLUTE: Approach.FIRM_BOTTOM_LINE,
    Character.OTHER: Approach.READ_FIRST,
}

_POINTS: dict[Approach, tuple[TalkingPoint, ...]] = {
    Approach.PRESSURE: (
        TalkingPoint.SHOW_DISPLEASURE,
        TalkingPoint.SERIOUSNESS,
        TalkingPoint.SUPERIORS_ATTENTION,
        TalkingPoint.RESULT_TODAY,
        TalkingPoint.NO_PRECEDENT,
    ),
    Approach.SYMPATHY: (
        TalkingPoint.OUR_HISTORY,
        TalkingPoint.MY_POSITION,
        TalkingPoint.TRUST_KEPT,
        TalkingPoint.NO_PRECEDENT,
    ),
    Approach.FLATTERY: (
        TalkingPoint.STANDING,
        TalkingPoint.GOOD_NAME,
        TalkingPoint.CAPABLE,
        TalkingPoint.NO_PRECEDENT,
    ),
    Approach.FIRM_BOTTOM_LINE: (
        TalkingPoint.ASK_SUPERVISOR,
        TalkingPoint.NO_PRECEDENT,
        TalkingPoint.IN_PRINCIPLE,
        TalkingPoint.RELUCTANT,
    ),
    Approach.READ_FIRST: (
        TalkingPoint.LET_THEM_TALK,
        TalkingPoint.SERIOUSNESS,
        TalkingPoint.SUPERIORS_ATTENTION,
        TalkingPoint.NO_PRECEDENT,
    ),
}


def approach_for(character: Character | None) -> Approach:
    """The approach for the counterpart's type (策略7 攻心为上, 一户一策): pressure — even shown
    anger — for a novice or weak one; softening, sympathy and guilt for one who yields to
    softness and has a history with us; flattery for the vain; for the resolute one (策略6 留有
    余地) our bottom line fixed beforehand and the supervisor asked in real time. "Other" and a
    character not known yet both give "read them first" (策略4: open questions, let them talk)."""
    if character is None:
        return Approach.READ_FIRST
    return _APPROACH[character]


def talking_points(approach: Approach) -> tuple[TalkingPoint, ...]:
    """The talking points of ``approach``, best first (at least three each; the brief shows
    two). Every approach ends with the no-precedent line (策略8 首开先河), ready for a request
    for a concession; for the resolute counterpart it comes second, since that one will ask.
    Pressure and "read first" carry the two pressing lines of 策略4 以攻为守 (how serious the
    default is, how closely superiors follow it)."""
    return _POINTS[approach]


_QUESTIONS: tuple[OpenQuestion, ...] = (
    OpenQuestion.BUSINESS_NOW,
    OpenQuestion.INCOME_COMING,
    OpenQuestion.OTHER_DEBTS,
    OpenQuestion.YOUR_PLAN,
    OpenQuestion.FAMILY_VIEW,
    OpenQuestion.PAY_TODAY,
)


def open_questions(answers: PrepAnswers) -> tuple[OpenQuestion, ...]:
    """Suggested open questions, best first (策略4 以攻为守: ask prepared questions openly and
    let the other side talk, so they show their position; then press).

    Questions about what we do not know yet come first (策略1): how the business is doing when
    its condition was skipped; what income is coming when the capacity (or its figure) is
    unknown; who else they owe unless the capacity is known to be full; how family and
    guarantor see it when a related party's stance is unknown or not recorded. Then the rest,
    in the default order. "What can you pay today" (策略5) comes third in a result meeting
    (after two questions that let them talk) and last otherwise. Always all six questions.
    """
    stances = answers.party_stances.values()
    unknown = {
        OpenQuestion.BUSINESS_NOW: answers.business is None,
        OpenQuestion.INCOME_COMING: answers.capacity is None
        or (answers.capacity is not Capacity.NONE and answers.capacity_amount is None),
        OpenQuestion.OTHER_DEBTS: answers.capacity is not Capacity.FULL,
        OpenQuestion.YOUR_PLAN: False,
        OpenQuestion.FAMILY_VIEW: not stances or Attitude.UNKNOWN in stances,
    }
    rest: list[OpenQuestion] = [q for q in _QUESTIONS if q is not OpenQuestion.PAY_TODAY]
    ordered = [q for q in rest if unknown[q]] + [q for q in rest if not unknown[q]]
    at = 2 if answers.kind is MeetingKind.RESULT else len(ordered)
    ordered.insert(at, OpenQuestion.PAY_TODAY)
    return tuple(ordered)


# --- This meeting: warnings (策略2, 策略3, 策略5, 策略10) ---


def meeting_warnings(answers: PrepAnswers, *, meetings_without_agreement: int) -> list[Warning]:
    """What is wrong with this plan, most pressing first.

    - ``away_from_home_ground`` (策略3 主场作战): a result meeting at the borrower's home,
      business or any other place than our cooperative or the court. An unknown venue or kind
      is not warned (it is still unknown, and counted as such).
    - ``no_money_today`` (策略5 忌华而不实): a result meeting that plans to collect nothing today
      (money today 0, said explicitly). Not for an investigative visit.
    - ``figures_missing`` (策略10 取上求中, 策略1): no bottom line or no target decided — for any
      meeting, since even a visit must not drift toward a figure. The opening ask alone missing
      is not warned.
    - ``settle_within_three`` (策略2 立竿见影: 两到三次谈判定结论): two meetings or more already
      held without an agreement.
    - ``reveal_no_bottom_line`` (策略3): an investigative visit, wherever it is — show no bottom
      line and no core terms there.
    """
    out: list[Warning] = []
    result = answers.kind is MeetingKind.RESULT
    if result and answers.venue is not None and not answers.venue.is_home_ground:
        out.append(Warning.AWAY_FROM_HOME_GROUND)
    if result and answers.money_today == 0:
        out.append(Warning.NO_MONEY_TODAY)
    if answers.figures.bottom is None or answers.figures.target is None:
        out.append(Warning.FIGURES_MISSING)
    if meetings_without_agreement >= 2:
        out.append(Warning.SETTLE_WITHIN_THREE)
    if answers.kind is MeetingKind.INVESTIGATIVE:
        out.append(Warning.REVEAL_NO_BOTTOM_LINE)
    return out


def money_today_required(kind: MeetingKind | None) -> bool:
    """A result meeting must bring money today (策略3 主场作战: 成果性的谈话…必须要有成果; 策略5
    忌华而不实: 当即能实现清收效果): the question may not be skipped, and "nothing" must be
    said as 0. An investigative visit, or a meeting whose kind is not known, may skip it."""
    return kind is MeetingKind.RESULT


# --- What prep makes known (策略1) and feeds the urgency score (策略11 兵贵神速) ---


def known_facts(answers: PrepAnswers) -> frozenset[Unknown]:
    """The "still unknown" items (:class:`bot.domain.unknowns.Unknown`) these answers make
    known (策略1 知己知彼).

    Edge cases: any answer counts, "other" and "none" included (capacity none is known: there
    is none); weak points are known from a button or the text alone; legal questions only when
    at least one was chosen (an empty set is a skipped step); capacity is known without its
    figure. Related parties are *not* made known here: a stance says nothing about a missing
    phone, so the stances go onto the parties (their attitude) and ``unknown_facts`` sees them
    there. Phone, address, spouse and collateral value are not asked by prep.
    """
    known: set[Unknown] = set()
    if answers.capacity is not None:
        known.add(Unknown.REPAYMENT_CAPACITY)
    if answers.business is not None:
        known.add(Unknown.BUSINESS_CONDITION)
    if answers.character is not None:
        known.add(Unknown.CHARACTER)
    if answers.weak_points or answers.weak_points_text:
        known.add(Unknown.WEAK_POINTS)
    if answers.file_quality is not None:
        known.add(Unknown.FILE_QUALITY)
    if answers.social_relations:
        known.add(Unknown.SOCIAL_RELATIONS)
    if answers.legal_questions:
        known.add(Unknown.LEGAL_QUESTIONS)
    if answers.figures.bottom is not None:
        known.add(Unknown.BOTTOM_LINE)
    if answers.figures.target is not None:
        known.add(Unknown.TARGET)
    return frozenset(known)


_DEFAULT_COST = frozenset(
    {WeakPoint.BUSINESS_LICENCE, WeakPoint.REPUTATION, WeakPoint.COURT_RECORD}
)


@dataclass(frozen=True, slots=True)
class UrgencyFromPrep:
    """What prep says about the urgency score's silent parts (策略11 兵贵神速); ``None`` = prep
    says nothing, keep what the case has.

    - ``business_sliding``: True for a declining or stopped business, False for a running one
      (the flag :attr:`Deterioration.BUSINESS_SLIDING` is then cleared).
    - ``strong_guarantor``: True or ``None`` (prep never calls a guarantor weak: a stance is
      not a capacity to pay).
    - ``high_default_cost``: True or ``None`` (weak points not chosen are not absent).
    """

    business_sliding: bool | None = None
    strong_guarantor: bool | None = None
    high_default_cost: bool | None = None

    def deterioration(self, current: Collection[Deterioration]) -> frozenset[Deterioration]:
        """The case's deterioration flags after prep: ``current`` with business sliding set or
        cleared as prep says; every other flag kept."""
        flags = set(current)
        if self.business_sliding is True:
            flags.add(Deterioration.BUSINESS_SLIDING)
        elif self.business_sliding is False:
            flags.discard(Deterioration.BUSINESS_SLIDING)
        return frozenset(flags)


def urgency_inputs(
    answers: PrepAnswers, *, guarantor_ids: Collection[int] | None = None
) -> UrgencyFromPrep:
    """Map the answers onto the urgency score's parts that the ledger leaves silent (策略11 兵贵
    神速: act early where the business is sliding; press where we hold leverage — a strong
    guarantor, a high cost of default).

    - Business declining or stopped → sliding (经营急剧滑坡); running → not sliding.
    - Strong guarantor (有力担保人) when the borrower's relationship with the guarantor is a weak
      point we can press on *and* a guarantor's stance is cooperative: the guarantor will help
      us press, or pay. ``guarantor_ids`` names the parties who are guarantors (or
      mortgagors); without it (``None``) any cooperative party counts. A hostile or neutral
      guarantor, or the weak point alone, says nothing.
    - High cost of default (较大违约成本) when the business licence, the borrower's reputation or
      a court record is a weak point: default costs them dearly.
    """
    sliding: bool | None = None
    if answers.business in (Business.DECLINING, Business.STOPPED):
        sliding = True
    elif answers.business is Business.RUNNING:
        sliding = False
    cooperative = any(
        stance is Attitude.COOPERATIVE and (guarantor_ids is None or party in guarantor_ids)
        for party, stance in answers.party_stances.items()
    )
    strong = (
        True if WeakPoint.GUARANTOR_RELATIONSHIP in answers.weak_points and cooperative else None
    )
    cost = True if answers.weak_points & _DEFAULT_COST else None
    return UrgencyFromPrep(sliding, strong, cost)


# --- The brief ---


@dataclass(frozen=True, slots=True)
class Brief:
    """The one-screen plan to read before walking in, already decided (templates only format
    it): the figures, money today, the step, kind and venue, the approach with two talking
    points (the best and 策略8's), the first open questions (≤ 3), what the collector prepared
    (expected questions and answers, weak points, social relations), the warnings, how many
    facts are still unknown, the concessions that need the supervisor and who chats
    informally first."""

    figures: Figures
    money_today: int | None
    step: MeetingStep | None
    step_text: str | None
    kind: MeetingKind | None
    venue: Venue | None
    approach: Approach
    points: tuple[TalkingPoint, ...]
    questions: tuple[OpenQuestion, ...]
    warnings: tuple[Warning, ...]
    unknown_count: int
    needs_approval: frozenset[Concession]
    pre_chat_by: str | None
    #: What the collector prepared besides (issue 16): the expected questions with our answers
    #: (策略2), the weak points (in a fixed order, and their own words), the social relations.
    qa: tuple[tuple[str, str], ...] = ()
    weak_points: tuple[WeakPoint, ...] = ()
    weak_points_text: str | None = None
    social_relations: str | None = None


def build_brief(
    answers: PrepAnswers, *, unknown_count: int, meetings_without_agreement: int
) -> Brief:
    """The brief for ``answers``. The approach is the one chosen, else the character's
    (策略7 攻心为上, 一户一策); its best talking point and the no-precedent line (策略8, for the
    concession they will ask; the resolute type's two best are these two); the open questions
    the collector picked, else the suggested ones — the first three either way (策略4 以攻为守);
    the expected questions with our answers (≤ 3), the weak points, the social relations; the
    warnings of :func:`meeting_warnings` (策略2, 3, 5, 10). ``unknown_count`` is what the case
    card counts as still unknown after these answers (a negative count reads as 0). A pre-chat
    "not needed" names nobody."""
    approach = answers.chosen_approach
    questions = answers.open_questions or open_questions(answers)
    # The best point, and the no-precedent line (策略8), ready for the concession they ask.
    points = tuple(dict.fromkeys((talking_points(approach)[0], TalkingPoint.NO_PRECEDENT)))
    return Brief(
        figures=answers.figures,
        money_today=answers.money_today,
        step=answers.step,
        step_text=answers.step_text,
        kind=answers.kind,
        venue=answers.venue,
        approach=approach,
        points=points,
        questions=questions[:3],
        warnings=tuple(
            meeting_warnings(answers, meetings_without_agreement=meetings_without_agreement)
        ),
        unknown_count=max(unknown_count, 0),
        needs_approval=answers.needs_approval,
        pre_chat_by=None if answers.pre_chat_by == NO_PRE_CHAT else answers.pre_chat_by,
        qa=answers.qa,
        weak_points=tuple(w for w in WeakPoint if w in answers.weak_points),
        weak_points_text=answers.weak_points_text,
        social_relations=answers.social_relations,
    )
