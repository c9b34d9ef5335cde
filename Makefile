# Developer tasks. `make test` is the README's test command; the rest are checks kept out of it.
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: test fuzz mutation audit wheel bench

# Every task works from a fresh clone: the venv is made when missing.
$(BIN)/python:
	python3 -m venv $(VENV)

test:
	python3 -m venv $(VENV) && $(BIN)/pip install -q -c constraints.txt '.[test]' && $(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/mypy --strict src && $(BIN)/pytest

fuzz: $(BIN)/python
	$(BIN)/pip install -q -c constraints.txt '.[test]'
	OSTEOCHECK_FUZZ_EXAMPLES=$${EXAMPLES:-3000} $(BIN)/pytest --no-cov -q --dist load tests/test_fuzz.py

# mutmut imports the mutated copy under mutants/src, so the package itself must not be installed.
mutation:
	python3 -m venv .venv-mutation && .venv-mutation/bin/pip install -q -c constraints.txt '.[test]' 'mutmut==3.8.1'
	.venv-mutation/bin/pip uninstall -q -y osteocheck
	OSTEOCHECK_FUZZ_EXAMPLES=10 OSTEOCHECK_PROPERTY_EXAMPLES=25 .venv-mutation/bin/mutmut run --max-children 2 || true
	.venv-mutation/bin/python tools/mutation_score.py

audit: $(BIN)/python
	$(BIN)/pip install -q -c constraints.txt '.[serve]' && $(BIN)/pip install -q pip-audit
	$(BIN)/pip freeze --exclude-editable | grep -v '^osteocheck' > .audit-requirements.txt
	$(BIN)/pip-audit --strict -r .audit-requirements.txt; status=$$?; rm -f .audit-requirements.txt; exit $$status

wheel: $(BIN)/python
	rm -rf dist && $(BIN)/pip wheel -q --no-deps -w dist -c constraints.txt .
	$(BIN)/python tools/check_wheel.py dist/*.whl

bench: $(BIN)/python
	$(BIN)/pip install -q -c constraints.txt . && $(BIN)/python bench/startup.py
