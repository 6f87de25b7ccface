"""pyproject.toml: the licence as an SPDX expression, with a setuptools that reads it."""

from __future__ import annotations

import re
from pathlib import Path

import tomllib

PYPROJECT = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())


def test_license_is_an_spdx_expression_that_the_build_backend_supports() -> None:
    assert PYPROJECT["project"]["license"] == "Apache-2.0"
    setuptools = next(r for r in PYPROJECT["build-system"]["requires"] if r.startswith("setuptools"))
    floor = re.fullmatch(r"setuptools>=(\d+)(\.\d+)*", setuptools)
    assert floor and int(floor.group(1)) >= 77, "SPDX license strings need setuptools>=77"
