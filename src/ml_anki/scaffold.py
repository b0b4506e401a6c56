"""`ml-anki init`: a new deck project that builds at once, with an identity no other deck has.

A deck's namespace and ids are promises to its learners, and sharing them with another deck
makes each deck overwrite the other's notes on import. So they are drawn here from the
operating system's cryptographic random source, never typed by hand or copied from an example.
"""

from __future__ import annotations

import json
import re
import secrets
import textwrap
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from .config import ID_MAX, NOTETYPE_KEYS
from .errors import SourceError, SourceSpan
from .files import atomic_write

ID_MIN = 1 << 32
"""Fresh ids are drawn from [2**32, 2**53): above every id picked by hand or by genanki's
recommended range (2**30–2**31), so a fresh id meets no other deck's, and exact in JSON."""


@dataclass(frozen=True, slots=True)
class Identity:
    """What makes a deck itself to Anki; drawn once, kept forever."""

    namespace: str
    """Note GUIDs derive from it: `<slug>-<16 random hex digits>`."""
    notetype_id: int
    deck_id: int
    reverse_notetype_id: int
    cloze_notetype_id: int

    def toml(self) -> str:
        """The `[tool.ml-anki]` lines that carry it."""
        return (
            f"namespace = {_toml_string(self.namespace)}\n"
            f"{NOTETYPE_KEYS['qa'][0]} = {self.notetype_id}\n"
            f"deck-id = {self.deck_id}\n"
            f"{NOTETYPE_KEYS['reverse'][0]} = {self.reverse_notetype_id}\n"
            f"{NOTETYPE_KEYS['cloze'][0]} = {self.cloze_notetype_id}\n"
        )


def fresh_identity(slug: str) -> Identity:
    ids: set[int] = set()
    while len(ids) < 4:
        ids.add(ID_MIN + secrets.randbelow(ID_MAX + 1 - ID_MIN))
    notetype_id, deck_id, reverse_id, cloze_id = sorted(ids)
    return Identity(f"{slug}-{secrets.token_hex(8)}", notetype_id, deck_id, reverse_id, cloze_id)


def slug_for(name: str, fallback: str = "deck") -> str:
    """`"Spanish — vocabulary"` → `spanish-vocabulary`; names without Latin letters fall back."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    return slug or fallback


def project_files(name: str, language: str, identity: Identity, slug: str) -> dict[str, str]:
    """Relative path → text of every file a new deck project starts with."""
    cards = _SAMPLE_CARDS.get(language, _SAMPLE_CARDS["en"])
    return {
        "pyproject.toml": _PYPROJECT.format(
            slug=slug,
            name=_toml_string(name),
            notetype_name=_toml_string(f"{name} Q&A"),
            reverse_name=_toml_string(f"{name} reverse"),
            cloze_name=_toml_string(f"{name} cloze"),
            language=_toml_string(language),
            identity=identity.toml(),
        ),
        "cards/01-getting-started.md": cards,
        "media/circle.svg": _CIRCLE_SVG,
        ".gitignore": "/dist/\n/preview/\n/.ml-anki.busy\n",
        "README.md": _README.format(name=name, slug=slug),
    }


def write(directory: Path, files: dict[str, str]) -> list[Path]:
    """Write `files` under `directory`; refuses, writing nothing, if any of them exists."""
    existing = [directory / relative for relative in files if (directory / relative).exists()]
    if existing:
        raise SourceError.single(
            SourceSpan(directory),
            "init would overwrite "
            + ", ".join(str(path) for path in existing)
            + ": run it in an empty directory, or "
            "`ml-anki init NEW-DIR` to create one",
        )
    written = []
    for relative, text in files.items():
        path = directory / relative
        atomic_write(path, text.encode())
        written.append(path)
    return written


def _toml_string(value: str) -> str:
    # A JSON string is a valid TOML basic string: the same escapes, `\uXXXX` included.
    return json.dumps(value, ensure_ascii=False)


_PYPROJECT = """\
[project]
name = "{slug}"
version = "0.1.0"  # the deck's version: `ml-anki release major|minor|patch` sets it

# The namespace and the ids are this deck's identity in every learner's Anki: they were drawn at
# random for this deck alone. Never change them and never copy them to another deck (importing
# one deck would overwrite the other's notes); `ml-anki init --print-ids` prints fresh ones.
[tool.ml-anki]
deck-name = {name}
deck-slug = "{slug}"
{identity}notetype-name = {notetype_name}
reverse-notetype-name = {reverse_name}
cloze-notetype-name = {cloze_name}
tag-prefix = "{slug}"
language = {language}
"""

_SAMPLE_CARDS = {
    "en": textwrap.dedent("""\
        # Getting started

        Anything above the first note is for readers of this file only: a title, a table of
        contents. Each note starts with `## #<id>`; its id is forever.

        ## #1

        ### What does `ml-anki build` write?

        An Anki package, `dist/<deck-slug>-v<version>.apkg`. Import it into Anki; import the
        next release over it, and changed notes are updated in place with their review history.

        ## #1-1

        ### What makes a note the same note in the next release?

        Its id, the `1-1` in `## #1-1`. Edit the question, the answer or the file freely: learners
        keep the note and its history. A numeric id like `1-1` is a sub-question of `1`, whose
        question its card shows above its own.

        ## #2

        ### What is the area of a circle of radius $r$?

        $$
        A = \\pi r^2
        $$

        ![A circle of radius r](../media/circle.svg)

        ```python
        import math

        area = math.pi * 2**2  # r = 2
        ```

        ##### References

        - [Circle (Wikipedia)](https://en.wikipedia.org/wiki/Circle)

        ## #pi {type=reverse}

        ### $\\pi$

        The ratio of a circle's circumference to its diameter, about 3.14159. A reverse note makes
        two cards: this side asks for the other, and the other for this one.

        ## #circle-formulas

        ### A circle of radius $r$

        Its circumference is {{c1::$2 \\pi r$}} and its area {{c2::$\\pi r^2$}}. A cloze note
        makes a card per number: each card hides that number's deletions.
        """),
    "ko": textwrap.dedent("""\
        # 시작하기

        첫 노트 위의 내용은 이 파일을 읽는 사람을 위한 것입니다: 제목, 목차. 노트는 `## #<id>`로
        시작하고, id는 영원히 바꾸지 않습니다.

        ## #1

        ### `ml-anki build`는 무엇을 만드나요?

        Anki 패키지 `dist/<deck-slug>-v<version>.apkg`입니다. Anki에서 가져오고, 다음 릴리스를 그
        위에 가져오면 바뀐 노트가 학습 기록을 유지한 채 그 자리에서 갱신됩니다.

        ## #1-1

        ### 다음 릴리스에서 같은 노트임은 무엇으로 정해지나요?

        id, 곧 `## #1-1`의 `1-1`입니다. 질문, 답, 파일은 자유롭게 고쳐도 학습자는 노트와 그 기록을
        그대로 유지합니다. `1-1`처럼 숫자로 된 id는 `1`의 하위 질문이고, 카드에 `1`의 질문이 함께
        보입니다.

        ## #2

        ### 반지름이 $r$인 원의 넓이는?

        $$
        A = \\pi r^2
        $$

        ![반지름 r인 원](../media/circle.svg)

        ```python
        import math

        area = math.pi * 2**2  # r = 2
        ```

        ##### References

        - [원 (위키백과)](https://ko.wikipedia.org/wiki/원)

        ## #pi {type=reverse}

        ### $\\pi$

        원의 둘레와 지름의 비, 약 3.14159입니다. reverse 노트는 카드 두 장을 만듭니다: 이쪽 면으로
        저쪽을 묻고, 저쪽 면으로 이쪽을 묻습니다.

        ## #circle-formulas

        ### 반지름이 $r$인 원

        둘레는 {{c1::$2 \\pi r$}}, 넓이는 {{c2::$\\pi r^2$}}입니다. cloze 노트는 번호마다 카드를 한 장
        만들고, 각 카드는 그 번호의 빈칸을 가립니다.
        """),
}

_CIRCLE_SVG = """\
<svg xmlns="http://www.w3.org/2000/svg" width="120" height="120" viewBox="0 0 120 120">
<circle cx="60" cy="60" r="50" fill="none" stroke="#3366cc" stroke-width="3"/>
<line x1="60" y1="60" x2="110" y2="60" stroke="#cc3333" stroke-width="3"/>
<text x="80" y="54" font-family="sans-serif" font-size="16" fill="#cc3333">r</text>
</svg>
"""

_README = """\
# {name}

An Anki deck written in Markdown (`cards/`) and built with
[ml-anki](https://pypi.org/project/ml-anki/).

- `ml-anki check`: validate every card, write nothing.
- `ml-anki preview --open`: every card, front and back, in the browser (night mode, phone width).
- `ml-anki build`: write `dist/{slug}-v<version>.apkg`; import it into Anki.
- `ml-anki push`: send the deck to a running Anki desktop (AnkiConnect add-on).
- `ml-anki release minor` (or `major`, `patch`): set the version, write the changelog and the
  deck, and print the commit and tag to make. Publish the `.apkg` it writes.

Commit `ml-anki.lock` with the cards: it records what learners already have, so that each
release updates exactly the notes that changed.
"""
