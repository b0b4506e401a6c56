"""`[tool.ml-anki]` is checked like cards: every problem at once, where it is, with what to do."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import BASICS, PYPROJECT, Project
from learner import Learner
from ml_anki import config as config_mod
from ml_anki import strings
from ml_anki.cli import main

ROOT = Path(__file__).resolve().parents[1]
HINT = "run `ml-anki init --print-ids` for fresh ones"


def test_every_config_problem_in_one_run_with_line_and_column(project: Project) -> None:
    project.write(
        "pyproject.toml",
        """\
[project]
name = "spanish"
version = "1.0"

[tool.ml-anki]
deck-name = ""
deck-slug = "Spanish Deck"
notetype-id = 1.5
deck-id = 0
  meda = "figures"
language = "es"
""",
    )
    result = project.cli("build")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        "pyproject.toml:3:11: error: [project] version must look like 1.2.3 (it names the "
        "release), got '1.0'\n"
        "pyproject.toml:5:1: error: [tool.ml-anki] has no namespace, which is required: note "
        "GUIDs derive from it and each note's id; unique to this deck, never changed; "
        f"{HINT}\n"
        "pyproject.toml:6:13: error: deck-name must be a non-empty string\n"
        "pyproject.toml:7:13: error: deck-slug must be lower-case letters, digits and '-' (it "
        "names files), got 'Spanish Deck'\n"
        f"pyproject.toml:8:15: error: notetype-id must be a whole number (an Anki id), got 1.5; {HINT}\n"
        f"pyproject.toml:9:11: error: deck-id must be between 1 and 9007199254740991 (2**53 - 1), got 0; {HINT}\n"
        "pyproject.toml:10:3: warning: unknown key 'meda' in [tool.ml-anki] is ignored; did you "
        "mean 'media'?\n"
        "pyproject.toml:11:12: error: language must be 'en' or 'ko' (the language learners read "
        "the deck's own texts in), got 'es'\n"
        "ml-anki: 7 errors; nothing was written\n"
    )
    assert not (project.root / "dist").exists() and not project.lock.exists()


def test_an_unknown_key_is_a_warning_and_the_deck_still_builds(project: Project) -> None:
    project.write(
        "pyproject.toml", PYPROJECT.format(version="1.0.0") + 'meda = "figures"\nfoo = 1\n'
    )
    result = project.cli("build")
    assert result.exit_code == 0, result.output
    assert result.stderr == (
        "pyproject.toml:13:1: warning: unknown key 'meda' in [tool.ml-anki] is ignored; did you "
        "mean 'media'?\n"
        "pyproject.toml:14:1: warning: unknown key 'foo' in [tool.ml-anki] is ignored; known "
        "keys: deck-name, deck-slug, namespace, notetype-id, notetype-name, deck-id, "
        "tag-prefix, language, cards, media, out, lock, reverse-notetype-id, "
        "reverse-notetype-name, cloze-notetype-id, cloze-notetype-name\n"
    )
    assert project.cli("-q", "build").stderr == ""


def test_invalid_toml_names_line_and_column(project: Project) -> None:
    project.write("pyproject.toml", '[project]\nversion = "1.0.0\n[tool.ml-anki]\n')
    result = project.cli("check")
    assert result.exit_code == 1
    assert result.stderr == (
        "pyproject.toml:2:17: error: not valid TOML: Illegal character '\\n'\n"
        "ml-anki: 1 error; nothing was written\n"
    )


def test_a_key_written_as_an_inline_table_is_checked_without_a_line(project: Project) -> None:
    project.write(
        "pyproject.toml",
        '[project]\nversion = "1.0.0"\n[tool]\nml-anki = { deck-name = "", deck-slug = "s" }\n',
    )
    result = project.cli("check")
    assert result.exit_code == 1
    assert "pyproject.toml: error: deck-name must be a non-empty string\n" in result.stderr


def identity(**changes: object) -> str:
    values: dict[str, object] = {
        "deck-name": '"Spanish verbs"', "deck-slug": '"spanish"',
        "namespace": '"ml-interview"', "notetype-id": 1764374400001, "deck-id": 1764374400002,
    }  # fmt: skip
    values.update(changes)
    lines = "".join(f"{key} = {value}\n" for key, value in values.items())
    return f'[project]\nversion = "1.0.0"\n\n[tool.ml-anki]\n{lines}'


def test_a_copy_of_this_repositorys_identity_warns_with_the_consequence(project: Project) -> None:
    project.write("pyproject.toml", identity())
    result = project.cli("build")
    assert result.exit_code == 0
    assert result.stderr == (
        "pyproject.toml:7:13: warning: namespace 'ml-interview' belongs to ml-anki's example deck "
        "(ML 면접 질문): learners who have both decks would see the notes of one overwritten by "
        f"the notes of the other with the same ids when they import it; {HINT}\n"
        "pyproject.toml:8:15: warning: notetype-id 1764374400001 belongs to ml-anki's example "
        "deck (ML 면접 질문): importing one deck would replace the other's card templates in "
        "learners' collections, and its notes would conflict with the other's instead of "
        f"updating; {HINT}\n"
        "pyproject.toml:9:11: warning: deck-id 1764374400002 belongs to ml-anki's example deck "
        "(ML 면접 질문): tools that find decks by id would take one deck for the other; "
        f"{HINT}\n"
    )


def test_implausibly_small_identities_warn(project: Project) -> None:
    project.write(
        "pyproject.toml", identity(namespace='"deck"', **{"notetype-id": 1, "deck-id": 12345})
    )
    result = project.cli("check")
    assert result.exit_code == 0
    assert result.stderr == (
        "pyproject.toml:7:13: warning: namespace 'deck' is short enough for another deck to use "
        "too, and learners who have both decks would see the notes of one overwritten by the "
        f"notes of the other with the same ids when they import it; {HINT}\n"
        "pyproject.toml:8:15: warning: notetype-id 1 is implausibly small: other decks pick such "
        "ids too, and importing one deck would replace the other's card templates in learners' "
        f"collections, and its notes would conflict with the other's instead of updating; {HINT}\n"
        "pyproject.toml:9:11: warning: deck-id 12345 is implausibly small: other decks pick such "
        f"ids too, and tools that find decks by id would take one deck for the other; {HINT}\n"
    )


def test_this_repositorys_own_deck_is_not_warned_about_itself() -> None:
    config = config_mod.load(ROOT, now=1_800_000_000)
    assert config.warnings == ()
    assert (config.namespace, config.language) == ("ml-interview", "ko")


def test_run_settings_are_apart_from_the_decks_identity(
    project: Project, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("ML_ANKI_CACHE_DIR", str(tmp_path / "elsewhere"))
    config = config_mod.load(project.root, now=1_700_000_000)
    assert config.run == config_mod.RunSettings(
        1_700_000_000, tmp_path / "elsewhere", config_mod.available_cpus()
    )
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "yesterday")
    with pytest.raises(config_mod.SourceError) as raised:
        config_mod.load(project.root)
    assert [str(p) for p in raised.value.problems] == [
        (
            "error: the environment variable SOURCE_DATE_EPOCH must be whole seconds since "
            "1970, got 'yesterday'; set it to e.g. $(git log -1 --format=%ct), or unset it"
        )
    ]


def test_every_language_table_has_every_string() -> None:
    english = strings.TABLES["en"]
    for code, table in strings.TABLES.items():
        for name in english.__slots__:  # type: ignore[attr-defined]
            assert getattr(table, name), f"{code}: {name} is empty"
    assert config_mod.load(ROOT, now=0).strings is strings.TABLES["ko"]


KOREAN = PYPROJECT.format(version="1.0.0") + 'language = "ko"\n'


def test_language_chooses_what_learners_read(project: Project, learner: Learner) -> None:
    english = project.build()
    learner.import_deck(english)
    description = learner.col.decks.by_name("Sample deck")["desc"]  # type: ignore[index]
    assert description == "<b>Sample deck</b> v1.0.0 · 3 notes<br>v1.0.0: first release"

    project.write("pyproject.toml", KOREAN)
    project.write("cards/01-basics.md", BASICS.replace("The intercept.", "Intercept."))
    korean = project.build(now=1_800_000_100)
    log = learner.import_deck(korean)
    assert log.updated == ["2-1"]
    description = learner.col.decks.by_name("Sample deck")["desc"]  # type: ignore[index]
    assert description == "<b>Sample deck</b> v1.0.0 · 3개 노트<br>v1.0.0: 첫 릴리스"

    result = project.cli("preview", "--out", "preview")
    assert result.exit_code == 0, result.output
    index = project.read("preview/index.html")
    assert '<html lang="ko">' in index
    assert (
        "3개 노트 · 앞면과 뒷면" in index
        and "야간 모드" in index
        and "휴대폰 너비 (390 px)" in index
    )
    cards = project.read("preview/cards.html")
    assert '<div class="mlp-label">앞면</div>' in cards
    assert '<div class="mlp-label">뒷면</div>' in cards


def test_dash_c_runs_in_another_directory(
    project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(
        main, ["-C", str(project.root), "build"], env={"SOURCE_DATE_EPOCH": "1800000000"}
    )
    assert result.exit_code == 0, result.output
    # As with `git -C`, paths are then relative to that directory.
    assert result.stdout.splitlines()[-1] == "dist/sample-v1.0.0.apkg"
    assert project.deck.is_file()
    missing = CliRunner().invoke(main, ["-C", "nowhere", "check"])
    assert missing.exit_code == 2
    assert "Invalid value for '-C': Directory 'nowhere' does not exist." in missing.stderr


def test_markdown_extension_counts_as_cards(project: Project) -> None:
    project.write("cards/02-more.markdown", "## #3\n\n### What is tanh?\n\nA squashing function.\n")
    result = project.cli("check")
    assert (result.exit_code, result.stdout) == (0, "4 notes checked: no errors\n")


def test_each_commands_help_describes_only_its_own_options() -> None:
    runner = CliRunner()

    def help_of(command: str) -> str:
        result = runner.invoke(main, [command, "--help"])
        assert result.exit_code == 0
        return " ".join(result.stdout.split())

    check = help_of("check")
    assert "-q, --quiet Print only errors: no warnings, no summary." in check
    assert "--verbose" not in check and "deck's path" not in check
    diff = help_of("diff")
    assert "-q, --quiet Print nothing but errors" in diff
    assert "-v, --verbose Also show the words that changed in each field" in diff
    preview = help_of("preview")
    assert "-q, --quiet Print only errors and the preview page's path." in preview
    assert "--verbose" not in preview
    build = help_of("build")
    assert "-q, --quiet Print only errors and the deck's path." in build
    init = help_of("init")
    assert "-q, --quiet Print nothing but errors." in init and "--cards" not in init


def test_quiet_silences_all_but_errors_and_the_path(project: Project) -> None:
    project.write("media/unused.svg", "<svg/>")
    noisy = project.cli("check")
    assert noisy.stderr.startswith("media/unused.svg: warning: no card shows this file")
    assert project.cli("-q", "check").output == ""
    assert project.cli("check", "-q").output == ""
    preview = project.cli("preview", "-q")
    assert (preview.stdout, preview.stderr) == ("preview/index.html\n", "")
    build = project.cli("build", "-q")
    assert (build.stdout, build.stderr) == ("dist/sample-v1.0.0.apkg\n", "")
    diff = project.cli("diff", "-q", str(project.deck))
    assert (diff.exit_code, diff.output) == (0, "")
    bad = project.cli("diff", "-q", "missing.apkg")
    assert bad.exit_code == 2 and bad.stderr.startswith("missing.apkg: error:")


def test_the_readme_configuration_table_lists_every_key() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("## Configuration") : readme.index("## Layout")]
    for option in config_mod.OPTIONS:
        assert f"`{option.key}`" in table, option.key
        rows = [line for line in table.splitlines() if line.startswith("| `")]
        row = next(line for line in rows if f"`{option.key}`" in line.split("|")[1])
        assert row.split("|")[2].strip() == ("yes" if option.required else ""), option.key
        assert row.split("|")[3].strip() == ("yes" if option.promise else ""), option.key


def test_a_copied_reverse_or_cloze_note_type_id_warns_too(project: Project) -> None:
    fresh = identity(namespace='"spanish-0123456789abcdef"', **{"notetype-id": 4_000_000_000_001,
                     "deck-id": 4_000_000_000_002})  # fmt: skip
    project.write("pyproject.toml", fresh + "cloze-notetype-id = 4786872303782302\n")
    result = project.cli("check")
    assert result.exit_code == 0
    assert result.stderr == (
        "pyproject.toml:10:21: warning: cloze-notetype-id 4786872303782302 belongs to ml-anki's "
        "example deck (ML 면접 질문): importing one deck would replace the other's card templates "
        "in learners' collections, and its notes would conflict with the other's instead of "
        f"updating; {HINT}\n"
    )
