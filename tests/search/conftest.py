"""Fixtures of the search tests: a problem matching the scripted tree, and a tiny PRM."""

from __future__ import annotations

import pytest
from scripted import QUESTION

from prmkit.data.records import Problem


@pytest.fixture
def problem() -> Problem:
    return Problem(id="p0", question=QUESTION, answer="12")


@pytest.fixture(scope="session")
def tiny_prm(tmp_path_factory):
    from prmkit.score import load_prm
    from prmkit.score.tiny import make_prmkit_prm

    return load_prm(make_prmkit_prm(tmp_path_factory.mktemp("prm") / "prm"))
