# Everything a fresh machine needs: `make demo` and `make test` create .venv and install first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
OUT    ?= demo-out

.PHONY: demo test bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $@

demo: $(STAMP)
	$(BIN)/advmatrix demo --out $(OUT)
	$(BIN)/advmatrix kb export --format stix --out $(OUT)/atlas-stix.json
	@echo "Open $(OUT)/black-box/report.html and $(OUT)/white-box/report.html; load $(OUT)/*/layer.json in the ATLAS Navigator."

test: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	bash bench/run.sh

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache
