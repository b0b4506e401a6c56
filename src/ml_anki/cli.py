"""The `ml-anki` command: parse options, call the pipeline, print, exit. Nothing else.

Exit status: 0 success, 1 problems in the sources or lock (nothing written), 2 usage errors.
Heavy modules (Markdown, genanki) are imported inside the commands, so `--help` is instant.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from . import __version__
from .errors import Problem, SourceError, SourceSpan
from .strings import LANGUAGES

if TYPE_CHECKING:
    from .build import Progress
    from .config import DeckConfig

F = TypeVar("F", bound=Callable[..., Any])
_PROGRESS_FROM = 200
"""Fewer notes than this render too fast for a progress bar to help."""


class Settings:
    """Options shared by every command (stored on the click context)."""

    def __init__(self, verbosity: int = 0) -> None:
        self.verbosity = verbosity
        self.no_cache = False
        self.jobs: int | None = None


def _shown(path: Path) -> str:
    """Paths relative to the working directory when inside it: short and clickable."""
    try:
        # Not resolve(): a path in a problem may be a symlink loop (Python raises on those).
        return str(Path(os.path.abspath(path)).relative_to(Path.cwd()))
    except ValueError:
        return str(path)


_LINE_BREAKS = str.maketrans(
    {c: f"\\x{ord(c):02x}" for c in "\r\x0b\x0c\x1c\x1d\x1e\x1f\x85"}
    | {"\n": "\\n", "\u2028": "\\u2028", "\u2029": "\\u2029"}
)
"""What editors, CI logs and `str.splitlines` break a line at: a problem is one line, even when
it quotes a source line holding one of them."""


def _format(problem: Problem) -> str:
    colour = "red" if problem.severity == "error" else "yellow"
    severity = click.style(problem.severity, fg=colour, bold=True)
    message = problem.message.translate(_LINE_BREAKS)
    where = problem.where
    if where is None:  # an option or the environment, not a file: no location to point at
        return f"{severity}: {message}"
    location = _shown(where.path)
    if where.line:
        location += f":{where.line}"
        if where.col:
            location += f":{where.col}"
    return f"{click.style(location, bold=True)}: {severity}: {message}"


def _print_problems(problems: tuple[Problem, ...] | list[Problem], verbosity: int) -> None:
    for problem in problems:
        if problem.severity == "warning" and verbosity < 0:
            continue
        click.echo(_format(problem), err=True)


def _reports_source_errors(command: F) -> F:
    """Everything a user can cause (`SourceError` and its kinds): every problem as
    `path:line:col: error: msg`, then a summary when there is one, exit 1 (2 for an unusable
    file given on the command line). Anything else is a bug and keeps its traceback.
    """

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except SourceError as exc:
            settings = click.get_current_context().find_object(Settings)
            _print_problems(exc.problems, settings.verbosity if settings else 0)
            if exc.summary:
                click.echo(click.style(f"ml-anki: {exc.summary}", fg="red"), err=True)
            sys.exit(exc.exit_code)

    return wrapper  # type: ignore[return-value]


def _verbosity_options(quiet: str, verbose: str | None = None) -> Callable[[F], F]:
    """-q (and -v, where a command has more to say) work before or after the command name
    (`ml-anki -q build`, `ml-anki build -q`); each command's help says what they do there."""

    def adjust(step: int) -> Callable[[click.Context, click.Parameter, int], int]:
        def callback(ctx: click.Context, _param: click.Parameter, count: int) -> int:
            settings = ctx.find_object(Settings)
            if settings is None:
                settings = ctx.ensure_object(Settings)
            settings.verbosity += step * count
            return count

        return callback

    def decorate(command: F) -> F:
        command = click.option(
            "-q", "--quiet", count=True, expose_value=False, callback=adjust(-1), help=quiet
        )(command)
        if verbose is None:
            return command
        return click.option(
            "-v", "--verbose", count=True, expose_value=False, callback=adjust(+1), help=verbose
        )(command)

    return decorate


def _change_directory(ctx: click.Context, _param: click.Parameter, value: Path | None) -> None:
    # As `git -C`: everything, the paths given on the command line included, is then relative
    # to DIR, exactly as if ml-anki had been started there. The directory is restored when the
    # command ends, for callers that run several commands in one process.
    if value is not None:
        ctx.call_on_close(functools.partial(os.chdir, os.getcwd()))
        os.chdir(value)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="ml-anki")
@click.option(
    "-C", "directory", metavar="DIR", expose_value=False, is_eager=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path), callback=_change_directory,
    help="Run as if ml-anki was started in DIR.",
)  # fmt: skip
@_verbosity_options(
    quiet="Print only errors and the path of what the command writes (diff: only errors).",
    verbose="Say more, in the commands that have more to say (build, diff, release, watch).",
)
def main() -> None:
    """Build an Anki deck from Markdown interview cards, and keep it updatable.

    Cards live in cards/*.md (or .markdown): per note a '## #<id>' anchor, a '### <question>'
    line, the answer in Markdown ($math$, ```code```, ![figure](../media/x.svg)),
    and an optional '##### References' list. Settings are read from
    [tool.ml-anki] in pyproject.toml; ml-anki.lock records each note's content
    hash and mod so that a re-import updates exactly the notes that changed.

    \b
    Typical use:
      ml-anki init my-deck --name "My deck"   a new deck project
      ml-anki check            validate the cards, write nothing
      ml-anki build            write dist/<deck>-v<version>.apkg
      ml-anki preview --open   every card in the browser, night mode, phone width
      ml-anki watch            the preview, rebuilt and reloaded on every save
      ml-anki diff OLD.apkg    what changed since a released deck
      ml-anki release minor    bump, stamp, changelog, deck; prints the tag
    """


def _one_writer(config: DeckConfig) -> AbstractContextManager[None]:
    """Builds and releases of one project take turns (see `files.one_writer_at_a_time`)."""
    from .files import one_writer_at_a_time

    def waiting() -> None:
        click.echo("ml-anki: waiting for another build or release in this project…", err=True)

    return one_writer_at_a_time(config.root, waiting)


def _config(cards: Path | None, out: Path | None) -> DeckConfig:
    from dataclasses import replace

    from . import config as config_mod

    root = config_mod.find_project(Path.cwd())
    # Relative paths make every message short and clickable: cards/03.md:41, not /home/…
    config = config_mod.load(Path(os.path.relpath(root)))
    settings = click.get_current_context().ensure_object(Settings)
    run = config.run
    if settings.no_cache:
        run = replace(run, cache_dir=None)
    if settings.jobs is not None:
        run = replace(run, workers=settings.jobs)
    return replace(config, run=run).with_paths(cards_dir=cards, out_dir=out)


@contextmanager
def _progress(settings: Settings) -> Iterator[Progress]:
    """A bar on stderr for long renders, only on a terminal and never with -q."""
    bar: Any = None
    shown = 0

    def update(done: int, total: int) -> None:
        nonlocal bar, shown
        if settings.verbosity < 0 or total < _PROGRESS_FROM or not sys.stderr.isatty():
            return
        if bar is None:
            bar = click.progressbar(length=total, label="Rendering", file=sys.stderr)
            bar.__enter__()
        bar.update(done - shown)
        shown = done

    try:
        yield update
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)


def _speed_options(command: F) -> F:
    """--no-cache and --jobs: how a build renders, never what it writes."""

    def apply(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        settings = ctx.ensure_object(Settings)
        setattr(settings, param.name or "", value)
        return value

    command = click.option(
        "--no-cache", is_flag=True, expose_value=False, callback=apply,
        help="Render every note again instead of reusing unchanged ones from the render cache "
        "(ML_ANKI_CACHE_DIR, else the user cache directory).",
    )(command)  # fmt: skip
    return click.option(
        "-j", "--jobs", type=click.IntRange(min=1), expose_value=False, callback=apply,
        help="Processes for rendering many notes (default: the CPUs available).",
    )(command)  # fmt: skip


@main.command()
@click.argument("old", type=click.Path(path_type=Path))
@click.argument("new", type=click.Path(path_type=Path), required=False)
@_verbosity_options(
    quiet="Print nothing but errors (the exit status says whether the files were readable).",
    verbose="Also show the words that changed in each field, as a learner reads them.",
)
@click.pass_obj
@_reports_source_errors
def diff(settings: Settings, old: Path, new: Path | None) -> None:
    """Show what changed between two builds of the deck, note by note.

    OLD and NEW are .apkg files; without NEW, the deck the current cards
    would build (nothing is written). One line per note that differs, in id
    order: '+' added, '~' changed, '-' removed (or retired); then changes of
    the note type (templates, CSS) and media, and a summary. -v also shows
    the words that changed in each field, as a learner reads them. Exit
    status 0 whether or not the decks differ, 2 when a file is unreadable.

    \b
    Example:
      $ ml-anki diff dist/ml-interview-v1.0.0.apkg
      ~ #12-3  ReLU의 문제점은?
      0 added, 1 changed, 0 removed, 45 unchanged
    """
    from . import apkg
    from . import diff as diff_mod

    before = apkg.read(old)
    after = apkg.read(new) if new is not None else None
    if after is None:
        from .build import plan

        config = _config(None, None)
        with _progress(settings) as progress:
            after = plan(config, progress).deck
    result = diff_mod.compare(before, after)
    colours = {"+": "green", "-": "red", "~": "yellow"}
    if settings.verbosity < 0:
        return
    for line in diff_mod.lines(result, verbose=settings.verbosity > 0):
        click.echo(click.style(line, fg=colours.get(line[:1])))
    click.echo(diff_mod.summary(result))


@main.command()
@click.argument("bump", required=False, type=click.Choice(["major", "minor", "patch"]))
@click.option(
    "--replaced-by", "replacements", multiple=True, metavar="OLD=NEW",
    help="Note OLD left the cards in this release and NEW replaces it: its retired card says so. "
    "Repeatable.",
)  # fmt: skip
@click.option(
    "--reworded", multiple=True, metavar="ID",
    help="Note ID's question was reworded but still asks the same thing: keep the id (learners "
    "keep its review history). Repeatable.",
)  # fmt: skip
@click.option(
    "--relearn", multiple=True, metavar="IDS",
    help="Notes this release corrects (their old answer was wrong): tagged "
    "<tag-prefix>::relearn::v<version> and listed in the changelog and deck description, so "
    "learners relearn them. Comma-separated, repeatable, e.g. 7,12-3.",
)  # fmt: skip
@click.option(
    "--previous", type=click.Path(path_type=Path, dir_okay=False), metavar="FILE",
    help="The last release's .apkg, read only for the fields of notes that left the cards "
    "(default: <out>/<slug>-v<last version>.apkg).",
)  # fmt: skip
@_verbosity_options(
    quiet="Print only errors and the released deck's path.",
    verbose="Also list the notes added, changed and removed.",
)
@click.pass_obj
@_reports_source_errors
def release(
    settings: Settings,
    bump: str | None,
    replacements: tuple[str, ...],
    reworded: tuple[str, ...],
    relearn: tuple[str, ...],
    previous: Path | None,
) -> None:
    """Release the next version of the deck: BUMP is major, minor or patch.

    Without BUMP, releases the version pyproject.toml names (the first
    release, or one you set by hand). Checks the cards (any error stops it),
    then sets [project] version, stamps every note changed since the last
    release with the new version and the release time in ml-anki.lock,
    retires notes that left the cards (they keep shipping, tagged
    <tag-prefix>::retired, with their last released fields), writes the
    CHANGELOG.md section and the deck, and prints the commit and tag to make.

    \b
    Refuses, writing nothing, when nothing changed since the last release,
    when the note type's fields or templates changed (learners' notes would
    stop updating), or when a released id now asks a different question.

    \b
    Example:
      $ ml-anki release minor --replaced-by 7=12-5
      $ ml-anki release patch --relearn 7,12-3
    """
    from typing import cast

    from .release import Bump
    from .release import release as run_release

    pairs: dict[str, str] = {}
    for item in replacements:
        old_id, sep, new_id = (part.strip().lstrip("#") for part in item.partition("="))
        if not (sep and old_id and new_id):
            raise click.BadParameter(
                f"{item!r}: write OLD=NEW, e.g. 7=12-5", param_hint="'--replaced-by'"
            )
        pairs[old_id] = new_id
    config = _config(None, None)
    with _one_writer(config), _progress(settings) as progress:
        result = run_release(
            config,
            cast("Bump | None", bump),
            replaced_by=pairs,
            reworded=frozenset(note_id.lstrip("#") for note_id in reworded),
            relearn=frozenset(
                note_id.strip().lstrip("#")
                for item in relearn
                for note_id in item.split(",")
                if note_id.strip()
            ),
            previous_package=previous,
            progress=progress,
        )
    _print_problems(result.warnings, settings.verbosity)
    section, version = result.section, result.version
    if settings.verbosity >= 0:
        after = f"after v{result.previous}" if result.previous else "first release"
        summary = (
            f"Released v{version} ({after}): {section.notes} notes, "
            f"{click.style(str(len(section.added)), fg='green')} added, "
            f"{click.style(str(len(section.changed)), fg='yellow')} changed, "
            f"{click.style(str(len(section.removed)), fg='red')} removed"
        )
        if section.relearn:
            summary += f", {len(section.relearn)} to relearn"
        if section.notetype_changed:
            summary += " · note type (templates/CSS) updated"
        click.echo(summary)
    if settings.verbosity > 0:
        changes = (
            ("+", section.added),
            ("~", section.changed),
            ("-", section.removed),
            ("!", section.relearn),
        )
        for label, entries in changes:
            for entry in entries:
                click.echo(f"  {label} #{entry.note_id}  {entry.question}")
    click.echo(_shown(result.package_path))
    if settings.verbosity >= 0:
        paths = " ".join(_shown(path) for path in result.commit)
        click.echo(
            "Commit and tag it, then publish the deck (keep it: the next release reads it to "
            "retire notes):"
        )
        click.echo(f'  git add {paths} && git commit -m "Release v{version}" && git tag v{version}')


@main.command("release-notes")
@click.argument("version")
@click.option(
    "--verify", type=click.Path(path_type=Path, dir_okay=False, exists=True), metavar="PATH",
    help="Also check that PATH's sha256 is the one the release recorded: exit 1 when it differs.",
)  # fmt: skip
@_reports_source_errors
def release_notes(version: str, verify: Path | None) -> None:
    """Print VERSION's CHANGELOG.md section (v1.1.0 or 1.1.0), e.g. as a release's text.

    \b
    With --verify PATH, first checks that PATH is the package that release
    wrote (the sha256 its section records), so a package built elsewhere,
    e.g. by CI from the release's tag, is published only when it is
    byte-identical.

    \b
    Example:
      $ ml-anki release-notes v1.1.0 --verify dist/ml-interview-v1.1.0.apkg
    """
    import hashlib

    from . import changelog
    from .errors import BadArgument
    from .files import read_text
    from .release import CHANGELOG

    config = _config(None, None)
    path = config.root / CHANGELOG
    wanted = version.removeprefix("v")
    section = changelog.section_of(read_text(path), wanted) if path.is_file() else None
    if section is None:
        raise BadArgument(SourceSpan(path), f"no section for v{wanted}; name a released version")
    if verify is not None:
        recorded = changelog.recorded_sha256(section)
        if recorded is None:
            raise BadArgument(
                SourceSpan(path),
                f"the v{wanted} section records no package sha256 (released before ml-anki "
                "recorded it), so there is nothing to verify against",
            )
        actual = hashlib.sha256(verify.read_bytes()).hexdigest()
        if actual != recorded:
            raise SourceError(
                [
                    Problem(
                        SourceSpan(verify),
                        "error",
                        f"sha256 {actual} is not the {recorded} that v{wanted} recorded in "
                        f"{CHANGELOG}: this is not the released package",
                    )
                ],
                summary="",
            )
    click.echo(section, nl=False)


_CARDS_HELP = "Directory of card Markdown files (default: [tool.ml-anki] cards, 'cards/')."


@main.command()
@click.option("--cards", type=click.Path(path_type=Path, file_okay=False), help=_CARDS_HELP)
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    help="Directory for the .apkg (default: [tool.ml-anki] out, 'dist/').",
)
@_speed_options
@_verbosity_options(
    quiet="Print only errors and the deck's path.",
    verbose="Also list the notes added, changed and no longer in the cards.",
)
@click.pass_obj
@_reports_source_errors
def build(settings: Settings, cards: Path | None, out: Path | None) -> None:
    """Check the cards, then write the deck and update ml-anki.lock.

    Notes whose rendered content changed get a new mod (now, or
    SOURCE_DATE_EPOCH when set); all others keep theirs, so a rebuild
    without changes writes the very same bytes. Nothing is written when
    any card has an error. The deck's path is the last line printed.

    \b
    Example:
      $ ml-anki build
      46 notes: 46 added, 0 changed, 0 unchanged · 7 media files
      dist/ml-interview-v1.0.0.apkg
    """
    from .build import build as run_build

    config = _config(cards, out)
    with _one_writer(config), _progress(settings) as progress:
        result = run_build(config, progress)
    _print_problems(result.warnings, settings.verbosity)
    changes = result.changes
    total = len(changes.added) + len(changes.changed) + len(changes.unchanged)
    if settings.verbosity >= 0:
        summary = (
            f"{total} notes: {click.style(str(len(changes.added)), fg='green')} added, "
            f"{click.style(str(len(changes.changed)), fg='yellow')} changed, "
            f"{len(changes.unchanged)} unchanged · {result.media_count} media files"
        )
        if changes.removed:
            summary += f" · {len(changes.removed)} in the lock but no longer in the cards"
        if changes.notetype_changed:
            summary += " · note type (templates/CSS) updated"
        click.echo(summary)
    if settings.verbosity > 0:
        for label, ids in (("+", changes.added), ("~", changes.changed), ("-", changes.removed)):
            for note_id in ids:
                click.echo(f"  {label} #{note_id}")
        if result.unchanged_file:
            click.echo("  (the deck on disk already had exactly these bytes)")
    click.echo(_shown(result.path))


@main.command()
@click.option("--cards", type=click.Path(path_type=Path, file_okay=False), help=_CARDS_HELP)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text: 'path:line:col: severity: message' lines on stderr; json: a list of "
    "{path, line, col, severity, message, rule} on stdout (line and col 0 when unknown).",
)
@click.option(
    "--rules",
    "list_rules",
    is_flag=True,
    help="List the named rules (id, severity, scope, what each finds) and exit. Silence one "
    "for a note with <!-- ml-anki: allow ID --> in it, for a file before its first note.",
)
@_speed_options
@_verbosity_options(quiet="Print only errors: no warnings, no summary.")
@click.pass_obj
@_reports_source_errors
def check(settings: Settings, cards: Path | None, output_format: str, list_rules: bool) -> None:
    """Validate every card and report all problems; write nothing.

    Problems are printed as path:line:col: error|warning: message, which
    editors and CI logs turn into links. Exit status 0 when there is no
    error (warnings allowed), 1 otherwise.

    \b
    Checked: note ids (valid, unique), questions, answers, tables of contents,
    math ($ and $$ closed, TeX braces, \\begin/\\end and commands MathJax knows,
    no | inside $…$ in a table), figures (exist, inside media/), UTF-8, the lock
    file; warnings for raw HTML the sanitizer removes, very long answers,
    unused media files and ids whose released question changed.
    """
    from .build import check as run_check
    from .errors import has_errors

    if list_rules:
        from .lint.rules import RULES

        width = max(len(rule.id) for rule in RULES)
        for rule in RULES:
            click.echo(
                f"{rule.id:<{width}}  {rule.severity:<7}  {rule.scope:<4}  {rule.description}"
            )
        return
    try:
        config = _config(cards, None)
        with _progress(settings) as progress:
            result = run_check(config, progress)
        problems = list(result.problems)
    except SourceError as exc:
        if output_format == "text":
            raise
        problems = exc.problems
    if output_format == "json":
        import json

        click.echo(json.dumps(
            [{"path": _shown(p.where.path) if p.where else None,
              "line": p.where.line if p.where else 0, "col": p.where.col if p.where else 0,
              "severity": p.severity, "message": p.message.translate(_LINE_BREAKS),
              "rule": p.rule or None} for p in problems],
            ensure_ascii=False, indent=2,
        ))  # fmt: skip
        sys.exit(1 if has_errors(problems) else 0)
    if has_errors(problems):
        raise SourceError(problems)
    _print_problems(result.problems, settings.verbosity)
    if settings.verbosity >= 0:
        warnings = len(problems)
        click.echo(
            f"{len(result.rendered)} notes checked: no errors"
            + (f", {warnings} warning{'s' if warnings != 1 else ''}" if warnings else "")
        )


@main.command()
@click.option("--cards", type=click.Path(path_type=Path, file_okay=False), help=_CARDS_HELP)
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("preview"),
    show_default=True,
    help="Directory for the preview pages and the figures they show.",
)
@click.option("--open", "open_page", is_flag=True, help="Open the preview in the web browser.")
@click.option(
    "--mathjax-url",
    metavar="URL",
    help="MathJax 3 script to typeset the math: a URL, or a local file for offline use (e.g. "
    "node_modules/mathjax/es5/tex-chtml-full.js). Default: MathJax 3.2.2 from jsDelivr.",
)
@_speed_options
@_verbosity_options(quiet="Print only errors and the preview page's path.")
@click.pass_obj
@_reports_source_errors
def preview(
    settings: Settings, cards: Path | None, out: Path, open_page: bool, mathjax_url: str | None
) -> None:
    """Write every card, front and back, as HTML pages to look at in a browser.

    The cards are rendered through the note type's own templates and CSS,
    as Anki shows them, with MathJax typesetting the math (a TeX mistake
    shows in red). Toggles switch night mode and phone width. Nothing is
    written when any card has an error. The page's path is the last line.

    \b
    Example:
      $ ml-anki preview --open
      46 notes, 92 card sides · 7 media files
      preview/index.html
    """
    from . import preview as preview_mod

    local = mathjax_url is not None and not preview_mod.is_url(mathjax_url)
    if local and not Path(str(mathjax_url)).is_file():
        raise click.BadParameter(
            f"{mathjax_url!r} is neither a URL nor a file", param_hint="'--mathjax-url'"
        )
    config = _config(cards, None)
    with _progress(settings) as progress:
        result = preview_mod.write(config, out, mathjax_url or preview_mod.MATHJAX_URL, progress)
    _print_problems(result.warnings, settings.verbosity)
    if settings.verbosity >= 0:
        click.echo(
            f"{result.notes} notes, {2 * len(result.cards)} card sides · "
            f"{result.media_count} media files"
        )
    click.echo(_shown(result.index))
    if open_page:
        click.launch(str(result.index))


@main.command()
@click.argument("directory", type=click.Path(path_type=Path, file_okay=False), default=".")
@click.option("--name", metavar="NAME", help='The deck\'s name in Anki, e.g. "Spanish verbs".')
@click.option(
    "--language",
    type=click.Choice(LANGUAGES),
    default="en",
    show_default=True,
    help="Language of what learners read besides the cards: the deck description, what's new, "
    "retired notes (and of the sample cards).",
)
@click.option(
    "--print-ids", is_flag=True,
    help="Write nothing; print a fresh namespace and ids to paste into an existing "
    "[tool.ml-anki] whose identity is shared with another deck.",
)  # fmt: skip
@_verbosity_options(quiet="Print nothing but errors.")
@click.pass_obj
@_reports_source_errors
def init(
    settings: Settings, directory: Path, name: str | None, language: str, print_ids: bool
) -> None:
    """Start a new deck in DIRECTORY (default: here), ready to build.

    Writes pyproject.toml with a fresh random namespace and ids (this deck's
    identity in every learner's Anki, shared with no other deck), sample
    cards in cards/, media/, a .gitignore and a README. Refuses, writing
    nothing, if any of these files exists.

    \b
    Example:
      $ ml-anki init spanish --name "Spanish verbs"
      $ cd spanish && ml-anki build
    """
    from . import scaffold

    if print_ids:
        fallback = scaffold.slug_for(Path.cwd().name)
        slug = scaffold.slug_for(name, fallback) if name else fallback
        click.echo(scaffold.fresh_identity(slug).toml(), nl=False)
        return
    if not name or not name.strip():
        raise click.UsageError('give the deck a name: --name "My deck" (Anki shows it)')
    slug = scaffold.slug_for(name, scaffold.slug_for(directory.resolve().name))
    files = scaffold.project_files(name.strip(), language, scaffold.fresh_identity(slug), slug)
    scaffold.write(directory, files)
    if settings.verbosity >= 0:
        where = _shown(directory)
        click.echo(f"Created the deck {name.strip()!r} in {where}/:")
        for relative in files:
            click.echo(f"  {relative}")
        go = "" if where == "." else f"cd {where} && "
        click.echo(f"Next: {go}ml-anki build, then import the .apkg it prints into Anki.")


@main.command()
@click.option("--cards", type=click.Path(path_type=Path, file_okay=False), help=_CARDS_HELP)
@click.option(
    "--port",
    type=click.IntRange(min=0, max=65535),
    default=0,
    help="Port on 127.0.0.1 to serve the preview on (default: a free one, printed).",
)
@click.option(
    "--mathjax-url",
    metavar="URL",
    help="MathJax 3 script: a URL, or a local file (served from its folder) for offline use. "
    "Default: MathJax 3.2.2 from jsDelivr.",
)
@_speed_options
@_verbosity_options(
    quiet="Print only problems and the URL, not a line per rebuild.",
    verbose="Also name the files whose change started each rebuild.",
)
@click.pass_obj
@_reports_source_errors
def watch(settings: Settings, cards: Path | None, port: int, mathjax_url: str | None) -> None:
    """Serve the preview on 127.0.0.1 and rebuild it on every save.

    Any change to a card, a figure, pyproject.toml or the lock rebuilds the
    preview (one rebuild per save, however many file events the editor makes),
    and the open page reloads itself, keeping the card it showed, night mode
    and phone width. While the cards have errors the page shows them, as
    'ml-anki check' prints them, instead of stale cards; the terminal prints
    the same. Ctrl-C stops it.

    \b
    Example:
      $ ml-anki watch
      46 notes · built in 0.21 s
      Serving the preview at http://127.0.0.1:40213/ (Ctrl-C stops)
    """
    from . import preview as preview_mod
    from . import watch as watch_mod

    local = mathjax_url is not None and not preview_mod.is_url(mathjax_url)
    if local and not Path(str(mathjax_url)).is_file():
        raise click.BadParameter(
            f"{mathjax_url!r} is neither a URL nor a file", param_hint="'--mathjax-url'"
        )
    config = _config(cards, None)

    def ready(url: str) -> None:
        click.echo(f"Serving the preview at {url} (Ctrl-C stops)")

    def rebuilt(rebuild: watch_mod.Rebuild) -> None:
        if rebuild.changed and settings.verbosity > 0:
            click.echo("Changed: " + ", ".join(_shown(path) for path in rebuild.changed))
        if rebuild.ok:
            _print_problems(rebuild.problems, settings.verbosity)
            if settings.verbosity >= 0:
                click.echo(f"{rebuild.notes} notes · built in {rebuild.seconds:.2f} s")
            return
        _print_problems(rebuild.problems, settings.verbosity)
        errors = sum(p.severity == "error" for p in rebuild.problems)
        click.echo(
            click.style(
                f"ml-anki: {errors} error{'s' if errors != 1 else ''}; nothing was written "
                "(the page shows them until they are fixed)",
                fg="red",
            ),
            err=True,
        )

    try:
        watch_mod.run(
            config, port, mathjax_url, ready, rebuilt, load_config=lambda: _config(cards, None)
        )
    except watch_mod.PortUnavailable as exc:
        raise click.BadParameter(
            f"cannot listen on 127.0.0.1:{exc.port} ({exc.reason}); choose another port, or "
            "leave --port out for a free one",
            param_hint="'--port'",
        ) from None
    except KeyboardInterrupt:
        pass
    click.echo("Stopped.")


@main.command()
@click.option(
    "--url",
    default="http://127.0.0.1:8765",
    show_default=True,
    metavar="URL",
    help="Where AnkiConnect listens (its webBindAddress and webBindPort).",
)
@click.option(
    "--key",
    metavar="KEY",
    envvar="ANKICONNECT_KEY",
    help="AnkiConnect's API key, when its config sets one (or ANKICONNECT_KEY).",
)
@click.option(
    "--dry-run", is_flag=True,
    help="Print what would be added, updated, left alone and refused; change nothing.",
)  # fmt: skip
@click.option(
    "--force", "forced", multiple=True, metavar="ID",
    help="Overwrite note ID in Anki even though it was edited there (after a conflict). "
    "Repeatable.",
)  # fmt: skip
@click.option(
    "--timeout",
    type=click.FloatRange(min=1),
    default=60.0,
    show_default=True,
    metavar="SECONDS",
    help="How long to wait for Anki's answer to each request (importing a large deck takes "
    "a while).",
)
@_speed_options
@_verbosity_options(
    quiet="Print only conflicts and errors.",
    verbose="Also list the notes added, updated and left alone, with their Anki note ids.",
)
@click.pass_obj
@_reports_source_errors
def push(
    settings: Settings,
    url: str,
    key: str | None,
    dry_run: bool,
    forced: tuple[str, ...],
    timeout: float,
) -> None:
    """Put the current deck into a running Anki through AnkiConnect.

    The deck goes in as the package a build writes, through Anki's own
    importer, so GUIDs, note ids, the note type and mods end up as a
    learner's import makes them: importing a release later updates these
    notes, it never duplicates them. Notes are never deleted; a note removed
    from the cards arrives retired, as in a release.

    Never overwrites an edit made in Anki: a note edited there whose card
    also changed is a conflict, left as it is in Anki and shown with what was
    changed there (exit status 1, after everything else went in); --force ID
    overwrites it. A note edited in Anki whose card did not change is left
    alone. Needs Anki running with AnkiConnect (add-on code 2055492159).

    \b
    Example:
      $ ml-anki push
      ML 면접 질문 → http://127.0.0.1:8765: 0 added, 1 updated, 45 unchanged, 0 conflicts
    """
    from .ankiconnect import Client
    from .push import push as run_push

    config = _config(None, None)
    client = Client(url.rstrip("/"), key, timeout)
    try:
        with _progress(settings) as progress:
            result = run_push(
                config, client, frozenset(i.lstrip("#") for i in forced), dry_run, progress
            )
    finally:
        client.close()
    conflicts = result.of("conflict")
    added, updated = result.of("added"), result.of("updated", "forced")
    if settings.verbosity >= 0:
        verb = "would be " if dry_run else ""
        click.echo(
            f"{result.deck_name} → {result.url}"
            + (" (dry run: nothing changed)" if dry_run else "")
            + f": {click.style(str(len(added)), fg='green')} {verb}added, "
            f"{click.style(str(len(updated)), fg='yellow')} {verb}updated, "
            f"{len(result.of('unchanged'))} unchanged, "
            f"{click.style(str(len(conflicts)), fg='red' if conflicts else None)} "
            f"conflict{'s' if len(conflicts) != 1 else ''}"
        )
    if settings.verbosity > 0:
        labels = {"added": "+", "updated": "~", "forced": "~", "unchanged": "="}
        for outcome in result.outcomes:
            if outcome.kind in labels:
                anki = f" (Anki note {outcome.anki_id})" if outcome.anki_id else ""
                forced_note = (
                    " forced over the edit made in Anki" if outcome.kind == "forced" else ""
                )
                click.echo(f"  {labels[outcome.kind]} #{outcome.note_id}{anki}{forced_note}")
    if result.removed and settings.verbosity >= 0:
        click.echo(
            "No longer in the cards, left in Anki as they are (the next release retires them): "
            + ", ".join(f"#{note_id}" for note_id in result.removed)
        )
    for outcome in result.of("kept"):
        if settings.verbosity >= 0:
            click.echo(
                f"#{outcome.note_id} (Anki note {outcome.anki_id}) was edited in Anki and its "
                "card did not change: left as it is in Anki"
            )
            if settings.verbosity > 0:
                for line in outcome.edited_in_anki:
                    click.echo(f"    {line}")
    for outcome in conflicts:
        against = "since the last push" if outcome.diff_base == "pushed" else "against the cards"
        click.echo(
            click.style(f"conflict #{outcome.note_id}", fg="red", bold=True)
            + f" (Anki note {outcome.anki_id}): edited in Anki and changed in the cards; "
            f"Anki's version was kept. Changed in Anki {against}:",
            err=True,
        )
        for line in outcome.edited_in_anki:
            click.echo(f"    {line}", err=True)
        click.echo(
            f"  Port the fix into the cards, or overwrite Anki's version: "
            f"ml-anki push --force {outcome.note_id}",
            err=True,
        )
    if conflicts:
        sys.exit(1)
