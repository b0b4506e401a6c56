"""TeX as MathJax in Anki reads it: what it would refuse in one formula.

Unknown commands and environments (the vocabulary of MathJax's base, ams and boldsymbol
packages, with the arguments each command requires, generated from MathJax 3.2.2 by
`scripts/tex_commands.js`), unbalanced braces, `\\begin`/`\\end` and `\\left`/`\\right`, missing
arguments, stray or doubled scripts, ambiguous fractions and the characters TeX reserves. The
rule `tex`; a function over a formula's text.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Literal

from ..errors import Problem, SourceSpan

# TeX arguments that MathJax reads as plain text (no commands inside), so `\text{\LaTeX}` shows
# its backslash rather than failing: nothing to check there but the braces.
_TEXT_ARGUMENT = frozenset({
    "text", "textbf", "textit", "textnormal", "textrm", "textsf", "texttt", "textup", "mbox",
    "hbox", "label", "tag", "ref", "eqref",
})  # fmt: skip
_CONTROL_SPACES = frozenset({" ", "\t", "\u00a0"})
"""`\\ ` and friends: spaces MathJax knows, kept out of the data file (editors strip them)."""
_LATEX_ONLY = {
    "bm": r"\boldsymbol",
    "R": r"\mathbb{R}",
    "N": r"\mathbb{N}",
    "Z": r"\mathbb{Z}",
    "abs": r"\lvert x \rvert",
    "norm": r"\lVert x \rVert",
    "argmax": r"\operatorname*{arg\,max}",
    "argmin": r"\operatorname*{arg\,min}",
    "coloneqq": r"\mathrel{:=}",
    "mathds": r"\mathbb",
    "emph": r"\textit",
    "dv": r"\frac{d}{dx}",
    "pdv": r"\frac{\partial}{\partial x}",
}
"""LaTeX package commands that MathJax lacks, with what to write instead."""


@dataclass(frozen=True, slots=True)
class TexVocabulary:
    """What MathJax in Anki typesets; anything else shows the formula's source on the card."""

    commands: frozenset[str]
    """Command names without the backslash: `frac`, `lvert`, `,`."""
    environments: frozenset[str]
    arguments: Mapping[str, str]
    """The arguments a command requires, as MathJax reads them: `{}` each, `[]` first when it
    takes an optional one (`sqrt`: `[]{}`); commands without required arguments are absent."""


@functools.cache
def tex_vocabulary() -> TexVocabulary:
    """The commands and environments of MathJax's base, ams and boldsymbol packages."""
    text = resources.files("ml_anki").joinpath("tex_commands.txt").read_text(encoding="utf-8")
    commands, environments, arguments = set(), set(), {}
    for line in text.split("\n"):
        if line.startswith("\\begin{") and line.endswith("}"):
            environments.add(line[len("\\begin{") : -1])
        elif line.startswith("\\"):
            name, _, spec = line[1:].partition(" ")
            commands.add(name)
            if spec:
                arguments[name] = spec
    return TexVocabulary(frozenset(commands), frozenset(environments), arguments)


# --- TeX -------------------------------------------------------------------------------------

_COMMAND_NAME = re.compile(r"[A-Za-z]+")
_FRACTIONS = frozenset(
    {"over", "atop", "above", "choose", "brace", "brack", "overwithdelims", "atopwithdelims",
     "abovewithdelims"}
)  # fmt: skip
"""Generalized fractions: TeX allows one per group."""
_NOT_ATOMS = frozenset({"limits", "nolimits", "displaylimits"})
_MOVABLE_LIMITS = frozenset(
    {"sum", "prod", "coprod", "bigcup", "bigcap", "bigvee", "bigwedge", "bigoplus", "bigotimes",
     "bigodot", "biguplus", "bigsqcup", "lim", "limsup", "liminf", "max", "min", "sup", "inf",
     "det", "gcd", "Pr"}
)  # fmt: skip
"""Operators whose scripts MathJax places above and below in display math."""
_ONE_COLUMN = frozenset({"equation", "equation*", "multline", "multline*"})
"""Environments without columns: `&` in them is an error."""
"""Commands that modify the operator before them instead of starting something new."""


def _skip_spaces(tex: str, position: int) -> int:
    while position < len(tex) and tex[position] in " \t\n":
        position += 1
    return position


_ENVIRONMENT_ARGUMENT = re.compile(r"[ \t\n]*\{([^{}]*)\}")
_NEVER_CLOSED = "unbalanced '{' in math: it is never closed; add the matching '}'"


@dataclass(slots=True)
class _Scope:
    """What a group of a formula has seen so far: its fractions and the current base's scripts.

    MathJax refuses a second `\\over` in one group and a second superscript (or subscript) on
    one base, and needs something after every `^` and `_`."""

    overs: int = 0
    """`\\over`, `\\atop`, `\\choose`… in this group (or cell of an environment)."""
    scripts: list[str] = field(default_factory=list)
    """`^`, `_` and `'` already attached to the current base, in order."""
    base: str = ""
    """The current base's command name when it is one (`sum`), else empty."""
    pending: tuple[str, int] | None = None
    """A `^` or `_` (and its offset) still waiting for its argument."""

    def reset(self) -> None:
        self.overs, self.scripts, self.pending, self.base = 0, [], None, ""


@dataclass(frozen=True, slots=True)
class _Open:
    """Something in a formula that must be closed: `{`, `\\begin{name}` or `\\left`."""

    kind: Literal["{", "begin", "left"]
    offset: int
    environment: str = ""
    scope: _Scope = field(default_factory=_Scope, compare=False)

    def __str__(self) -> str:
        if self.kind == "begin":
            return f"\\begin{{{self.environment}}}"
        return "'{'" if self.kind == "{" else "\\left"


class TexChecker:
    """What MathJax would reject in one formula: unknown commands and environments, unbalanced
    braces, `\\begin`/`\\end` and `\\left`/`\\right`, and the characters TeX reserves."""

    def __init__(self, tex: str, at: Callable[[int], SourceSpan]) -> None:
        self.tex, self.at = tex, at
        self.vocabulary = tex_vocabulary()
        self.opened: list[_Open] = []
        self.problems: list[Problem] = []
        self.outermost = _Scope()

    @property
    def scope(self) -> _Scope:
        return self.opened[-1].scope if self.opened else self.outermost

    def atom(self, command: str = "") -> None:
        """Something that can carry scripts starts (or is the argument a `^`/`_` waits for)."""
        scope = self.scope
        if scope.pending is not None:
            scope.pending = None
        else:
            scope.scripts, scope.base = [], command

    def closed(self, item: _Open) -> None:
        self.missing_script(item.scope)

    def missing_script(self, scope: _Scope) -> None:
        if scope.pending is not None:
            char, offset = scope.pending
            scope.pending = None
            example = "x^{2}" if char == "^" else "x_{i}"
            what = "superscript" if char == "^" else "subscript"
            self.error(offset, f"'{char}' has no {what} after it; write e.g. {example}, or remove "
                       f"the '{char}'")  # fmt: skip

    def script(self, offset: int, char: str) -> None:
        scope = self.scope
        self.missing_script(scope)
        scripts = scope.scripts
        # Primes are a superscript that merges with one directly after them (x'^2, x''), not
        # with one before them; operators with movable limits stack them apart.
        after_prime = bool(scripts) and scripts[-1] == "'"
        if char == "'":
            if (
                not after_prime
                and ("^" in scripts or "'" in scripts)
                and scope.base not in _MOVABLE_LIMITS
            ):
                self.error(offset, "a prime after a superscript makes a double superscript; "
                           "write x'^{2}, not x^{2}'")  # fmt: skip
            scripts.append(char)
            return
        if char in scripts or (char == "^" and "'" in scripts and not after_prime):
            self.error(
                offset,
                "double superscript: put braces around one, e.g. x^{a^b} or {x^a}^b"
                if char == "^"
                else "double subscript: put braces around one, e.g. x_{a_b} or {x_a}_b",
            )
        scripts.append(char)
        scope.pending = (char, offset)

    def cell_ends(self) -> None:
        """`&` or `\\\\`: a new cell, with its own fractions and bases."""
        self.missing_script(self.scope)
        self.scope.reset()

    def arguments(self, start: int, name: str, end: int) -> None:
        """A command that requires arguments must have them (`\\frac{a}` shows an error)."""
        spec = self.vocabulary.arguments.get(name)
        if not spec:
            return
        tex, position = self.tex, end
        wanted = spec.count("{}")
        if spec.startswith("[]"):
            position = _skip_spaces(tex, position)
            if position < len(tex) and tex[position] == "[":
                close = tex.find("]", position)
                if close < 0:
                    self.error(start, f"the optional argument of \\{name} is never closed; add ']'")
                    return
                position = close + 1
        for _ in range(wanted):
            position = _skip_spaces(tex, position)
            if position >= len(tex) or (tex[position] in "}&" and not spec.endswith("*")):
                missing = "its argument" if wanted == 1 else "an argument"
                self.error(start, f"\\{name} is missing {missing}: write \\{name}" + "{…}" * wanted)
                return
            if tex[position] == "{":
                group_end = _text_argument_end(tex, position)
                if not group_end:
                    return  # never closed: reported as an unbalanced '{'
                position = group_end
            elif tex[position] == "\\":
                letters = _COMMAND_NAME.match(tex, position + 1)
                position += 1 + (len(letters.group()) if letters else 1)
            else:
                position += 1

    def fraction(self, start: int, name: str) -> None:
        scope = self.scope
        self.missing_script(scope)
        scope.overs += 1
        scope.scripts, scope.base = [], ""
        if scope.overs > 1:
            self.error(
                start,
                f"a second \\{name} in the same group is ambiguous (MathJax refuses it); put "
                "braces around one fraction, e.g. {a \\over b} \\over c, or write \\frac{…}{…}",
            )

    def error(self, offset: int, message: str) -> None:
        self.problems.append(Problem(self.at(offset), "error", message))

    def where(self, item: _Open) -> SourceSpan:
        return self.at(item.offset)

    def run(self) -> list[Problem]:
        tex, i = self.tex, 0
        while i < len(tex):
            char = tex[i]
            if char == "\\":
                i = self.command(i)
                continue
            if char == "{":
                self.atom()
                self.opened.append(_Open("{", i))
            elif char == "}":
                self.close_brace(i)
            elif char in "^_'":
                self.script(i, char)
            elif char in " \t\n":
                pass
            elif char == "%":
                self.error(
                    i,
                    "'%' starts a TeX comment, which hides the rest of the line on the "
                    "card; write \\% for a percent sign",
                )
                newline = tex.find("\n", i)
                i = len(tex) if newline < 0 else newline
                continue
            elif char == "#":
                self.error(i, "'#' is not allowed in TeX math; write \\# for a number sign")
            elif char == "&":
                environment = next(
                    (o.environment for o in reversed(self.opened) if o.kind == "begin"), None
                )
                if environment in _ONE_COLUMN:
                    self.error(
                        i,
                        f"'&' separates columns, and {environment} has none; use aligned "
                        "inside it, or write \\& for an ampersand",
                    )
                elif environment is None:
                    self.error(
                        i,
                        "'&' only separates columns inside an environment such as aligned, "
                        "cases or matrix; write \\& for an ampersand",
                    )
                self.cell_ends()
            else:
                self.atom()
            i += 1
        self.missing_script(self.outermost)
        for item in self.opened:
            if item.kind == "{":
                self.error(item.offset, _NEVER_CLOSED)
            elif item.kind == "begin":
                self.error(item.offset, f"{item} is never closed; add \\end{{{item.environment}}}")
            else:
                self.error(item.offset, "\\left without a matching \\right")
        return self.problems

    def command(self, start: int) -> int:
        """Check the command at `start` (a backslash); return where the next token starts."""
        tex = self.tex
        if start + 1 == len(tex):
            self.error(start, "a formula cannot end with a lone '\\'")
            return len(tex)
        letters = _COMMAND_NAME.match(tex, start + 1)
        name = letters.group() if letters else tex[start + 1]
        end = start + 1 + len(name)
        if name in ("begin", "end"):
            return self.environment(start, name, end)
        if name == "\\":
            self.cell_ends()
        elif name in _FRACTIONS:
            self.fraction(start, name)
        elif name in _NOT_ATOMS:
            if not self.scope.base:
                self.error(start, f"\\{name} only follows an operator such as \\sum or \\lim")
        elif name not in ("right", "middle"):
            self.atom(name)
        self.arguments(start, name, end)
        if name not in self.vocabulary.commands and name not in _CONTROL_SPACES:
            hint = _LATEX_ONLY.get(name)
            self.error(
                start,
                f"unknown TeX command \\{name}: MathJax in Anki would show the "
                "formula's source instead"
                + (
                    f"; write {hint}" if hint else _suggestion(name, self.vocabulary.commands, "\\")
                ),
            )
        if name in ("left", "right", "middle"):
            self.delimiter(start, name, end)
        if name in _TEXT_ARGUMENT:
            close = _text_argument_end(tex, end)
            if close is None:
                self.error(tex.index("{", end), _NEVER_CLOSED)
                return len(tex)
            return close or end
        return end

    def environment(self, start: int, name: str, end: int) -> int:
        argument = _ENVIRONMENT_ARGUMENT.match(self.tex, end)
        if argument is None:
            self.error(
                start, f"\\{name} needs an environment name in braces, e.g. \\{name}{{aligned}}"
            )
            return end
        environment = argument.group(1).strip()
        opened = self.opened
        if name == "begin":
            if environment not in self.vocabulary.environments:
                self.error(
                    start,
                    f"unknown TeX environment '{environment}'"
                    + _suggestion(environment, self.vocabulary.environments, ""),
                )
            self.atom()
            opened.append(_Open("begin", start, environment))
        elif opened and opened[-1].kind == "begin":
            if opened[-1].environment != environment:
                self.error(
                    start,
                    f"\\end{{{environment}}} does not match {opened[-1]} at "
                    f"{self.where(opened[-1])}; close environments in reverse order",
                )
            self.closed(opened.pop())
        elif any(o.kind == "begin" and o.environment == environment for o in opened):
            self.error(
                start,
                f"\\end{{{environment}}} comes before the {opened[-1]} at "
                f"{self.where(opened[-1])} is closed",
            )
        else:
            self.error(start, f"\\end{{{environment}}} has no \\begin{{{environment}}} before it")
        return argument.end()

    def delimiter(self, start: int, name: str, end: int) -> None:
        following = self.tex[end:].lstrip()[:1]
        if following in ("{", "}"):
            self.error(
                start, f"\\{name}{following} is not a delimiter; write \\{name}\\{following}"
            )
        if name == "left":
            self.opened.append(_Open("left", start))
        elif not any(o.kind == "left" for o in self.opened):
            self.error(
                start, f"\\{name} without a \\left before it; pair every \\left with a \\right"
            )
        elif name == "right":
            while self.opened[-1].kind != "left":
                unclosed = self.opened.pop()
                self.error(
                    unclosed.offset,
                    f"{unclosed} is not closed before the \\right at {self.at(start)}",
                )
            self.closed(self.opened.pop())

    def close_brace(self, offset: int) -> None:
        if self.opened and self.opened[-1].kind == "{":
            self.closed(self.opened.pop())
        elif self.opened:
            self.error(
                offset,
                f"'}}' closes nothing: the {self.opened[-1]} at "
                f"{self.where(self.opened[-1])} is still open",
            )
        else:
            self.error(
                offset,
                "unbalanced '}' in math: there is no '{' before it; remove it or add the '{'",
            )


def _text_argument_end(tex: str, start: int) -> int | None:
    """End of a `{…}` text argument starting at `start` (after spaces); 0 when there is no brace
    argument, None when it is never closed."""
    i = start
    while i < len(tex) and tex[i] in " \t\n":
        i += 1
    if i == len(tex) or tex[i] != "{":
        return 0
    depth = 0
    while i < len(tex):
        if tex[i] == "\\":
            i += 2
            continue
        if tex[i] == "{":
            depth += 1
        elif tex[i] == "}":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return None


def _suggestion(name: str, known: frozenset[str], prefix: str) -> str:
    close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.75)
    if close:
        return f"; did you mean {prefix}{close[0]}?"
    return " (the known ones are listed in ml_anki/tex_commands.txt)"
