"""docs/cli.md is the generated command-line reference: it must list every command and option as the
code defines them today."""

from __future__ import annotations

from pathlib import Path

from prmkit.cli.reference import markdown

PAGE = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def test_the_reference_page_matches_the_commands():
    assert PAGE.read_text(encoding="utf-8") == markdown(), (
        "docs/cli.md is out of date: python -m prmkit.cli.reference > docs/cli.md"
    )


def test_the_reference_shows_each_options_default_and_help():
    text = markdown()
    assert "| `--sampling.temperature` | float | `0.7` | sampling temperature; 0 is greedy |" in text  # generate's
    assert "| `SOLUTIONS` | path | required |" in text
    assert text.count("\n## `prmkit ") >= 26
