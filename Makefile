# Two entry points, each installing what it needs into .venv on first use:
#   make live   live office score (camera 0; without one, the bundled demo clip): the light install
#   make test   lint, type checks, import contracts, the test suite and a check of the built wheel
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin
ARGS ?=
TEST_EXTRAS = dev,export,train,eval,bench,web,openvino,ray,triton
# `officescore serve` runs PyTriton's Triton server from its own environment (it pins numpy<2)
TRITON_ENV ?= $(VENV)-triton
# pip fails with a page of traceback on a full disk: say it in one line before it starts
need_disk = $(PYTHON) -c "import shutil, sys; free = shutil.disk_usage('$(VENV)').free / 2**30; \
	sys.exit(0 if free >= $(1) else f'$(2) needs about $(1) GB free here, {free:.1f} GB is')"

.PHONY: live test browser wheel-check clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# The runtime alone: ONNX Runtime, OpenCV, NumPy and the CLI (no torch).
$(VENV)/.installed-live: pyproject.toml | $(BIN)/python
	@$(call need_disk,1,the runtime)
	@echo "installing the runtime into $(VENV) (about 0.7 GB: ONNX Runtime, OpenCV, NumPy; no torch)"
	$(BIN)/python -m pip install --progress-bar on --editable .
	touch $@

# Everything the tests use: torch for export, pycocotools, matplotlib, Streamlit, OpenVINO.
$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	@$(call need_disk,9,the test install)
	@echo "installing everything the tests use into $(VENV) (about 7.1 GB with torch; minutes)"
	$(BIN)/python -m pip install --progress-bar on --editable '.[$(TEST_EXTRAS)]'
	touch $@ $(VENV)/.installed-live

$(TRITON_ENV)/.installed: pyproject.toml | $(VENV)/.installed-test
	OFFICESCORE_TRITON_ENV=$(TRITON_ENV) $(BIN)/officescore serve --setup
	touch $@

live: $(VENV)/.installed-live
	$(BIN)/officescore live $(ARGS)

test: $(VENV)/.installed-test $(TRITON_ENV)/.installed browser
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	OFFICESCORE_TRITON_ENV=$(abspath $(TRITON_ENV)) $(BIN)/python -m pytest
	$(MAKE) --no-print-directory wheel-check

# The browser test of `officescore web` needs Debian's Chromium and its driver: installed here
# where apt-get can (as root); anywhere else, said loudly (pytest reports the test as skipped).
browser:
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then :; \
	elif command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
		echo "installing chromium and chromium-driver for the browser test"; \
		apt-get update -q >/dev/null && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver >/dev/null; \
	else \
		echo "*** WARNING: chromium/chromedriver missing and not installable here:"; \
		echo "*** the browser test of 'officescore web' will be SKIPPED."; \
		echo "*** Install them (Debian: apt-get install chromium chromium-driver) to run it."; \
	fi

# A non-editable install must carry the model, its card, the rubric and the demo clip, and find
# them even when the working directory has a `models/` folder of its own.
wheel-check: $(VENV)/.installed-test
	rm -rf build/wheel build/site build/cache
	$(BIN)/python -m pip wheel --quiet --no-deps --wheel-dir build/wheel .
	$(BIN)/python -m pip install --quiet --no-deps --target build/site build/wheel/*.whl
	mkdir -p build/models
	cd build && OFFICESCORE_CACHE=cache PYTHONPATH=site ../$(BIN)/python -c "import edge, pathlib, sys; \
		assert pathlib.Path(edge.__file__).parent == pathlib.Path('site/edge').resolve(), edge.__file__; \
		assert pathlib.Path('site/models/demo.mp4').is_file(); \
		from officescore.cli import main; sys.argv = ['officescore', 'score', '--json', \
		'../tests/data/photos/000000000599.jpg']; main()" > wheel-score.json
	grep -q '"pet"' build/wheel-score.json && echo "wheel-check: installed wheel scores a photo"

clean:
	rm -rf $(VENV) $(TRITON_ENV) build dist *.egg-info
