"""Fixtures: a tiny deck project in tmp_path, the CLI, and a learner's Anki collection."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from learner import Learner
from ml_anki.cli import main

PYPROJECT = """\
[project]
name = "sample-deck"
version = "{version}"

[tool.ml-anki]
deck-name = "Sample deck"
deck-slug = "sample"
namespace = "sample-namespace"
notetype-id = 1700000000001
notetype-name = "sample Q&A"
deck-id = 1700000000002
tag-prefix = "sample"
"""

BASICS = """\
# Basics

- [What is ReLU?](#1)
- [Why a bias?](#2)
    - [What is $b$ in $y = wx + b$?](#2-1)

## #1

### What is ReLU?

**ReLU is $\\max(0, x)$.** Its derivative is $1$ for $x > 0$ and $0$ for $x<0$.

$$
\\operatorname{ReLU}(x) = \\max(0, x)
$$

![ReLU](../media/relu.svg)

```python
import numpy as np
relu = lambda x: np.maximum(0, x)
```

##### References

- [CS231n](https://cs231n.github.io/neural-networks-1/)

## #2

### Why a bias?

It shifts the threshold: $w_1 x_1 + w_2 x_2 + b$.

## #2-1

### What is $b$ in $y = wx + b$?

The intercept.
"""

RELU_SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><path d="M0 10 L5 10 L10 0"/></svg>\n'


@dataclass
class Project:
    root: Path

    def write(self, relative: str, text: str) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text) if text.startswith("\n") else text, encoding="utf-8")
        return path

    def read(self, relative: str) -> str:
        return (self.root / relative).read_text(encoding="utf-8")

    def cli(self, *args: str, now: int = 1_800_000_000) -> Result:
        return CliRunner().invoke(main, list(args), env={"SOURCE_DATE_EPOCH": str(now)})

    def build(self, now: int = 1_800_000_000, *args: str) -> Path:
        result = self.cli("build", *args, now=now)
        assert result.exit_code == 0, result.output
        return self.root / result.stdout.strip().splitlines()[-1]

    @property
    def deck(self) -> Path:
        return self.root / "dist" / "sample-v1.0.0.apkg"

    @property
    def lock(self) -> Path:
        return self.root / "ml-anki.lock"

    def set_version(self, version: str) -> None:
        self.write("pyproject.toml", PYPROJECT.format(version=version))


@pytest.fixture(autouse=True)
def _private_render_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test gets its own render cache, never the user's."""
    monkeypatch.setenv("ML_ANKI_CACHE_DIR", str(tmp_path / "render-cache"))


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Project:
    project = Project(tmp_path / "deck")
    project.set_version("1.0.0")
    project.write("cards/01-basics.md", BASICS)
    project.write("media/relu.svg", RELU_SVG)
    monkeypatch.chdir(project.root)
    return project


@pytest.fixture
def learner(tmp_path: Path) -> Iterator[Learner]:
    collection = Learner(tmp_path / "learner" / "collection.anki2")
    yield collection
    collection.close()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        help="rewrite tests/golden/*.html from the current renderer (review the diff!)",
    )
