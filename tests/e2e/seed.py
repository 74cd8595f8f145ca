"""Cases for end-to-end tests, written through the same storage path an import takes."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from bot.domain.cases import Borrower, Loan, RelatedParty, Security
from bot.domain.importing import plan_import
from bot.domain.ledger import LedgerParseResult, LedgerRow
from bot.domain.legal import GuaranteeKind
from tests.e2e.conftest import START, World

YUAN = 100
#: The cooperative's calendar day at START (09:00 in Shanghai).
TODAY = date(2026, 11, 30)


def row(
    line: int,
    contract: str,
    name: str,
    *,
    dpd: int,
    overdue_yuan: int,
    collector: str | None,
    phone: str | None = None,
    guarantees: str = "",
    collateral: str | None = None,
    collateral_yuan: int | None = None,
    parties: tuple[RelatedParty, ...] = (),
    maturity: date | None = None,
    guarantee_kind: GuaranteeKind | None = None,
    guarantee_end: date | None = None,
) -> LedgerRow:
    """A ledger row; ``maturity`` (到期日), ``guarantee_kind`` (保证方式) and ``guarantee_end``
    (the agreed 保证期间's end) as the legal columns give them (issue 19)."""
    return LedgerRow(
        line=line,
        borrower=Borrower(name, phone=phone),
        loan=Loan(
            contract_no=contract,
            overdue_principal=overdue_yuan * YUAN,
            overdue_since=TODAY - timedelta(days=dpd),
            principal_outstanding=(overdue_yuan + 10_000) * YUAN,
            maturity=maturity,
        ),
        security=Security(
            guarantees,
            collateral,
            None if collateral_yuan is None else collateral_yuan * YUAN,
            guarantee_kind,
            guarantee_end,
        ),
        related_parties=parties,
        collector=collector,
    )


async def ledger(world: World, team: str, rows: list[LedgerRow], *, at: datetime = START) -> None:
    """Import ``rows`` into ``team`` the way the bot's "Import" button does."""
    team_id = (await world.storage.ensure_team(team, now=at)).id
    parsed = LedgerParseResult(rows=rows, errors=[], columns={})
    plan = plan_import(
        parsed,
        team_id=team_id,
        existing=await world.storage.import_snapshot(),
        collectors=await world.storage.collector_refs(team_id),
    )
    import_id = await world.storage.create_import(
        team_id=team_id, created_by=None, file_name="ledger.csv", data=None, now=at
    )
    assert await world.storage.apply_import(
        plan, import_id=import_id, actor_id=None, now=at, notify=False
    )


async def case_id(world: World, contract: str) -> int:
    return (await world.storage.import_snapshot())[contract].case_id
