"""The ``qingshou`` command line: run the bot, the sandbox or the emulator; invite; back up;
migrate or copy the database."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from bot.config import ConfigError, Settings, load_settings
from bot.domain.importing import check_upload
from bot.domain.people import Role, User, deep_link

if TYPE_CHECKING:
    from bot.domain.ledger import LedgerError
    from bot.imports import ImportOutcome
    from bot.storage import Storage

log = logging.getLogger("qingshou")


async def open_storage(settings: Settings, *, now: datetime | None = None) -> Storage:
    """Open the database, turning what can go wrong into an error that names QINGSHOU_DB."""
    from bot import storage

    try:
        return await storage.open_storage(settings.database, now=now or datetime.now(UTC))
    except storage.SchemaTooNewError as exc:
        raise ConfigError(f"QINGSHOU_DB: {exc}") from exc
    except storage.StorageError as exc:
        raise ConfigError(f"QINGSHOU_DB: cannot open {_shown(settings.database)}: {exc}") from exc


def _shown(url: str) -> str:
    """A database URL as messages show it (no password)."""
    from bot.storage.postgresql.connector import safe_url

    return safe_url(url)


def _settings(args: argparse.Namespace) -> Settings:
    settings = load_settings(dotenv=Path(".env"))
    if getattr(args, "db", None):
        from dataclasses import replace

        settings = replace(settings, db_path=Path(args.db), db_url=args.db)
    return settings


#: What to do when the emulator cannot run: a production install (``pip install .``) has no
#: aiohttp, which only the emulator's HTTP server needs.
SANDBOX_EXTRA = "pip install 'qingshou[sandbox]'"


def _emulator_missing() -> str | None:
    """Why the emulator (tgemu) cannot be imported here, or None when it can."""
    try:
        import tgemu  # noqa: F401
    except ModuleNotFoundError as exc:
        if (exc.name or "").partition(".")[0] not in {"aiohttp", "tgemu"}:
            raise
        return f"{exc.name} is not installed"
    return None


def _refuse_without_emulator(what: str) -> int | None:
    """Exit status 2 and one line, ``what`` and the extra to install, when the emulator is
    missing; None when it is there."""
    missing = _emulator_missing()
    if missing is None:
        return None
    print(f"qingshou: {what} ({missing}): {SANDBOX_EXTRA}", file=sys.stderr)
    return 2


def cmd_run(args: argparse.Namespace) -> int:
    """Run the bot: against Telegram with a token, else the local sandbox."""
    settings = _settings(args)
    if settings.sandbox:
        refused = _refuse_without_emulator(
            "QINGSHOU_BOT_TOKEN is not set, and the local sandbox that runs instead needs the "
            "emulator's extra"
        )
        if refused is not None:
            return refused
        print("QINGSHOU_BOT_TOKEN is not set: starting the local sandbox instead of Telegram.")
        return cmd_sandbox(args)
    from bot.app import build_application

    # Open the database once before polling, so a bad QINGSHOU_DB is named, not a traceback.
    async def _check() -> None:
        storage = await open_storage(settings)
        await storage.close()

    asyncio.run(_check())
    app = build_application(settings)
    if settings.webhook_url is not None:
        from bot.runner import serve

        log.info("starting webhook mode: Telegram posts to %s", settings.webhook_url)
        asyncio.run(serve(app))
        return 0
    log.info("starting long polling against %s", settings.api_url)
    app.run_polling(allowed_updates=["message", "callback_query"], drop_pending_updates=False)
    return 0


def cmd_sandbox(args: argparse.Namespace) -> int:
    """The emulator on loopback, the bot against it, and a demo cooperative."""
    refused = _refuse_without_emulator("the sandbox needs the emulator's extra")
    if refused is not None:
        return refused
    from bot.sandbox import run_sandbox
    from tgemu import EmulatorStartError

    settings = _settings(args)
    host = getattr(args, "host", "127.0.0.1")
    port = getattr(args, "port", 8080)
    db = Path(args.db) if getattr(args, "db", None) else None
    remote = getattr(args, "allow_remote", False)
    try:
        asyncio.run(run_sandbox(settings, host=host, port=port, db_path=db, allow_remote=remote))
    except EmulatorStartError as exc:
        print(f"qingshou: {exc}", file=sys.stderr)
        return 2
    return 0


def cmd_emulator(args: argparse.Namespace) -> int:
    """Only the emulator, for pointing a bot of your own at it."""
    refused = _refuse_without_emulator("the emulator needs its extra")
    if refused is not None:
        return refused
    from tgemu import BotSpec, EmulatorConfig, EmulatorStartError, serve

    config = EmulatorConfig(
        host=args.host,
        port=args.port,
        rate_limits=not args.no_limits,
        allow_remote=args.allow_remote,
    )
    bots = [
        BotSpec(token, f"local{i}_bot", f"Local bot {i}")
        for i, token in enumerate(args.token or [], start=1)
    ]

    def ready(emulator: object) -> None:
        url = getattr(emulator, "url", "")
        print(f"Telegram Bot API emulator on {url}; point a bot at base_url={url}/bot")

    try:
        asyncio.run(serve(config, bots=bots, users=args.user or [], on_ready=ready))
    except EmulatorStartError as exc:
        print(f"qingshou: {exc}", file=sys.stderr)
        return 2
    return 0


def cmd_invite(args: argparse.Namespace) -> int:
    """Make a one-time invite and print its code and deep link."""

    settings = _settings(args)
    role = Role(args.role)
    if role is not Role.ADMIN and not args.team:
        raise ConfigError(f"--team is required for a {role.value} invite")
    if args.hours <= 0:
        raise ConfigError("--hours must be more than 0")

    async def _go() -> int:
        now = datetime.now(UTC)
        storage = await open_storage(settings, now=now)
        try:
            team = None
            if args.team:
                team = await storage.find_team(args.team)
                if team is None and not args.create_team:
                    known = ", ".join(t.name for t in await storage.list_teams()) or "none yet"
                    raise ConfigError(
                        f"--team {args.team!r} does not exist (teams: {known}); "
                        "add --create-team to create it"
                    )
                if team is None:
                    team = await storage.ensure_team(args.team, now=now)
            invite = await storage.create_invite(
                role=role,
                team_id=team.id if team else None,
                created_by=None,
                now=now,
                ttl=timedelta(hours=args.hours),
                staff_name=args.name,
            )
            username = await storage.get_meta("bot_username")
        finally:
            await storage.close()
        print(f"role:    {role.value}")
        if team:
            print(f"team:    {team.name}")
        if invite.staff_name:
            print(f"name:    {invite.staff_name} (as the ledger names them)")
        print(f"code:    {invite.code}")
        print(f"link:    {deep_link(username, invite.code)}")
        print(f"expires: {invite.expires_at.astimezone(settings.tz):%Y-%m-%d %H:%M %Z}")
        if username is None:
            print(
                "(the bot has not run against this database yet, so its @username is unknown: "
                "they can also send it /start " + invite.code + ")"
            )
        return 0

    return asyncio.run(_go())


def cmd_backup(args: argparse.Namespace) -> int:
    """Copy the live database consistently to PATH."""
    from bot.storage import StorageError
    from bot.storage.postgresql import BACKUP_HELP

    settings = _settings(args)
    if settings.on_postgres:
        # A server database is dumped by the server's tools; say how instead of copying.
        print(BACKUP_HELP.format(url=_shown(settings.database)))
        return 0
    if not settings.db_path.exists():
        raise ConfigError(f"QINGSHOU_DB: {settings.db_path} does not exist")
    dest = Path(args.path)

    async def _backup() -> None:
        storage = await open_storage(settings)
        try:
            await storage.backup(dest)
        except StorageError as exc:
            raise ConfigError(f"backup to {dest}: {exc}") from exc
        finally:
            await storage.close()

    asyncio.run(_backup())
    print(f"backed up {settings.db_path} to {dest}")
    return 0


class _ProgressBar:
    """How far an import has got, on one line of ``out`` rewritten in place."""

    WIDTH = 30

    def __init__(self, out: TextIO, name: str) -> None:
        self._out = out
        self._name = name
        self._shown = False

    def __call__(self, done: float | None, rows: int) -> None:
        if done is None:
            text = f"{self._name}: {rows:,} rows read"
        else:
            filled = round(done * self.WIDTH)
            bar = "#" * filled + "-" * (self.WIDTH - filled)
            text = f"{self._name} [{bar}] {done:4.0%}, {rows:,} rows read"
        self._out.write("\r" + text)
        self._out.flush()
        self._shown = True

    def end(self) -> None:
        if self._shown:
            self._out.write("\n")
            self._out.flush()


async def run_import(
    storage: Storage,
    path: Path,
    *,
    team: str,
    dry_run: bool,
    now: datetime,
    tz: tzinfo,
    locale: str,
    out: TextIO,
    progress: TextIO | None = None,
) -> ImportOutcome:
    """``qingshou import``: the same path as a file sent to the bot, reported on ``out``,
    with a progress bar on ``progress`` when given. The file is read by the reader (in
    batches), never held here; the import is one transaction (a kill leaves nothing).

    Refused rows are written to ``<file>-errors.csv`` beside the file (reasons in ``locale``).
    Raises :class:`ConfigError` for an unknown team, :class:`LedgerError` for an unreadable file.
    """
    from bot.domain.casefile import local_date
    from bot.i18n import gettext
    from bot.imports import error_report, import_bytes

    teams = {t.name: t for t in await storage.list_teams()}
    if team not in teams:
        known = ", ".join(teams) or "none yet"
        raise ConfigError(f"--team: no team called {team!r} (teams: {known})")
    size = (await asyncio.to_thread(path.stat)).st_size
    problem = check_upload(path.name, size)
    if problem is not None:
        raise ConfigError(f"{path}: {problem.value.replace('_', ' ')} (send a .csv or .xlsx)")
    bar = None if progress is None else _ProgressBar(progress, path.name)
    try:
        outcome = await import_bytes(
            storage,
            path,
            file_name=path.name,
            team_id=teams[team].id,
            actor_id=None,
            now=now,
            today=local_date(now, tz),
            dry_run=dry_run,
            progress=bar,
            # The bot's way, a reader process: it parses while this process writes (on an idle
            # 2-core machine 10.5 s against 14.6 s in a thread for 100 000 rows; the thread
            # peaks lower, 1.28x the floor against 1.5x: bench/import_bench.py measures both).
        )
    finally:
        if bar is not None:
            bar.end()
    if not dry_run:
        # The queue's sort keys of the cases written, in batches (the bot beside it may be
        # answering meanwhile); a read before this works a stale key out itself.
        await storage.refresh_queue(today=local_date(now, tz), tz=tz)
    summary = outcome.plan.summary()
    verb = "would import" if dry_run else "imported"
    print(
        f"{path.name} {verb} into team {team}: {summary['new']} new, {summary['updated']} "
        f"updated, {summary['unchanged']} unchanged, {summary['refused']} refused rows",
        file=out,
    )
    if outcome.plan.errors:
        report = path.with_name(path.stem + "-errors.csv")
        content = error_report(outcome.plan, lambda m: gettext(locale, m))
        await asyncio.to_thread(report.write_bytes, content)
        print(f"refused rows and reasons: {report}", file=out)
    return outcome


def _ledger_refusal(settings: Settings, file_name: str, exc: LedgerError) -> str:
    """Why a ledger file cannot be read, in words (the bot's own message, as plain text in the
    cooperative's language): an administrator at the server reads no message keys."""
    import html
    import re
    from dataclasses import dataclass

    from bot.i18n import gettext
    from bot.imports import missing_columns
    from bot.render import Renderer

    @dataclass(frozen=True)
    class _File:
        file_name: str

    locale = settings.default_locale
    text = Renderer(settings.tz).render(
        locale,
        "imports/unreadable",
        record=_File(file_name),
        code=exc.code,
        missing=missing_columns(exc.params.get("missing", ""), lambda m: gettext(locale, m)),
        line=exc.params.get("line"),
        params=dict(exc.params),
    )
    return html.unescape(re.sub(r"<[^>]+>", "", text)).strip()


def cmd_import(args: argparse.Namespace) -> int:
    """Import (or with --dry-run only check) a ledger export into a team."""
    from bot.domain.ledger import LedgerError

    settings = _settings(args)
    path = Path(args.file)
    if not path.is_file():
        raise ConfigError(f"{path}: no such file")

    async def _go() -> int:
        now = datetime.now(UTC)
        storage = await open_storage(settings, now=now)
        try:
            await run_import(
                storage,
                path,
                team=args.team,
                dry_run=args.dry_run,
                now=now,
                tz=settings.tz,
                locale=settings.default_locale,
                out=sys.stdout,
                progress=sys.stderr if args.progress or sys.stderr.isatty() else None,
            )
        except LedgerError as exc:
            print(_ledger_refusal(settings, path.name, exc), file=sys.stderr)
            return 1
        finally:
            await storage.close()
        return 0

    return asyncio.run(_go())


def _day(text: str, today: date, option: str) -> date:
    from bot.domain.dates import DateError, parse_past_date

    try:
        return parse_past_date(text, today)
    except DateError as exc:
        raise ConfigError(f"{option} {text!r}: not a day up to today ({exc.code})") from exc


async def run_export(
    storage: Storage,
    *,
    team: str | None,
    start: date,
    end: date,
    fmt: str,
    sheets: Sequence[str],
    out: Path | None,
    now: datetime,
    tz: tzinfo,
    locale: str,
) -> dict[str, int]:
    """``qingshou export``: what /export sends, written to ``out`` (a CSV of one sheet may go
    to standard output). The operator is an admin: every team, or ``team``. Rows per sheet."""
    from bot.domain.casefile import local_date
    from bot.exports import ExportRequest, make_period, write_csv, write_csv_zip, write_xlsx

    team_id = None
    if team is not None:
        teams = {t.name: t.id for t in await storage.list_teams()}
        if team not in teams:
            known = ", ".join(teams) or "none yet"
            raise ConfigError(f"--team: no team called {team!r} (teams: {known})")
        team_id = teams[team]
    operator = User(0, 0, "export", None, Role.ADMIN, None, None, None, None, True, None, now)
    request = ExportRequest(
        viewer=operator,
        team_id=team_id,
        period=make_period(start, end, tz),
        tz=tz,
        today=local_date(now, tz),
        locale=locale,
        sheets=tuple(sheets),
    )
    if fmt == "xlsx":
        assert out is not None
        return await write_xlsx(storage, request, out, seconds=None)
    if out is not None and out.suffix.lower() == ".zip":
        return await write_csv_zip(storage, request, out)
    (sheet,) = request.sheets or ("cases",)
    if out is None:
        return {sheet: await write_csv(storage, request, sheet, sys.stdout)}
    # Opened once; the rows are written from a worker thread (bot.exports).
    with open(out, "w", encoding="utf-8-sig", newline="") as fh:  # noqa: ASYNC230
        return {sheet: await write_csv(storage, request, sheet, fh)}


def cmd_export(args: argparse.Namespace) -> int:
    """Export cases and their history like /export: XLSX (every sheet), a ZIP of CSVs, or one
    sheet as CSV. Headers in --lang, text cells defused, people by their staff names."""
    from bot.domain.casefile import local_date
    from bot.exports import SHEET_KEYS
    from bot.i18n import SUPPORTED_LOCALES

    settings = _settings(args)
    now = datetime.now(UTC)
    today = local_date(now, settings.tz)
    end = _day(args.to, today, "--to") if args.to else today
    start = _day(args.start, today, "--from") if args.start else end - timedelta(days=29)
    if end < start:
        raise ConfigError(f"--to {end} comes before --from {start}")
    out = Path(args.out) if args.out else None
    fmt = args.format or ("xlsx" if out is not None and out.suffix.lower() == ".xlsx" else "csv")
    sheets = tuple(dict.fromkeys(args.sheet or ()))
    unknown = [s for s in sheets if s not in SHEET_KEYS]
    if unknown:
        raise ConfigError(f"--sheet {unknown[0]!r}: one of {', '.join(SHEET_KEYS)}")
    if fmt == "xlsx" and out is None:
        raise ConfigError("--format xlsx needs --out FILE (a workbook is not text)")
    single_csv = fmt == "csv" and (out is None or out.suffix.lower() != ".zip")
    if single_csv and len(sheets) > 1:
        raise ConfigError("a CSV holds one sheet: give one --sheet, or --out FILE.zip for several")
    locale = args.lang or settings.default_locale
    if locale not in SUPPORTED_LOCALES:
        raise ConfigError(f"--lang {locale!r}: one of {', '.join(SUPPORTED_LOCALES)}")

    async def _go() -> dict[str, int]:
        storage = await open_storage(settings, now=now)
        try:
            return await run_export(
                storage,
                team=args.team,
                start=start,
                end=end,
                fmt=fmt,
                sheets=sheets,
                out=out,
                now=now,
                tz=settings.tz,
                locale=locale,
            )
        finally:
            await storage.close()

    from bot.exports import ExportFailed

    try:
        counts = asyncio.run(_go())
    except ExportFailed as exc:
        print(f"export failed: {exc}", file=sys.stderr)
        return 1
    if out is not None:
        held = ", ".join(f"{n} {key}" for key, n in counts.items())
        print(f"exported {held} ({start} to {end}) to {out}")
    return 0


def cmd_db_migrate(args: argparse.Namespace) -> int:
    """Bring the database to this qingshou's schema (the bot does it at start as well)."""
    settings = _settings(args)

    async def _go() -> list[tuple[int, str]]:
        now = datetime.now(UTC)
        storage = await open_storage(settings, now=now)
        try:
            return await storage.migrations_applied(since=now)
        finally:
            await storage.close()

    applied = asyncio.run(_go())
    for version, name in applied:
        print(f"applied {version:04d} {name}")
    latest = applied[-1][0] if applied else None
    if latest is None:
        print(f"{_shown(settings.database)}: up to date")
    else:
        print(f"{_shown(settings.database)}: now at schema version {latest}")
    return 0


def cmd_db_copy(args: argparse.Namespace) -> int:
    """Copy a cooperative from SOURCE to the empty TARGET (SQLite <-> PostgreSQL)."""
    from bot import storage as st
    from bot.storage.copy import copy_database

    async def _open(url: str, now: datetime) -> Storage:
        try:
            return await st.open_storage(url, now=now)
        except st.StorageError as exc:
            raise ConfigError(f"cannot open {_shown(url)}: {exc}") from exc

    async def _go() -> int:
        now = datetime.now(UTC)
        if not st.is_postgres_url(args.source) and not st.storage_path(args.source).exists():
            raise ConfigError(f"the source {args.source} does not exist")
        source = await _open(args.source, now)
        try:
            target = await _open(args.target, now)
            try:
                copied = await copy_database(source, target, now=now)  # type: ignore[arg-type]
            except st.StorageError as exc:
                raise ConfigError(f"copy refused: {exc}") from exc
            finally:
                await target.close()
        finally:
            await source.close()
        width = max(len(c.table) for c in copied)
        for c in copied:
            print(f"{c.table:<{width}}  {c.target_rows:>9} rows")
        total = sum(c.target_rows for c in copied)
        print(
            f"copied {total} rows in {len(copied)} tables, every count checked: "
            f"{_shown(args.source)} -> {_shown(args.target)}"
        )
        return 0

    return asyncio.run(_go())


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="qingshou",
        description="清收 qingshou: a Telegram assistant for collectors of overdue loans.",
        epilog="Settings come from QINGSHOU_* environment variables or a .env file; see README.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug details")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("run", help="run the bot (the local sandbox when no token is set)")
    p.add_argument("--db", help="SQLite file (default: QINGSHOU_DB or qingshou.db)")
    p.add_argument("--port", type=int, default=8080, help="sandbox port (no token only)")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("sandbox", help="emulator + bot + demo cooperative, all on loopback")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default loopback)")
    p.add_argument("--port", type=int, default=8080, help="port of the emulator (default 8080)")
    p.add_argument("--db", help="keep the sandbox database here (default: a fresh temporary one)")
    p.add_argument(
        "--allow-remote",
        action="store_true",
        help="let --host be a non-loopback address: anyone who reaches it can act as anyone",
    )
    p.set_defaults(func=cmd_sandbox)

    p = sub.add_parser("emulator", help="only the local Telegram Bot API emulator")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8081)
    p.add_argument("--token", action="append", help="a bot token to accept (repeatable)")
    p.add_argument("--user", action="append", help="create a user with this first name")
    p.add_argument("--no-limits", action="store_true", help="switch off flood limits (429)")
    p.add_argument(
        "--allow-remote",
        action="store_true",
        help="let --host be a non-loopback address: anyone who reaches it can act as anyone",
    )
    p.set_defaults(func=cmd_emulator)

    p = sub.add_parser("invite", help="make a one-time invite code and deep link")
    p.add_argument("--role", choices=[r.value for r in Role], default=Role.COLLECTOR.value)
    p.add_argument("--team", help="team name (created if new); required except for admins")
    p.add_argument("--hours", type=float, default=72, help="hours until it expires (default 72)")
    p.add_argument("--name", help="their name on the cooperative's books (the ledger's collector)")
    p.add_argument("--create-team", action="store_true", help="create --team if it is new")
    p.add_argument("--db", help="SQLite file (default: QINGSHOU_DB or qingshou.db)")
    p.set_defaults(func=cmd_invite)

    p = sub.add_parser("import", help="import the cooperative's ledger export (CSV or XLSX)")
    p.add_argument("file", help="the ledger file (.csv in UTF-8 or GB18030, or .xlsx)")
    p.add_argument("--team", required=True, help="the team the cases belong to")
    p.add_argument("--dry-run", action="store_true", help="only show what would change")
    p.add_argument(
        "--progress",
        action="store_true",
        help="show a progress bar on stderr (shown anyway when stderr is a terminal)",
    )
    p.add_argument("--db", help="SQLite file (default: QINGSHOU_DB or qingshou.db)")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser(
        "export", help="cases and their history as XLSX or CSV (like /export in the bot)"
    )
    p.add_argument("--team", help="only this team (default: every team)")
    p.add_argument(
        "--from",
        dest="start",
        metavar="DAY",
        help="first day of the history (default: 30 days up to --to)",
    )
    p.add_argument("--to", metavar="DAY", help="last day of the history (default: today)")
    p.add_argument(
        "--format", choices=("xlsx", "csv"), help="default: xlsx for --out *.xlsx, else csv"
    )
    p.add_argument(
        "--sheet",
        action="append",
        metavar="NAME",
        help="cases, meetings, commitments, instalments, payments or approvals "
        "(repeatable; default: every sheet, or cases for a single CSV)",
    )
    p.add_argument("--lang", help="language of the headers (default: QINGSHOU_LANG)")
    p.add_argument(
        "--out",
        help="write to this file (.xlsx, .csv, or .zip for CSVs of several "
        "sheets; default: one CSV on standard output)",
    )
    p.add_argument("--db", help="SQLite file (default: QINGSHOU_DB or qingshou.db)")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser(
        "backup", help="consistent copy of the live database (PostgreSQL: explains pg_dump)"
    )
    p.add_argument("path", help="where to write the copy")
    p.add_argument("--db", help="SQLite file (default: QINGSHOU_DB or qingshou.db)")
    p.set_defaults(func=cmd_backup)

    p = sub.add_parser("db", help="the database: migrate it, or copy it to another backend")
    dbsub = p.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    q = dbsub.add_parser("migrate", help="apply the migrations this database lacks")
    q.add_argument("--db", help="database URL or SQLite file (default: QINGSHOU_DB)")
    q.set_defaults(func=cmd_db_migrate)
    q = dbsub.add_parser(
        "copy",
        help="copy a cooperative from SOURCE into the empty TARGET (stop the bot first)",
        description="Copy every row from SOURCE to TARGET, e.g. qingshou db copy qingshou.db "
        "postgresql://qingshou@db.example/qingshou. The target must be a new, empty database; "
        "both are migrated first; the row counts of every table are compared at the end.",
    )
    q.add_argument("source", help="a SQLite file or URL, or a postgresql:// URL")
    q.add_argument("target", help="an empty database: a postgresql:// URL or a new SQLite file")
    q.set_defaults(func=cmd_db_copy)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # httpx logs every request URL at INFO, and the URL contains the bot token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # APScheduler reports every tick of every job at INFO.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    try:
        return int(args.func(args))
    except ConfigError as exc:
        print(f"qingshou: configuration error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
