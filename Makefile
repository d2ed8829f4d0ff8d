# Quick start: `make demo` runs the main example, `make test` runs the whole suite.
# Each target creates .venv on first use with only python3 and make on the machine.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: demo demo-distributed test bench lint clean

# Type checkers do not run setuptools' editable import hook, so next to it a tree of links to
# the three folders sits on a .pth path: mypy (a user's, and `make lint`) finds `arborist` too.
$(VENV)/.base: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -e .
	rm -rf $(VENV)/arborist-links && mkdir -p $(VENV)/arborist-links/arborist
	for d in actors supervision runtime; do ln -s $(CURDIR)/$$d $(VENV)/arborist-links/arborist/$$d; done
	$(PY) -c "import pathlib, sysconfig; pathlib.Path(sysconfig.get_paths()['purelib'], 'arborist-links.pth').write_text('$(CURDIR)/$(VENV)/arborist-links\n')"
	touch $@

$(VENV)/.test: $(VENV)/.base
	$(PY) -m pip install -q --disable-pip-version-check -e '.[test]'
	touch $@

$(VENV)/.bench: $(VENV)/.base
	$(PY) -m pip install -q --disable-pip-version-check -e '.[bench]'
	touch $@

$(VENV)/.dask: $(VENV)/.base
	$(PY) -m pip install -q --disable-pip-version-check -e '.[dask]'
	touch $@

$(VENV)/.dev: $(VENV)/.test
	$(PY) -m pip install -q --disable-pip-version-check -e '.[dev,rich]'
	touch $@

demo: $(VENV)/.base
	$(PY) examples/demo.py

# A CPU-bound map on a local Dask cluster of 2 worker processes (installs the dask extra).
demo-distributed: $(VENV)/.dask
	$(PY) examples/distributed_map.py

test: $(VENV)/.test
	$(PY) -m pytest -q

bench: $(VENV)/.bench
	$(PY) -m benchmarks

# mypy reads the three folders as the `arborist` namespace through a tree of links.
lint: $(VENV)/.dev
	$(VENV)/bin/ruff check .
	rm -rf build/typecheck && mkdir -p build/typecheck/arborist
	for d in actors supervision runtime; do ln -s ../../../$$d build/typecheck/arborist/$$d; done
	cd build/typecheck && ../../$(VENV)/bin/mypy -p arborist.actors -p arborist.supervision -p arborist.runtime

clean:
	rm -rf $(VENV) build *.egg-info
