# flask-stages: run, test and compare the lessons. `make help` lists the commands.
#
#   make stage 3      serve stage 3 on http://127.0.0.1:5000, reloading on edits (PORT=..., DEBUG=0)
#   make test         run the whole test suite; `make test 3` runs stage 3's tests
#   make diff 4       show what stage 4 adds to stage 3
#
# The first command on a fresh clone makes .venv and installs what it needs there: `make stage`
# only the lessons' packages, the first `make test`, `make grade` or `make watch` the tools too.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# Two steps: the lessons' packages (each stage's requirements.txt), then the test and grading tools.
LESSONS_STAMP := $(VENV)/.lessons-installed
STAMP := $(VENV)/.installed
STAGE_REQUIREMENTS := $(wildcard 0*/requirements.txt)
# Which Chromium the browser tests use, once `make browser` has found or installed one.
BROWSER_STAMP := $(VENV)/.browser

# `make stage 3`: make sees two goals, `stage` and `3`. The number is an argument
# of the first goal, so give it an empty recipe (no "Nothing to be done for '3'").
COMMANDS := stage test test-fast diff grade grade-all gradescope exercise watch
ifneq ($(filter $(firstword $(MAKECMDGOALS)),$(COMMANDS)),)
  N := $(word 2,$(MAKECMDGOALS))
  ifneq ($(N),)
    $(eval $(N):;@:)
  endif
endif
# What stage N's commands need first, as course.toml says (every stage's without N; nothing when N
# is not a stage): the files it fetches (e.g. stage 7's Socket.IO browser client, from npm), and
# `services` when its checks start programs (e.g. stage 7's redis-server and nginx).
NEEDS := $(shell $(PYTHON) tools/stages.py needs $(N) 2>/dev/null)
FETCHED = $(filter-out services,$(NEEDS))
# What `make bench` adds to .venv: the production server (gunicorn, gevent).
BENCH_STAMP := $(VENV)/.bench-installed

.DEFAULT_GOAL := help
.PHONY: help stage test test-fast lint diff setup browser grade grade-all gradescope sandbox exercise progress services bench bench-grading \
  watch attendant

help:
	@echo "flask-stages: Flask in small steps, from hello world to a realtime chat."
	@echo
	@echo "  make stage N       serve stage N on http://127.0.0.1:5000, restarting when you save a file"
	@echo "                     (DIR=path serves your copy, PORT=8000 another port, DEBUG=0 no reloader)"
	@echo "  make attendant     stage 7's attendant: asks a name and a password, keeps them in its .env"
	@echo "                     (DIR=path: in your copy)"
	@echo "  make test          run every test (browser tests included)"
	@echo "  make test N        run stage N's tests; DIR=path tests a copy of stage N there"
	@echo "  make test-fast     every test but the browser ones"
	@echo "  make lint          ruff's checks on every Python file (make test runs them first)"
	@echo "  make browser       find or install the Chromium the browser tests drive"
	@echo "  make diff N        show what stage N adds to stage N-1"
	@echo "  make bench         stage 7 under load: threading, gevent and Node.js (about 4 min)"
	@echo "  make bench-grading how fast the grader is: each stage's own folder, 3 runs (CLASS=30 adds grade-all)"
	@echo "  make exercise N    start stage N as an exercise: a copy of stage N-1 in exercises/"
	@echo "  make watch N       re-run stage N's checks on exercises/0N_* (or DIR=path) at every save"
	@echo "                     (BROWSER=1 adds the browser checks)"
	@echo "  make grade N       grade exercises/0N_* (or DIR=path, a student's folder): a scorecard"
	@echo "  make grade-all N SUBMISSIONS=dir OUT=dir [JOBS=2]   grade a class: grades.csv, index.html"
	@echo "  make gradescope N  build Gradescope's autograder zip for stage N (in dist/)"
	@echo "  make progress      which of your exercises pass"
	@echo
	@echo "Stages:"
	@$(PYTHON) tools/stages.py list

setup: $(STAMP)

$(LESSONS_STAMP): $(STAGE_REQUIREMENTS)
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "Python 3.10 or newer is needed; this is " + sys.version.split()[0])'
	@test -x $(PY) || { echo "Creating the virtualenv in $(VENV) ..."; $(PYTHON) -m venv $(VENV); }
	@echo "Installing the lessons' packages (once) ..."
	@$(PY) -m pip install --quiet --disable-pip-version-check $(addprefix -r ,$(STAGE_REQUIREMENTS))
	@touch $@

$(STAMP): requirements-dev.txt $(LESSONS_STAMP)
	@echo "Installing the test and grading tools (once) ..."
	@$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

# Exits non-zero, with the list of stages, when N is missing or unknown.
define require_stage
	@$(PYTHON) tools/stages.py folder "$(N)" >/dev/null
endef

# `make stage 4 DIR=exercises/04_forms`: the same server, port and reloader for a copy of stage 4.
stage: $(LESSONS_STAMP) $(FETCHED)
	$(require_stage)
	@$(PY) tools/serve.py $(N) $(if $(DIR),--dir "$(DIR)")

# Stage 7's own command, `flask --app app attendant`, run in its folder (or DIR; course.toml's
# commands say which stage's app has it): it asks for the attendant's name and password and writes
# them (the password hashed) to that folder's .env. The folder's secret key goes in first, so a
# .env the command starts still gets one.
ATTENDANT_DIR = $(or $(DIR),$(shell $(PYTHON) tools/stages.py command attendant))
attendant: $(LESSONS_STAMP)
	@test -d "$(ATTENDANT_DIR)" || { echo "There is no folder $(ATTENDANT_DIR)."; exit 2; }
	@$(PY) tools/secret_key.py "$(ATTENDANT_DIR)"
	@cd "$(ATTENDANT_DIR)" && FLASK_SKIP_DOTENV=1 "$(abspath $(VENV))/bin/flask" --app app attendant

test: $(STAMP) lint $(NEEDS) browser sandbox
	$(if $(N),$(require_stage))
	$(PYTEST) $(PYTEST_ARGS) $(if $(N),$(TEST_FILES))

test-fast: $(STAMP) lint $(NEEDS) sandbox
	$(if $(N),$(require_stage))
	$(PYTEST) -m "not browser" $(PYTEST_ARGS) $(if $(N),$(TEST_FILES))

# pyproject.toml's [tool.ruff] rules on every Python file of the repo (lessons, tools, tests, bench),
# before the tests run: each `# noqa` names a real exception.
lint: $(STAMP)
	@$(PY) -m ruff check --no-cache --output-format concise

# A system Chromium if there is one; else, as root with apt-get (a fresh CI machine),
# Debian's chromium; else Playwright's own (a laptop with internet). Quick once done.
browser: $(STAMP)
	@$(PY) tools/install_browser.py --stamp $(BROWSER_STAMP)

diff:
	$(require_stage)
	@$(PYTHON) tools/diff_stages.py $(N)

# `make grade 4 DIR=path JUNIT=out.xml JSON=out.json`: stage 4's checks on a sandboxed copy of path.
# make itself exits 2 on any failed recipe; STATUS=file keeps the grader's own exit status
# there (0 all passed, 1 a check failed, 2 could not grade) for scripts that need it.
grade: $(STAMP) $(NEEDS) browser sandbox
	$(require_stage)
	@$(PY) tools/grade.py $(N) $(if $(DIR),--dir "$(DIR)") $(if $(JUNIT),--junit "$(JUNIT)") \
	  $(if $(JSON),--json "$(JSON)"); status=$$?; \
	  $(if $(STATUS),echo $$status > "$(STATUS)";) exit $$status

# `make grade-all 4 SUBMISSIONS=class/ OUT=grades/ JOBS=2`: every folder in class/, each in
# its own sandbox; no shell ever sees a folder's name (see tools/grading/batch.py).
grade-all: $(STAMP) $(NEEDS) browser sandbox
	$(require_stage)
	@test -n "$(SUBMISSIONS)" -a -n "$(OUT)" || { echo "Usage: make grade-all N SUBMISSIONS=dir OUT=dir [JOBS=2]"; exit 2; }
	@$(PY) tools/grade_all.py $(N) --submissions "$(SUBMISSIONS)" --out "$(OUT)" $(if $(JOBS),--jobs "$(JOBS)")

# `make gradescope 4`: dist/gradescope-04_forms.zip, Gradescope's autograder for stage 4.
gradescope: $(FETCHED)
	$(require_stage)
	@$(PYTHON) tools/grading/gradescope.py $(N)

# bubblewrap isolates what grading runs: there already, or (root with apt-get, e.g. a fresh CI
# machine) Debian's package; else say how to get it (grading still works, marked not isolated).
sandbox:
	@command -v bwrap >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "Installing bubblewrap (the grader's sandbox) ..."; \
	    export DEBIAN_FRONTEND=noninteractive; \
	    apt-get install -y -qq bubblewrap >/dev/null 2>&1 || \
	      { apt-get update -qq && apt-get install -y -qq bubblewrap >/dev/null; }; \
	  else \
	    echo "The grader isolates submissions with bubblewrap: sudo apt-get install bubblewrap."; \
	    echo "Without it (or util-linux unshare) grading still works, but is marked NOT isolated."; \
	  fi; }

exercise:
	$(require_stage)
	@$(PYTHON) tools/exercise.py start $(N)

# `make watch 4 [DIR=path] [BROWSER=1]`: stage 4's checks on your copy again at every save, with the
# first failing one, its reason and its hint (tools/watch.py). Ctrl+C stops it.
watch: $(STAMP) $(NEEDS) $(if $(filter 1,$(BROWSER)),browser)
	$(require_stage)
	@$(PY) tools/watch.py $(N) $(if $(DIR),--dir "$(DIR)") $(if $(filter 1,$(BROWSER)),--browser)

progress: $(STAMP) $(FETCHED) browser
	@$(PY) tools/exercise.py progress

TEST_FILES = $(shell $(PYTHON) tools/stages.py tests $(N) 2>/dev/null)
# `make test 4`: stage 4's modules and the shared checks marked with it (--stage keeps those alone).
# Every check is also proven to bite: it must fail on each mutated copy of its stage that names it
# (tests/mutations; the repo's own stages only, so not on DIR).
PYTEST_ARGS = $(if $(N),--stage $(N)) $(if $(DIR),--stage-dir $(N)=$(DIR)) --mutations tests/mutations
# pytest-xdist hands out the checks one by one, each module of tests/harness/ whole (test_grading.py's
# module fixture starts all its gradings at once): tests/conftest.py's pytest_xdist_make_scheduler.
# One worker more than there are cores: the checks spend much of their time waiting for servers.
# JOBS=k runs k workers, JOBS=1 one process. (Not in pyproject.toml: the grader's own pytest
# runs stay serial.) JOBS is grade-all's too, so it has no default of its own here.
TEST_WORKERS = $(or $(JOBS),$(shell $(PYTHON) -c 'import os; print((os.cpu_count() or 1) + 1)'))
PYTEST = $(PY) -m pytest $(if $(filter 1,$(JOBS)),,-n $(TEST_WORKERS) --dist load)

# A file a stage fetches when first needed, never committed (course.toml's [[stage.fetch]]).
$(FETCHED):
	@$(PYTHON) tools/fetch.py $@

# The programs stage N's checks start (every stage's without N; course.toml's services), such as
# stage 7's redis-server and nginx. Each is there already, or (root with apt-get, e.g. a fresh CI
# machine) Debian's package; else say how to get it. The checks start and stop them.
services:
	@for program in $(shell $(PYTHON) tools/stages.py services $(N) 2>/dev/null); do \
	  command -v $$program >/dev/null || [ -x /usr/sbin/$$program ] || { \
	    if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	      echo "Installing $$program (for the checks that start it) ..."; \
	      export DEBIAN_FRONTEND=noninteractive; \
	      apt-get install -y -qq $$program >/dev/null 2>&1 || \
	        { apt-get update -qq && apt-get install -y -qq $$program >/dev/null; }; \
	    else \
	      echo "The checks need $$program: sudo apt-get install $$program (or brew install $${program%-server})."; \
	    fi; }; \
	done

$(BENCH_STAMP): bench/requirements.txt $(STAMP)
	@$(PY) -m pip install --quiet --disable-pip-version-check -r bench/requirements.txt
	@touch $@

# BENCH_ARGS="--quick" or "--targets gevent,node"; see bench/loadgen.py --help.
bench: $(BENCH_STAMP)
	@$(PY) bench/loadgen.py $(BENCH_ARGS)

bench-grading: $(STAMP) $(FETCHED) browser sandbox
	@$(PY) bench/grading.py $(if $(CLASS),--class-size $(CLASS))
