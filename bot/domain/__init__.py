"""Pure domain code for qingshou (清收): money, the case model, ledger import, urgency.

Nothing in this package reads the clock, touches the database or talks to Telegram. Time is
passed in (``today: date`` / ``now: datetime``); money is an ``int`` in fen (分, 1 yuan = 100 fen);
errors a user will see carry a machine-readable ``code`` and ``params`` for the UI to translate.
"""
