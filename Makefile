# KISI-Berichtswesen. Two commands do everything: `make report` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
REGISTRY ?= config/projektverzeichnis.csv
INPUT ?= input
OUTPUT ?= output
STICHTAG ?=

.PHONY: report test demo lint catalogue bench fuzz sanitize status clean install bytecode server

# The editable install puts the checkout on sys.path with a plain .pth line ("compat"
# mode): setuptools' default import finder costs every `kisi` start ≈ 12 ms of imports
# (docs/performance.md, session 6).
$(STAMP): pyproject.toml setup.py pipeline/xlsx/_scan.c
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]" --config-settings editable_mode=compat
	touch $(STAMP)

# Byte-compile the package as a regular (non-editable) install does: the editable install
# runs from the checkout, and where PYTHONDONTWRITEBYTECODE is set every run would compile
# the sources again (≈ 0.1 s per run). Stale files are detected by Python and ignored.
# The dataclasses' compiled methods are kept there too (pipeline/startup.py).
bytecode: $(STAMP)
	@$(BIN)/python -m compileall -q pipeline > /dev/null
	@$(BIN)/python -m pipeline.startup

install: $(STAMP)

## report: validate everything in input/ and write the reports to output/
report: bytecode
	$(BIN)/kisi report --input $(INPUT) --output $(OUTPUT) --registry $(REGISTRY) $(if $(STICHTAG),--stichtag $(STICHTAG))

## test: the whole test suite
test: $(STAMP)
	$(BIN)/python -m pytest

## demo: fictitious registry and workbooks (with typical mistakes), then the report
demo: $(STAMP)
	$(BIN)/kisi demo --output demo

## status: the ledger per application and quarter
status: $(STAMP)
	$(BIN)/kisi status --output $(OUTPUT) --registry $(REGISTRY) $(if $(STICHTAG),--stichtag $(STICHTAG))

## server: start the resident server (later kisi commands start without start-up; README)
server: bytecode
	$(BIN)/kisi server start

## bench: measure speed and memory (see docs/performance.md); BENCH_ARGS="--quick --repeat 1" for a short run, "--size 10000" adds ten thousand workbooks
bench: bytecode
	$(BIN)/python scripts/bench.py $(BENCH_ARGS)

## fuzz: mutate valid workbooks for a fixed budget (FUZZ_SECONDS, default 60)
fuzz: $(STAMP)
	$(BIN)/python scripts/fuzz.py --seconds $(or $(FUZZ_SECONDS),60)

## sanitize: the reader tests against the C scanner built with ASan and UBSan (≈ 3 min)
sanitize: $(STAMP)
	scripts/sanitize.sh

## lint: ruff
lint: $(STAMP)
	$(BIN)/ruff check pipeline tests scripts

## catalogue: regenerate docs/regeln.md from the rule registry
catalogue: $(STAMP)
	$(BIN)/python -m pipeline.rules.catalogue > docs/regeln.md

clean:
	rm -rf $(VENV) demo build *.egg-info
