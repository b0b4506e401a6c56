"""The real deck in cards/: every question of the guide, code that runs, figures that exist.

Code on a card is code a learner will copy: every ```python block runs here. Blocks of one note
run in order in one namespace (later blocks build on earlier ones), each note in a fresh
namespace, in a temporary working directory, on the CPU.
"""

from __future__ import annotations

import ast
import contextlib
import dataclasses
import importlib.util
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from learner import Learner
from ml_anki import build as build_mod
from ml_anki import config as config_mod
from ml_anki.source import SourceNote, card_files, decode, parse

ROOT = Path(__file__).resolve().parent.parent
CARDS = ROOT / "cards"
MEDIA = ROOT / "media"

# The study guide's table of contents, verbatim: id — question.
GUIDE = {
    "1": "딥러닝은 무엇인가요? 딥러닝과 머신러닝의 차이는?",
    "2": "Cost Function과 Activation Function은 무엇인가요?",
    "3": "Tensorflow, PyTorch 특징과 차이가 뭘까요?",
    "4": "Data Normalization은 무엇이고 왜 필요한가요?",
    "5": "알고있는 Activation Function에 대해 알려주세요. (Sigmoid, ReLU, LeakyReLU, Tanh 등)",
    "6": "오버피팅일 경우 어떻게 대처해야 할까요?",
    "7": "하이퍼 파라미터는 무엇인가요?",
    "8": "Weight Initialization 방법에 대해 말해주세요. 그리고 무엇을 많이 사용하나요?",
    "9": "볼츠만 머신은 무엇인가요?",
    "10": "TF, PyTorch 등을 사용할 때 디버깅 노하우는?",
    "11": "뉴럴넷의 가장 큰 단점은 무엇인가? 이를 위해 나온 One-Shot Learning은 무엇인가?",
    "12": "요즘 Sigmoid 보다 ReLU를 많이 쓰는데 그 이유는?",
    "12-1": "Non-Linearity라는 말의 의미와 그 필요성은?",
    "12-2": "ReLU로 어떻게 곡선 함수를 근사하나?",
    "12-3": "ReLU의 문제점은?",
    "12-4": "Bias는 왜 있는걸까?",
    "13": "Gradient Descent에 대해서 쉽게 설명한다면?",
    "13-1": "왜 꼭 Gradient를 써야 할까? 그 그래프에서 가로축과 세로축 각각은 무엇인가? 실제 상황에서는 그 그래프가 어떻게 그려질까?",
    "13-2": "GD 중에 때때로 Loss가 증가하는 이유는?",
    "13-3": "Back Propagation에 대해서 쉽게 설명 한다면?",
    "14": "Local Minima 문제에도 불구하고 딥러닝이 잘 되는 이유는?",
    "14-1": "GD가 Local Minima 문제를 피하는 방법은?",
    "14-2": "찾은 해가 Global Minimum인지 아닌지 알 수 있는 방법은?",
    "15": "Training 세트와 Test 세트를 분리하는 이유는?",
    "15-1": "Validation 세트가 따로 있는 이유는?",
    "15-2": "Test 세트가 오염되었다는 말의 뜻은?",
    "15-3": "Regularization이란 무엇인가?",
    "16": "Batch Normalization의 효과는?",
    "16-1": "Dropout의 효과는?",
    "16-2": "BN 적용해서 학습 이후 실제 사용시에 주의할 점은? 코드로는?",
    "16-3": "GAN에서 Generator 쪽에도 BN을 적용해도 될까?",
    "17": "SGD, RMSprop, Adam에 대해서 아는대로 설명한다면?",
    "17-1": "SGD에서 Stochastic의 의미는?",
    "17-2": "미니배치를 작게 할때의 장단점은?",
    "17-3": "모멘텀의 수식을 적어 본다면?",
    "18": "간단한 MNIST 분류기를 MLP+CPU 버전으로 numpy로 만든다면 몇줄일까?",
    "18-1": "어느 정도 돌아가는 녀석을 작성하기까지 몇시간 정도 걸릴까?",
    "18-2": "Back Propagation은 몇줄인가?",
    "18-3": "CNN으로 바꾼다면 얼마나 추가될까?",
    "19": "간단한 MNIST 분류기를 TF, PyTorch 등으로 작성하는데 몇시간이 필요한가?",
    "19-1": "CNN이 아닌 MLP로 해도 잘 될까?",
    "19-2": "마지막 레이어 부분에 대해서 설명 한다면?",
    "19-3": "학습은 BCE loss로 하되 상황을 MSE loss로 보고 싶다면?",
    "20": "딥러닝할 때 GPU를 쓰면 좋은 이유는?",
    "20-1": "GPU를 두개 다 쓰고 싶다. 방법은?",
    "20-2": "학습시 필요한 GPU 메모리는 어떻게 계산하는가?",
}
REQUIRED_FIGURES = {
    "activations.svg", "gradient-descent.svg", "lr-too-large.svg", "relu-approximation.svg",
    "saddle-point.svg", "overfitting.svg", "sgd-momentum.svg",
}  # fmt: skip
_PYTHON_BLOCK = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.DOTALL | re.MULTILINE)
_INSTALL_HINTS = {"torch": "pip install torch==2.13.0"}


def _notes() -> list[SourceNote]:
    notes = []
    for path in card_files(CARDS):
        text, problems = decode(path.read_bytes(), path)
        assert problems == []
        notes.extend(parse(text, path)[0].notes)
    return notes


NOTES = {note.id: note for note in _notes()}


def python_blocks(note: SourceNote) -> list[str]:
    return _PYTHON_BLOCK.findall(note.body_md)


def missing_modules(code: str) -> list[str]:
    """The top-level modules the code imports that are not installed, in the order imported.

    Read from the parsed imports, whatever their form (`import time, torch`, `import torch.nn as
    nn`, `from torch import nn`), not from a pattern over the text; relative imports have no
    module to look for.
    """
    missing: list[str] = []
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        for name in names:
            top = name.partition(".")[0]
            if top not in missing and importlib.util.find_spec(top) is None:
                missing.append(top)
    return missing


def run_note_code(note: SourceNote, tmp_path: Path) -> dict[str, object]:
    namespace: dict[str, object] = {"__name__": f"card_{note.id}"}
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            for block in python_blocks(note):
                # Running the card's own code is the point of this test.
                exec(compile(block, f"{note.path}#{note.id}", "exec"), namespace)  # noqa: S102
    finally:
        os.chdir(cwd)
    return namespace


def test_every_question_of_the_guide_is_a_note_verbatim() -> None:
    assert {i: n.question for i, n in NOTES.items()} == GUIDE


def test_every_note_opens_with_a_bold_core_answer_and_cites_a_real_link() -> None:
    for note in NOTES.values():
        assert note.body_md.lstrip().startswith("**"), (
            f"#{note.id} must open with its core answer in bold"
        )
        links = re.findall(r"\]\((https?://[^)\s]+)\)", note.refs_md)
        assert links, f"#{note.id} needs at least one reference link"
        for url in links:
            assert not re.search(r"example\.(com|org)|xxxx|TODO", url), (
                f"#{note.id}: placeholder {url}"
            )


def test_every_required_figure_exists_and_every_figure_is_shown_by_a_card() -> None:
    shown = {m for n in NOTES.values() for m in re.findall(r"\.\./media/([\w.-]+)", n.body_md)}
    on_disk = {p.name for p in MEDIA.iterdir()}
    assert REQUIRED_FIGURES <= on_disk
    assert on_disk == shown, "every figure in media/ is shown by a card, and every shown one exists"


@pytest.mark.parametrize("note_id", [i for i, n in NOTES.items() if python_blocks(n)])
def test_card_code_runs(note_id: str, tmp_path: Path) -> None:
    note = NOTES[note_id]
    missing = missing_modules("\n".join(python_blocks(note)))
    if missing:
        hints = [_INSTALL_HINTS.get(name, f"pip install {name}") for name in missing]
        pytest.skip(
            f"#{note_id} imports {', '.join(missing)}, which is not installed ({'; '.join(hints)})"
        )
    run_note_code(note, tmp_path)


@pytest.mark.parametrize(
    ("code", "missing"),
    [
        ("import time, no_such_module_a", ["no_such_module_a"]),
        ("import no_such_module_a.nn as nn", ["no_such_module_a"]),
        ("from no_such_module_a import nn", ["no_such_module_a"]),
        ("from no_such_module_a.nn import functional as F", ["no_such_module_a"]),
        ("def f():\n    import no_such_module_b\n    import os", ["no_such_module_b"]),
        ("from . import sibling\nimport json", []),
        ("import numpy as np, os.path", []),
    ],
)
def test_card_code_needing_an_uninstalled_module_is_found_from_its_imports(
    code: str, missing: list[str]
) -> None:
    assert missing_modules(code) == missing


def test_the_numpy_mlp_of_card_18_learns(tmp_path: Path) -> None:
    """Ten noisy class prototypes in 784 dimensions: chance is 10%, the MLP must be far above."""
    namespace = run_note_code(NOTES["18"], tmp_path)
    train, predict = namespace["train"], namespace["predict"]
    rng = np.random.default_rng(7)
    prototypes = rng.random((10, 784))
    y = rng.integers(0, 10, 3000)
    X = np.clip(prototypes[y] + rng.normal(0, 0.35, (3000, 784)), 0, 1)
    params = train(X[:2500], y[:2500], hidden=64, epochs=5)  # type: ignore[operator]
    predicted = predict(params, X[2500:])  # type: ignore[operator]
    accuracy = float(np.mean(predicted == y[2500:]))
    assert accuracy > 0.8, f"accuracy {accuracy:.2f} (chance is 0.10)"


def test_the_real_deck_checks_clean_and_imports_with_every_note(tmp_path: Path) -> None:
    check = subprocess.run(
        [sys.executable, "-m", "ml_anki", "check"],
        check=False,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stderr
    assert check.stderr == "", "the real deck has no warnings either"
    # Build into tmp_path with a copy of the committed lock, which stays untouched.
    lock = tmp_path / "ml-anki.lock"
    if (ROOT / "ml-anki.lock").exists():
        lock.write_bytes((ROOT / "ml-anki.lock").read_bytes())
    config = dataclasses.replace(config_mod.load(ROOT), out_dir=tmp_path / "dist", lock_path=lock)
    built = build_mod.build(config)
    learner = Learner(tmp_path / "learner" / "collection.anki2")
    try:
        log = learner.import_deck(built.path)
        assert sorted(log.new) == sorted(GUIDE)
        notes = learner.notes()
        assert notes["12-1"]["Context"] == GUIDE["12"]
        media = learner.media_files()
        for name in REQUIRED_FIGURES:
            assert any(m.startswith(name.removesuffix(".svg") + "-") for m in media), name
    finally:
        learner.close()


@pytest.mark.skipif(
    importlib.util.find_spec("matplotlib") is None,
    reason="matplotlib (the figures extra) is not installed",
)
def test_figures_are_exactly_what_the_script_generates(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "make_figures.py"), "--out", str(tmp_path)],
        check=True,
        capture_output=True,
    )
    generated = {p.name: p.read_bytes() for p in tmp_path.glob("*.svg")}
    committed = {p.name: p.read_bytes() for p in MEDIA.glob("*.svg")}
    assert generated == committed
    for data in generated.values():
        assert b"<dc:date>" not in data and b"Matplotlib v" not in data
