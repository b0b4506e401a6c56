"""Every string a learner reads, one table per language.

The deck's `language` setting picks a table; code never spells a learner-facing word itself.
Adding a language is adding a `Strings` value to `TABLES` (and its code to nothing else: the
config accepts exactly the keys of `TABLES`). Placeholders are `str.format` fields named in each
attribute's docstring; the HTML around them is the caller's.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Strings:
    html_lang: str
    """BCP 47 tag for `<html lang>`: browsers pick fonts and line breaking by it."""
    notes_one: str
    """Deck description: the deck's size with one note, `{n}`."""
    notes_other: str
    """Deck description: the deck's size, `{n}` notes."""
    retired_count: str
    """Deck description: `{n}` retired notes still shipped."""
    first_release: str
    """Deck description, first release: `{version}`."""
    whats_new: str
    """Deck description, heading of the list of changes in `{version}`."""
    added: str
    """Deck description: label of a note added in this version."""
    changed: str
    """Deck description: label of a note changed in this version."""
    removed: str
    """Deck description: label of a note retired in this version."""
    relearn: str
    """Deck description, heading of the notes whose answer `{version}` corrected (to relearn),
    with `{tag}`, the tag that finds them."""
    more: str
    """Deck description: the last item when the list is cut, `{n}` more changes."""
    retired_line: str
    """On a retired note's back: retired in `{version}`."""
    replaced_by: str
    """Appended to the retired line: `{id}` and `{question}` (HTML) of the note replacing it."""
    preview_count: str
    """Preview toolbar: `{n}` notes, every card's front and back."""
    preview_night: str
    """Preview toolbar: the night mode toggle."""
    preview_phone: str
    """Preview toolbar: the phone width toggle, `{px}` pixels."""
    preview_jump: str
    """Preview toolbar: the note picker."""
    preview_front: str
    """Preview: label above a card's front."""
    preview_back: str
    """Preview: label above a card's back."""
    preview_retired: str
    """Preview: where a retired note's source would be named."""

    def notes(self, n: int) -> str:
        return (self.notes_one if n == 1 else self.notes_other).format(n=n)


TABLES: dict[str, Strings] = {
    "en": Strings(
        html_lang="en",
        notes_one="{n} note",
        notes_other="{n} notes",
        retired_count="{n} retired",
        first_release="v{version}: first release",
        whats_new="New in v{version}:",
        added="added",
        changed="changed",
        removed="retired",
        relearn="Corrected in v{version}, relearn these (tag:{tag}, then Forget):",
        more="and {n} more",
        retired_line="Retired in v{version}",
        replaced_by=" · replaced by #{id} {question}",
        preview_count="{n} notes · front and back",
        preview_night="Night mode",
        preview_phone="Phone width ({px} px)",
        preview_jump="Go to",
        preview_front="front",
        preview_back="back",
        preview_retired="retired: no longer in the cards",
    ),
    "ko": Strings(
        html_lang="ko",
        notes_one="{n}개 노트",
        notes_other="{n}개 노트",
        retired_count="폐기된 노트 {n}개",
        first_release="v{version}: 첫 릴리스",
        whats_new="v{version}의 새 내용:",
        added="추가",
        changed="수정",
        removed="폐기",
        relearn="v{version}에서 답이 수정됨, 다시 학습하세요 (tag:{tag} 검색 후 Forget):",
        more="외 {n}개",
        retired_line="v{version}에서 폐기됨",
        replaced_by=" · 대체: #{id} {question}",
        preview_count="{n}개 노트 · 앞면과 뒷면",
        preview_night="야간 모드",
        preview_phone="휴대폰 너비 ({px} px)",
        preview_jump="이동",
        preview_front="앞면",
        preview_back="뒷면",
        preview_retired="폐기됨: 카드에 더 이상 없음",
    ),
}
"""Language code (the config's `language`) → its strings."""

LANGUAGES: tuple[str, ...] = tuple(TABLES)


def for_language(language: str) -> Strings:
    return TABLES[language]
