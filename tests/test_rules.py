"""Named lint rules: listed by `check --rules`, silenced in the source where reviewers see it."""

from __future__ import annotations

import json

from conftest import BASICS, Project
from ml_anki.lint import rules

LONG = "word " * 1300


def test_check_rules_lists_every_rule_with_its_severity_and_scope(project: Project) -> None:
    result = project.cli("check", "--rules")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert len(lines) == len(rules.RULES) == 10
    assert lines[0] == (
        "math-delimiters    error    note  `$`/`$$` that do not pair up as math the way the "
        "renderer reads them"
    )
    assert "long-answer        warning  note  an answer over 6,000 characters of Markdown" in lines
    assert "unused-media       warning  deck  a file in media/ that no card shows" in lines


def test_a_rule_is_silenced_for_one_note_by_its_id(project: Project) -> None:
    project.write(
        "cards/02-long.md", f"## #3\n\n### Long?\n\n{LONG}\n\n## #4\n\n### Also?\n\n{LONG}\n"
    )
    result = project.cli("check", "--format", "json")
    found = [(p["path"], p["line"], p["rule"]) for p in json.loads(result.stdout)]
    assert found == [
        ("cards/02-long.md", 5, "long-answer"),
        ("cards/02-long.md", 11, "long-answer"),
    ]
    project.write(
        "cards/02-long.md",
        f"## #3\n\n### Long?\n\n<!-- ml-anki: allow long-answer -->\n\n{LONG}\n\n"
        f"## #4\n\n### Also?\n\n{LONG}\n",
    )
    result = project.cli("check")
    assert result.exit_code == 0
    assert result.stderr.count("long-answer") == 0 and result.stderr.count("#4 is") == 1
    assert "#3 is" not in result.stderr


def test_a_rule_is_silenced_for_a_file_before_its_first_note(project: Project) -> None:
    project.write(
        "cards/02-long.md",
        "<!-- ml-anki: allow raw-html, long-answer -->\n\n"
        f"## #3\n\n### Long?\n\n{LONG}\n\n## #4\n\n### Also?\n\n<u>x</u> <font>y</font>\n",
    )
    project.write(
        "cards/01-basics.md", BASICS.replace("The intercept.", "<font>The</font> intercept.")
    )
    result = project.cli("check")
    assert result.exit_code == 0
    assert result.stderr.splitlines() == [
        (
            "cards/01-basics.md:38:1: warning: raw HTML <font> is removed from the card by the "
            "sanitizer (its text stays); cards keep formatting tags such as <b>, <br>, <sub>, <sup>, "
            "<kbd>, <details> and tables"
        )
    ]


def test_errors_can_be_silenced_too_and_the_silencing_stays_in_the_source(project: Project) -> None:
    project.write("cards/02-tex.md", "## #3\n\n### TeX?\n\n$\\foo{x}$\n")
    assert project.cli("check").exit_code == 1
    project.write(
        "cards/02-tex.md", "## #3\n\n### TeX?\n\n$\\foo{x}$ <!-- ml-anki: allow tex -->\n"
    )
    assert project.cli("check").exit_code == 0
    assert rules.allowed("<!--ml-anki: allow tex,long-answer  raw-html-->") == {
        "tex", "long-answer", "raw-html",
    }  # fmt: skip
