"""Seed data for the benchmarks: one overdue case per collector, written the way an import is."""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from bot.domain.cases import Borrower, Loan, Security
from bot.domain.importing import plan_import
from bot.domain.ledger import LedgerParseResult, LedgerRow
from bot.storage import Storage


async def one_case_each(
    storage: Storage, team_id: int, collectors: list[str], *, now: datetime
) -> None:
    """Case ``HT<i>`` (borrower ``借款人<i>``) led by ``collectors[i]`` (a staff name)."""
    rows = [
        LedgerRow(
            line=i + 2,
            borrower=Borrower(f"借款人{i}"),
            loan=Loan(
                contract_no=f"HT{i}",
                overdue_principal=900_000,
                overdue_since=now.date() - timedelta(days=40 + i % 30),
                principal_outstanding=1_900_000,
            ),
            security=Security("", None, None),
            related_parties=(),
            collector=name,
        )
        for i, name in enumerate(collectors)
    ]
    plan = plan_import(
        LedgerParseResult(rows=rows, errors=[], columns={}),
        team_id=team_id,
        existing=await storage.import_snapshot(),
        collectors=await storage.collector_refs(team_id),
    )
    import_id = await storage.create_import(
        team_id=team_id, created_by=None, file_name="seed.csv", data=None, now=now
    )
    await storage.apply_import(plan, import_id=import_id, actor_id=None, now=now, notify=False)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (Linux /proc)."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # After the ")" that closes the command name: state is field 3, utime 14, stime 15.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
