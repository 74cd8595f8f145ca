"""The digest's rules: when it is due (DST, weekends), its rates, its time parser, its text on
one phone screen for ten and in several valid messages for three hundred, and its chart."""

from __future__ import annotations

import io
import struct
import warnings
import zlib
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from bot.charts import (
    PHONE_MIN_TEXT_PX,
    PHONE_WIDTH,
    ChartLabels,
    cjk_font,
    digest_chart,
    digest_figure,
)
from bot.digests import _chart
from bot.domain.digest import DigestDay, Rate, digest_due, local_midnight, parse_digest_time
from bot.i18n import SUPPORTED_LOCALES
from bot.render import MESSAGE_LIMIT, Renderer
from tests.domain.digest_samples import team_digest
from tgemu.formatting import parse_html, utf16_len

BERLIN = ZoneInfo("Europe/Berlin")
SHANGHAI = ZoneInfo("Asia/Shanghai")
SIX = time(18, 0)


def berlin(y, mo, d, h, mi=0, fold=0):
    return datetime(y, mo, d, h, mi, tzinfo=BERLIN, fold=fold).astimezone(UTC)


# -- when -----------------------------------------------------------------------------------


def test_due_from_the_digest_time_until_the_end_of_the_local_day():
    assert digest_due(berlin(2026, 12, 1, 17, 59), BERLIN, SIX) is None
    assert digest_due(berlin(2026, 12, 1, 18, 0), BERLIN, SIX).isoformat() == "2026-12-01"
    assert digest_due(berlin(2026, 12, 1, 23, 59), BERLIN, SIX).isoformat() == "2026-12-01"
    # After midnight it is the next day's, not yet due: a bot down all evening skips nothing
    # it could still send today, and never sends yesterday's.
    assert digest_due(berlin(2026, 12, 2, 0, 30), BERLIN, SIX) is None


def test_a_time_skipped_by_spring_forward_is_due_from_the_first_instant_after_it():
    at = time(2, 30)  # 29 Mar 2026 in Berlin: 02:00 → 03:00
    assert digest_due(berlin(2026, 3, 29, 1, 59), BERLIN, at) is None
    due = digest_due(datetime(2026, 3, 29, 1, 0, tzinfo=UTC), BERLIN, at)  # 03:00 CEST
    assert due is not None
    assert due.isoformat() == "2026-03-29"


def test_a_time_that_happens_twice_at_fall_back_is_due_both_times_for_the_same_date():
    at = time(2, 30)  # 25 Oct 2026 in Berlin: 03:00 → 02:00; the run row keeps it to one
    first = digest_due(berlin(2026, 10, 25, 2, 30, fold=0), BERLIN, at)
    second = digest_due(berlin(2026, 10, 25, 2, 30, fold=1), BERLIN, at)
    assert first == second is not None
    assert first.isoformat() == "2026-10-25"


def test_weekend_mute():
    saturday = datetime(2026, 12, 5, 19, 0, tzinfo=SHANGHAI)
    assert digest_due(saturday, SHANGHAI, SIX, mute_weekends=True) is None
    assert digest_due(saturday, SHANGHAI, SIX) is not None
    monday = datetime(2026, 12, 7, 19, 0, tzinfo=SHANGHAI)
    assert digest_due(monday, SHANGHAI, SIX, mute_weekends=True) is not None


def test_a_dst_day_is_23_hours_long_between_its_midnights():
    day = DigestDay.of(berlin(2026, 3, 30, 12), BERLIN)
    assert (day.start(day.today) - day.start(day.yesterday)).total_seconds() == 23 * 3600
    assert local_midnight(day.today, BERLIN) == datetime(2026, 3, 29, 22, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("kept", "settled", "percent"), [(0, 0, None), (1, 2, 50), (2, 3, 67), (1, 8, 13), (5, 5, 100)]
)
def test_kept_rate(kept, settled, percent):
    assert Rate(kept, settled).percent == percent


@pytest.mark.parametrize(
    ("text", "expected"),
    [("18:30", time(18, 30)), ("8:00", time(8)), ("0830", time(8, 30)), ("18点", time(18)),
     ("18点半", time(18, 30)), ("18：05", time(18, 5)), ("7", time(7)), ("24:00", None),
     ("18:61", None), ("soon", None), ("", None), ("18:5", None)],
)  # fmt: skip
def test_parse_digest_time(text, expected):
    assert parse_digest_time(text) == expected


# -- text -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def renderer():
    return Renderer(SHANGHAI)


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_a_team_of_ten_reads_on_one_phone_screen(renderer, locale):
    parts = renderer.render_parts(locale, "digest/team", digest=team_digest(10))
    assert len(parts) == 1
    plain, _ = parse_html(parts[0])
    # One screen: the whole picture in about forty short lines.
    assert len(plain.splitlines()) <= 45
    assert max(utf16_len(line) for line in plain.splitlines()) <= 110
    assert "王建国 <&>" in plain  # escaped in HTML, shown as typed


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_a_team_of_300_splits_into_valid_messages_never_mid_line(renderer, locale):
    digest = team_digest(300)
    whole = renderer._render(locale, "digest/team", {"digest": digest})
    parts = renderer.render_parts(locale, "digest/team", digest=digest)
    assert len(parts) >= 3
    lines = []
    for part in parts:
        plain, _ = parse_html(part)  # Telegram's parser accepts it (tags balanced)
        assert 0 < utf16_len(plain) <= MESSAGE_LIMIT
        lines.extend(line for line in plain.splitlines() if line)
    expected = [line for line in parse_html(whole)[0].splitlines() if line]
    assert lines == expected  # every line whole, once, in order
    for c in digest.collectors:
        assert sum(line.replace("：", ": ").split(": ")[0] == c.name for line in lines) == 1


# -- chart ----------------------------------------------------------------------------------


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def distinct_colours(data: bytes) -> int:
    from matplotlib import image

    pixels = image.imread(io.BytesIO(data), format="png")
    flat = (pixels[:, :, :3] * 255).astype("uint8").reshape(-1, 3)
    return len({tuple(p) for p in flat[:: max(1, len(flat) // 20000)]})


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
async def test_the_chart_renders_chinese_labels_with_a_cjk_font(renderer, locale):
    digest = team_digest(10)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "Glyph … missing from font(s)" would raise
        data = await _chart(renderer, locale, digest)
    assert data is not None
    assert png_size(data) == (720, 960)
    assert len(data) > 20_000
    assert distinct_colours(data) > 20  # bars, a line, text: not a blank canvas
    assert zlib.crc32(data) != 0
    # Every character drawn is in the font the chart uses.
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    path = font_manager.findfont(font_manager.FontProperties(family=cjk_font()),
                                 fallback_to_default=False)  # fmt: skip
    charmap = FT2Font(path).get_charmap()
    label = renderer.label
    words = [label(locale, w) for w in ("Collected per day, last 30 days", "Collected",
             "Promised", "Promises kept, last 30 days (lowest first)",
             "No promises settled in 30 days")]  # fmt: skip
    words += [c.name for c in digest.collectors]
    missing = {ch for w in words for ch in w if not ch.isspace() and ord(ch) not in charmap}
    assert not missing
    if locale != "en":
        assert any(ord(ch) > 0x2E80 for w in words for ch in w)


def test_the_chart_has_a_cjk_font_and_says_when_there_is_nothing_to_rate():
    assert "CJK" in cjk_font() or "SC" in cjk_font()
    labels = ChartLabels("回款", "回款", "承诺", "守约率", "近30天没有到期结清的承诺")
    digest = team_digest(0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        data = digest_chart(digest.series, [], labels)
    assert png_size(data) == (720, 960)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Issue 16: /settings refused "晚上七点"; a supervisor says the time as they speak it.
        ("晚上七点", time(19)),
        ("下午6点半", time(18, 30)),
        ("早上八点一刻", time(8, 15)),
        ("中午12点", time(12)),
        ("中午1点", time(13)),
        ("晚上十二点", time(0)),
        ("晚上19点", time(19)),
        ("十九点", time(19)),
        ("7pm", time(19)),
        ("7:30 pm", time(19, 30)),
        ("12am", time(0)),
        ("12pm", time(12)),
        ("早上13点", None),
        ("晚上七点钟左右", None),
    ],
)
def test_a_spoken_time_of_day_is_read(text, expected):
    assert parse_digest_time(text) == expected


@pytest.mark.parametrize("collectors", [0, 12])
def test_every_word_of_the_chart_is_readable_on_a_phone(collectors):
    """Issue 16: the chart's axis labels and names were about 5 px tall on a phone (an 800 px
    image shown 360 px wide, 9 pt text at 100 dpi)."""
    from matplotlib.text import Text

    digest = team_digest(collectors)
    labels = ChartLabels("近30天每日回款", "回款", "承诺还款", "近30天守约率（最低在前）", "没有")
    fig = digest_figure(digest.series, digest.collectors, labels)
    scale = PHONE_WIDTH / (fig.get_figwidth() * fig.dpi)
    texts = [t for t in fig.findobj(Text) if t.get_text().strip() and t.get_visible()]
    assert len(texts) > 10
    for text in texts:
        on_phone = text.get_fontsize() * fig.dpi / 72 * scale
        assert on_phone >= PHONE_MIN_TEXT_PX, (text.get_text(), round(on_phone, 1))


# -- the span since the previous digest, and plural forms (issue 16) ----------------------


def test_the_span_runs_from_the_previous_digest_to_now():
    """Since the previous digest's run up to now; the first digest from the start of
    yesterday; a previous digest longer ago than the chart's 30 days is cut to them; a clock
    moved back before the previous run gives an empty span."""
    now = datetime(2026, 12, 8, 10, 0, tzinfo=UTC)  # Tuesday 18:00 in Shanghai
    before = datetime(2026, 12, 7, 10, 0, 3, tzinfo=UTC)
    day = DigestDay.of(now, SHANGHAI, since=before)
    assert (day.span_start, day.span_end) == (before, now)
    assert day.span_start_local.strftime("%a %d %H:%M") == "Mon 07 18:00"
    first = DigestDay.of(now, SHANGHAI)
    assert first.span_start == local_midnight(first.yesterday, SHANGHAI)
    long_ago = DigestDay.of(now, SHANGHAI, since=now.replace(year=2025))
    assert long_ago.span_start == local_midnight(date(2026, 11, 8), SHANGHAI)  # 30 days back
    assert DigestDay.of(now, SHANGHAI, since=now.replace(day=9)).span_start == now


def test_counts_take_the_singular_where_there_is_one(renderer):
    """ "1 reminders were due" (issue 16): each count of the digest through ngettext."""
    import dataclasses

    from bot.domain.digest import CaseItem, Counted, Unreachable

    one = CaseItem(1, "DC1", "王建国", "张伟", 1)
    d = dataclasses.replace(
        team_digest(1), payments=1, late_reminders=1, stalled=Counted([one], 1),
        untouched=Counted([one], 1), unprepared=Counted([one], 1),
        unreachable=[Unreachable(5, "赵六", False, 1)], untouched_days=1,
    )  # fmt: skip
    plain, _ = parse_html(renderer.render("en", "digest/team", digest=d))
    for text in (
        "in 1 payment,",
        "· 1 meeting ·",
        "· 1 day ·",
        "· 1 day past due ·",
        "1 reminder not delivered",
        "Reminders not sent: 1 payment reminder came due",
        "Untouched for 1 day or more (1)",
    ):
        assert text in plain, (text, plain)  # fmt: skip
    for wrong in ("1 payments", "1 meetings", "1 days", "1 reminders"):
        assert wrong not in plain
    plain, _ = parse_html(renderer.render("en", "digest/team", digest=team_digest(1)))
    assert "in 5 payments" in plain
    for locale, words in (("zh_Hans", ("1笔共", "1次面谈", "1条提醒未送达")),
                          ("zh_Hant", ("1筆共", "1次面談", "1條提醒未送達"))):  # fmt: skip
        plain, _ = parse_html(renderer.render(locale, "digest/team", digest=d))
        for word in words:
            assert word in plain, (locale, word, plain)
        assert "离线" not in plain.split("联系不上")[-1].split("\n\n")[0]
