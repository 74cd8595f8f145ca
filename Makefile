# qingshou — the commands a newcomer needs. Everything runs inside .venv, created on demand.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint fmt bench install clean messages screenshots pictures

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

## run: the bot. With QINGSHOU_BOT_TOKEN set it talks to Telegram; without, the local sandbox.
run: $(STAMP)
	$(BIN)/qingshou run

## test: the whole suite (unit, end-to-end through the emulator, browser tests when chromium is present),
## side by side in TEST_WORKERS processes (pytest-xdist), each with its own emulator, port and
## database. The storage contract runs on SQLite and on PostgreSQL: each worker starts a throwaway
## PostgreSQL cluster (tests/pg_cluster.py, as the postgres user when root; skipped without it). 4 is quickest on 2 cores: most end-to-end tests wait on the bot more than they compute.
## worksteal: an idle worker takes tests queued on a busy one (one test runs ~45 s alone).
TEST_WORKERS ?= 4
test: $(STAMP)
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist worksteal

## lint: ruff (lint + format check) and mypy (strict on bot/, reminders/ and tgemu/).
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

fmt: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## bench: throughput of qingshou vs. a bare python-telegram-bot echo bot on the same emulator,
## then a 100,000-row ledger import (time and peak memory), then a hostile 1,000,000-row XLSX
## with no header: time to refusal and another person's /help latency meanwhile; then the bot
## killed with SIGKILL ten times during a burst of 200 notes (answered, lost, doubled); then the
## supervisor digest of a 100,000-case team with a year of history (time, peak memory).
## Then the XLSX export of a team with 100,000 cases and a year of history (time, peak memory),
## and the old (openpyxl) and new (xlsxwriter, child process) writers on the same 100,000 rows.
## The /cases page at 1 k, 10 k, 100 k visible cases (1 M too at full size: its seed takes ~35 min
## once, then it is cached under /tmp/qingshou-bench).
## Reminders (issue 10): the bot killed with SIGKILL 20 times during 10,000 due reminders over 500
## collectors (delivered, dead, lost, duplicates); their fan-out against Telegram's 30 msg/s
## (msg/s, 429s, /help latency meanwhile); a million pending instalments (start-up, RSS, every
## poller claim of a tick against 50 ms). The papers (issue 19): ms per PDF and the event loop's
## lateness while they are made, against idle. Replicas (issue 18): three bot processes on one
## database behind the emulator's webhook delivery, one killed ten times, 200 notes and 2,000
## reminders (unanswered, doubled, repeated vs in flight, per-chat order, busiest second).
## Each figure is printed beside its goal, floor or peer
## as a ratio. Quick by default (BENCH_SIZE=quick): the parts whose size only makes them slow
## run smaller (the hostile XLSX, the reminder crash's waits for dead leases); the figures issue
## 17 quotes (100 k import, 100 k digest and export, a million instalments) keep their size.
## `make bench BENCH_SIZE=full` runs every part at its full size (the commands as listed, without
## the quick arguments; roughly twice as long).
BENCH_SIZE ?= quick
quick = $(if $(filter quick,$(BENCH_SIZE)),$(1))
comma := ,
bench: $(STAMP)
	@echo "make bench ($(BENCH_SIZE)) started $$(date -u +%T), $$(uptime | sed 's/.*load/load/')"
	$(BIN)/python -m bench.run_all
	$(BIN)/python -m bench.storage_trips
	$(BIN)/python -m bench.queue_bench $(call quick,--sizes 1000$(comma)10000$(comma)100000)
	$(BIN)/python -m bench.import_bench
	$(BIN)/python -m bench.xlsx_bench
	$(BIN)/python -m bench.crash_bench
	$(BIN)/python -m bench.digest_bench
	$(BIN)/python -m bench.export_bench
	$(BIN)/python -m bench.export_bench --writers
	$(BIN)/python -m bench.reminder_crash $(call quick,--kills 10 --expire-leases)
	$(BIN)/python -m bench.fanout_bench
	$(BIN)/python -m bench.reminders_bench
	$(BIN)/python -m bench.pg_cases_bench
	$(BIN)/python -m bench.documents_bench
	$(BIN)/python -m bench.replicas
	@echo "make bench ($(BENCH_SIZE)) ended $$(date -u +%T), $$(uptime | sed 's/.*load/load/')"

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache

## messages: extract every marked string into the template catalog and merge it into each language.
messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k N_ --no-location --sort-output --omit-header \
		-o templates/locale/messages.pot .
	$(BIN)/pybabel update -i templates/locale/messages.pot -d templates/locale \
		--no-fuzzy-matching --ignore-obsolete --width 100

## pictures: page 1 of the collection notice and of the repayment agreement as docs/*-page1.png
## (pdftoppm, from Debian's poppler-utils).
pictures: $(STAMP)
	$(BIN)/python docs/pictures.py

## screenshots: regenerate docs/webchat*.png from the browser tests (a real conversation).
screenshots: $(STAMP)
	QINGSHOU_SCREENSHOT_DIR=docs $(BIN)/python -m pytest tests/browser -q -m browser
