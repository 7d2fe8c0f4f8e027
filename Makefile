# Two entry points, each installing what it needs into .venv on first use:
#   make live   live office score (camera 0; without one, the bundled demo clip)
#   make test   lint, type checks, the test suite and a check of the built wheel
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin
ARGS ?=

.PHONY: live test wheel-check clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --editable '.[dev,export,eval,bench,web]'
	touch $@

live: $(VENV)/.installed
	$(BIN)/officescore live $(ARGS)

test: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python -m pytest
	$(MAKE) --no-print-directory wheel-check

# A non-editable install must carry the model, its card, the rubric and the demo clip.
wheel-check: $(VENV)/.installed
	rm -rf build/wheel build/site
	$(BIN)/python -m pip wheel --quiet --no-deps --wheel-dir build/wheel .
	$(BIN)/python -m pip install --quiet --no-deps --target build/site build/wheel/*.whl
	cd build && PYTHONPATH=site ../$(BIN)/python -c "import edge, pathlib, sys; \
		assert pathlib.Path(edge.__file__).parent == pathlib.Path('site/edge').resolve(), edge.__file__; \
		assert pathlib.Path('site/models/demo.mp4').is_file(); \
		from edge.cli import main; sys.argv = ['officescore', 'score', '--json', \
		'../../shared/photos/000000000599.jpg']; main()" > wheel-score.json
	grep -q '"couch"' build/wheel-score.json && echo "wheel-check: installed wheel scores a photo"

clean:
	rm -rf $(VENV) build dist *.egg-info
