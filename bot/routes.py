"""Every kind of button of the bot, declared once: its prefix and the typed values it carries.

A button is drawn on one screen and answered by another (the case card draws "✍ Outcome",
handlers/outcome.py answers it; a reminder draws "📂 Open case", handlers/cases.py answers it),
so its route lives here, below both, and neither imports the other. The flow engine's own three
(an answer, ✖, continue / drop) are declared with the engine, in :mod:`bot.flows`.

The prefixes are what messages already in chats carry: never change one, nor a field's values
or bounds (tests/unit/test_callbacks.py pins them); a new kind of button is a new prefix.
"""

from __future__ import annotations

from bot import callbacks
from bot.callbacks import Choice, Int
from bot.domain.digest import DrillDown
from bot.i18n import SUPPORTED_LOCALES

# -- one's own settings ---------------------------------------------------------------------------

#: A language button of /lang: (our locale id).
LANGUAGE = callbacks.route("lang", Choice(SUPPORTED_LOCALES))

# -- people and access (/users) -------------------------------------------------------------------

#: A page of the list: (page number).
USERS_PAGE = callbacks.route("us.p", Int(maximum=100_000))
#: A person's card; "switch off?" (asks first); switch off; switch on: (user id).
USER = callbacks.route("us.s", Int())
ASK_OFF = callbacks.route("us.a", Int())
SWITCH_OFF = callbacks.route("us.off", Int())
SWITCH_ON = callbacks.route("us.on", Int())

# -- cases: the queue, the card and what starts from it ------------------------------------------

#: The two lists a queue page belongs to: the whole queue, today's.
QUEUE, TODAY = "q", "t"
#: Open a case's card (the queue, a choice of matches, a digest list, a reminder): (case id).
OPEN_CASE = callbacks.route("cs.o", Int())
#: A page of the queue or of today's list: (which list, page number).
QUEUE_PAGE = callbacks.route("cs.l", Choice((QUEUE, TODAY)), Int(maximum=100_000))
#: The "still unknown" checklist of a case (the card's and the brief's ❓): (case id).
UNKNOWNS = callbacks.route("cs.u", Int())
#: The card's "📄 Full file": the borrower, loan, security, parties and history (case id).
CASE_FILE = callbacks.route("cs.f", Int())
#: "📝 Note" on the card: (case id).
NOTE = callbacks.route("cn", Int())
#: "Choose this case" (several matched) and "👤 Lead collector" on a card: (case id).
LEAD_COLLECTOR = callbacks.route("ac", Int())
#: "🧭 Prepare" (the card, /today, a choice of cases, the brief, a missed instalment): (case id).
PREPARE = callbacks.route("pp", Int())
#: "✍ Outcome" (the card, the brief, a missed instalment): (case id).
OUTCOME = callbacks.route("oc", Int())
#: "🤝 Commitment" on the card and after an outcome: (case id).
COMMIT = callbacks.route("cm", Int())
#: "✖ Cancel commitment" on the card: (commitment id).
UNCOMMIT = callbacks.route("cx", Int())
#: "🔒 Ask the supervisor" on the card: (case id).
CONCESSION = callbacks.route("cq", Int())
#: "🛡 Guarantee kind" on the card: ask the kind of a guarantee the file does not give (case id).
GUARANTEE_KIND = callbacks.route("gk", Int())
#: "📨 Serve a notice" on the card (issue 19: a collection notice to one person): (case id).
NOTICE = callbacks.route("nt", Int())

#: "Keep my answers" / "Discard" after /cancel of a prep with answers: (the cancelled flow's
#: id, keep or drop).
PREP_DRAFT = callbacks.route("pd", Int(), Choice(("keep", "drop")))

# -- approvals, reminders, the digest -------------------------------------------------------------

#: The supervisor's answer to an approval request (the request, its reminder, the digest):
#: (approval id, approve / reject / counter).
APPROVAL_ANSWER = callbacks.route("ap", Int(), Choice(("ok", "no", "ct")))
#: The answers a collector gives on a reminder's instalment row.
INSTALMENT_ANSWERS = ("paid", "partial", "missed")
#: "Paid in full" / "Partial" / "Missed" on a reminder: (instalment id, answer).
INSTALMENT = callbacks.route("ri", Int(), Choice(INSTALMENT_ANSWERS))
#: A drill-down list of the digest: (which list, team id, a number: the collector's id for
#: "coll"; for "broken" the start of the digest's span in Unix seconds, so the list is that
#: digest's whenever it is pressed — 0, as buttons sent before issue 16 carry: since the start
#: of yesterday; else 0).
DRILL = callbacks.route("dg", Choice(tuple(k.value for k in DrillDown)), Int(), Int())
#: An admin's tap on a team of the cooperative digest: (team id).
TEAM = callbacks.route("dg.t", Int())

# -- a ledger sent while another question was open (issue 16) ----------------------------------

#: "Import" / "Discard" under the offer of a kept ledger: (held file id, import / discard).
HELD_FILE = callbacks.route("hf", Int(), Choice(("import", "discard")))

# -- the flow engine's own buttons (bot/flows) --------------------------------------------------

#: A flow's answer button: (flow id, version of the question, option code).
ANSWER = callbacks.route("f", Int(), Int(), Int())
#: The ✖ button under every question: (flow id, version).
CANCEL = callbacks.route("fx", Int(), Int())
#: "Continue X / drop X": (the waiting flow's id, keep the open one or start the new one).
CONFLICT = callbacks.route("fc", Int(), Choice(("keep", "new")))
