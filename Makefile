# Everything a fresh machine needs: `make demo` and `make test` create .venv and install first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
OUT    ?= demo-out

.PHONY: demo test bench clean chromium

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $@

demo: $(STAMP)
	$(BIN)/advmatrix demo --out $(OUT)
	$(BIN)/advmatrix kb export --format stix --out $(OUT)/atlas-stix.json
	@echo "Open $(OUT)/black-box/report.html, $(OUT)/white-box/report.html and $(OUT)/llm-naive/report.html (and llm-hardened); load $(OUT)/*/layer.json in the ATLAS Navigator."

test: $(STAMP) chromium
	$(BIN)/ruff check src tests bench
	$(BIN)/python -m pytest -q

# The browser tests drive Debian's chromium (never a downloaded browser). Installed when we can
# (root with apt); otherwise those tests skip and say why.
chromium:
	@command -v chromium >/dev/null 2>&1 || [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1 || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null 2>&1 || \
	  echo "note: chromium could not be installed; browser tests will skip" >&2

bench: $(STAMP)
	bash bench/run.sh

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache
