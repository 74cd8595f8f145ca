"""Page 1 of each paper (docs/documents.md) as a PNG in docs/: `make pictures`.

The papers are the demo's: 郑海's loan, a notice to his guarantor 李保 and the agreement of a
three-instalment plan, in 简体中文, made by the bot's own code (bot/documents.py). Page 1 is
drawn by pdftoppm (Debian's poppler-utils: `apt-get install poppler-utils`).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path

from bot.documents import AgreementPaper, Issuer, NoticePaper, Party, render_pdf
from bot.domain.cases import PartyRole

DOCS = Path(__file__).resolve().parent
TODAY = date(2026, 12, 8)
ISSUER = Issuer("东城信用社", "东城区和平路 8 号 · 010-6512 3456", "张伟")
BORROWER = Party("郑海", id_number="110101198001011234")
GUARANTOR = Party("李保", role=PartyRole.GUARANTOR)

NOTICE = NoticePaper(
    addressee=GUARANTOR,
    borrower=BORROWER,
    contract_no="DC2024-0521",
    balance=5_000_000,
    due_on=date(2024, 3, 1),
    overdue_principal=5_000_000,
    overdue_interest=321_540,
    paid_since=800_000,
    owed=4_521_540,
    today=TODAY,
    pay_by=date(2026, 12, 15),
    issuer=ISSUER,
)
AGREEMENT = AgreementPaper(
    borrower=BORROWER,
    spouses=(Party("吴敏", role=PartyRole.SPOUSE),),
    guarantors=(GUARANTOR, Party("王强", role=PartyRole.GUARANTOR)),
    contract_no="DC2024-0521",
    owed_before=4_521_540,
    money_today=500_000,
    instalments=(
        (date(2026, 12, 25), 1_000_000),
        (date(2027, 1, 25), 1_500_000),
        (date(2027, 2, 25), 1_521_540),
    ),
    left_open=0,
    today=TODAY,
    issuer=ISSUER,
)


def main() -> int:
    if shutil.which("pdftoppm") is None:
        print("pdftoppm is missing: apt-get install poppler-utils", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        for name, paper in (("notice", NOTICE), ("agreement", AGREEMENT)):
            pdf = Path(tmp) / f"{name}.pdf"
            pdf.write_bytes(render_pdf("zh_Hans", name, paper))
            out = DOCS / f"{name}-page1"
            subprocess.run(
                ["pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile", pdf, out],
                check=True,
            )
            print(f"{out}.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
