"""Regenerate the deck's figures as SVG files in media/.

Every figure is drawn from numbers computed here (gradient-descent runs, a least-squares fit,
closed-form curves), so a figure is changed by editing its function and re-running this script,
never by editing an SVG by hand. Building the deck does not need this script; it only reads the
SVGs that are committed in media/.

Run it from the repository root:

    pip install -e '.[figures]'
    python scripts/make_figures.py              # rewrites media/*.svg
    python scripts/make_figures.py --out /tmp/f # writes somewhere else, e.g. to compare

The output is byte-for-byte reproducible with the same matplotlib version: no randomness, no date
or version in the metadata, fixed ids, and text stored as paths in matplotlib's bundled DejaVu
font. Re-running it without changes must leave `git status` clean.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import matplotlib.style
import numpy as np
from cycler import cycler
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

# Resolved from this file, not the working directory, so the script runs from anywhere.
REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT_DIR = REPO_ROOT / "media"

# Cards are shown on white (light mode) and on #1e1e1e (night mode), and an SVG in an <img> cannot
# follow the card's CSS. So every colour is of medium lightness, readable on both backgrounds.
GRAY = "#888888"
BLUE = "#3b82f6"
ORANGE = "#f97316"
GREEN = "#10b981"
ROSE = "#e11d48"
PURPLE = "#a855f7"

# Phones show a card ~360 CSS px wide; a 6-inch figure is scaled down to about 60 %, so nothing
# smaller than 12 pt and no line thinner than 2 pt.
FIGSIZE_ONE_PANEL = (6.0, 4.0)
# Two panels: the 6 x 3.2 of a row of plots plus room for a legend or titles above them.
FIGSIZE_TWO_PANELS = (6.0, 3.6)
LINE_WIDTH = 2.5

DECK_RC: dict[str, Any] = {
    # Fixed ids (glyphs, clip paths) instead of random ones, so two runs give the same bytes.
    "svg.hashsalt": "ml-anki",
    # Text as paths: the phone may not have the font, and the file must not depend on it.
    "svg.fonttype": "path",
    # DejaVu ships inside matplotlib, so every machine draws the same glyphs.
    "font.family": "DejaVu Sans",
    "mathtext.fontset": "dejavusans",
    "font.size": 13,
    "axes.titlesize": 14,
    "axes.labelsize": 14,
    "xtick.labelsize": 12,
    "ytick.labelsize": 12,
    "legend.fontsize": 12,
    "lines.linewidth": LINE_WIDTH,
    "lines.markersize": 8,
    "axes.linewidth": 1.5,
    "xtick.major.width": 1.5,
    "ytick.major.width": 1.5,
    # Transparent backgrounds and mid-gray ink: the card's own background shows through, and
    # gray contrasts with both white and #1e1e1e.
    "figure.facecolor": "none",
    "axes.facecolor": "none",
    "savefig.facecolor": "none",
    "savefig.transparent": True,
    "text.color": GRAY,
    "axes.edgecolor": GRAY,
    "axes.labelcolor": GRAY,
    "axes.titlecolor": GRAY,
    "xtick.color": GRAY,
    "ytick.color": GRAY,
    "legend.frameon": False,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.prop_cycle": cycler(color=[BLUE, ORANGE, GREEN, PURPLE, ROSE]),
}

# matplotlib stamps SVGs with the date and its own version by default; None removes an entry.
# Format and Type are constant, but dropping them leaves no <metadata> block at all.
SVG_METADATA: dict[str, str | None] = {
    "Date": None,
    "Creator": None,
    "Format": None,
    "Type": None,
}


@contextmanager
def deck_style() -> Iterator[None]:
    """Apply the deck's plotting style, ignoring any matplotlibrc of the user's own."""
    # after_reset: start from matplotlib's defaults, so a user's matplotlibrc cannot change bytes.
    with matplotlib.style.context(DECK_RC, after_reset=True):
        yield


def new_figure(figsize: tuple[float, float]) -> Figure:
    # A bare Figure instead of pyplot: no GUI backend, no global figure list to close.
    return Figure(figsize=figsize, layout="constrained")


def relu(x: np.ndarray) -> np.ndarray:
    activated: np.ndarray = np.maximum(x, 0.0)
    return activated


def break_at_zero(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Insert a NaN at x = 0 so a function with a jump there is not drawn as a vertical line."""
    index = int(np.searchsorted(x, 0.0))
    return np.insert(x, index, np.nan), np.insert(y, index, np.nan)


def plot_activations() -> Figure:
    """Sigmoid, tanh, ReLU and leaky ReLU (left) and their derivatives (right)."""
    leak = 0.1  # larger than the usual 0.01 so the negative slope is visible at card size
    # An even count keeps x = 0 out of the samples, where ReLU has no derivative.
    x = np.linspace(-3.0, 3.0, 300)
    sigmoid = 1.0 / (1.0 + np.exp(-x))
    tanh = np.tanh(x)
    leaky = np.where(x > 0, x, leak * x)

    fig = new_figure(FIGSIZE_TWO_PANELS)
    ax_f, ax_df = fig.subplots(1, 2)
    # Leaky ReLU is dashed because it coincides with ReLU for x > 0.
    ax_f.plot(x, sigmoid, color=BLUE, label="sigmoid")
    ax_f.plot(x, tanh, color=ORANGE, label="tanh")
    ax_f.plot(x, relu(x), color=GREEN, label="ReLU")
    ax_f.plot(x, leaky, color=PURPLE, linestyle="--", label=rf"leaky ReLU, $\alpha$={leak:g}")
    # Head room above the curves keeps the legend clear of the ReLU line.
    ax_f.set_ylim(-1.3, 3.6)
    ax_f.set_title("activation $f(x)$")
    ax_f.legend(loc="upper left", handlelength=1.5, borderaxespad=0.1)

    ax_df.plot(x, sigmoid * (1.0 - sigmoid), color=BLUE)
    ax_df.plot(x, 1.0 - tanh**2, color=ORANGE)
    ax_df.plot(*break_at_zero(x, np.where(x > 0, 1.0, 0.0)), color=GREEN)
    ax_df.plot(*break_at_zero(x, np.where(x > 0, 1.0, leak)), color=PURPLE, linestyle="--")
    ax_df.set_ylim(-0.1, 1.15)
    ax_df.set_title("derivative $f'(x)$")

    for ax in (ax_f, ax_df):
        ax.set_xlim(-3.0, 3.0)
        ax.set_xlabel("$x$")
        ax.axhline(0.0, color=GRAY, linewidth=1, alpha=0.5, zorder=0)
        ax.axvline(0.0, color=GRAY, linewidth=1, alpha=0.5, zorder=0)
    return fig


def plot_gradient_descent() -> Figure:
    """A convex loss L(w) and the points visited by gradient descent, with arrows between them."""
    w_min, loss_min = 1.0, 0.3
    # Each step keeps 60 % of the distance to the minimum: the steps visibly shrink with the
    # gradient, yet the last one is still long enough for its arrow to show.
    learning_rate = 0.2

    def loss(w: np.ndarray) -> np.ndarray:
        return (w - w_min) ** 2 + loss_min

    def gradient(w: float) -> float:
        return 2.0 * (w - w_min)

    steps = 5
    ws = [-3.0]
    for _ in range(steps):
        ws.append(ws[-1] - learning_rate * gradient(ws[-1]))
    w_path = np.array(ws)
    loss_path = loss(w_path)

    fig = new_figure(FIGSIZE_ONE_PANEL)
    ax = fig.subplots()
    w_curve = np.linspace(-3.4, 2.8, 200)
    ax.plot(w_curve, loss(w_curve), color=BLUE, label="loss")
    for start, end in zip(zip(w_path, loss_path), zip(w_path[1:], loss_path[1:])):
        ax.annotate(
            "",
            xy=end,
            xytext=start,
            arrowprops={
                "arrowstyle": "-|>",
                "color": ORANGE,
                "linewidth": 2,
                "mutation_scale": 16,
                "shrinkA": 5,
                "shrinkB": 5,
            },
        )
    ax.plot(w_path, loss_path, "o", color=ORANGE, zorder=3, label="GD steps")
    ax.plot([w_min], [loss_min], "*", color=GREEN, markersize=16, zorder=4, label="minimum")
    ax.annotate(
        "start", (w_path[0], loss_path[0]), xytext=(12, 0), textcoords="offset points", va="center"
    )
    ax.set_xlabel("w (parameter)")
    ax.set_ylabel("L(w) (loss)")
    # Tick values carry no meaning here, only the shape does.
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlim(w_curve[0], w_curve[-1])
    ax.set_ylim(0.0, float(loss(w_curve[:1])[0]) * 1.05)
    ax.legend(loc="upper right")
    return fig


def plot_lr_too_large() -> Figure:
    """Gradient descent on L(w) = w²/2 with a too small, a good and a too large learning rate.

    On a quadratic each step multiplies w by (1 - η), so the loss itself never zig-zags: the
    oscillation of a too large rate (1 - η < -1) shows in w, which is therefore the second panel.
    """
    iterations = 15
    runs = [
        (0.05, "too small", BLUE),
        (0.5, "good", GREEN),
        (2.05, "too large", ROSE),
    ]

    fig = new_figure(FIGSIZE_TWO_PANELS)
    ax_loss, ax_w = fig.subplots(1, 2)
    steps = np.arange(iterations + 1)
    for learning_rate, verdict, colour in runs:
        w = [1.0]
        for _ in range(iterations):
            w.append(w[-1] - learning_rate * w[-1])  # the gradient of w²/2 is w
        w_path = np.array(w)
        label = f"{verdict}, η={learning_rate:g}"
        ax_loss.plot(steps, 0.5 * w_path**2, "o-", color=colour, markersize=5, label=label)
        ax_w.plot(steps, w_path, "o-", color=colour, markersize=5)

    # The too large run leaves the top of the loss panel on purpose: it diverges.
    ax_loss.set_ylim(0.0, 1.2)
    ax_loss.set_ylabel("loss")
    ax_w.set_ylim(-2.3, 2.3)
    ax_w.set_ylabel("w (parameter)")
    ax_w.axhline(0.0, color=GRAY, linewidth=1, alpha=0.5, zorder=0)
    for ax in (ax_loss, ax_w):
        ax.set_xlabel("iteration")
        ax.set_xlim(0, iterations)
    fig.legend(loc="outside upper center", ncols=3, handlelength=1.2, columnspacing=1.0)
    return fig


def plot_relu_approximation() -> Figure:
    """sin(x) on [0, 2π] approximated by a least-squares sum of 5 ReLUs with fixed knots.

    The symbols are the card's (#12-2): c_0 the constant, c_i the output weights, t_i the knots.
    b stays free for a unit's bias, as on #12-4.
    """
    units = 5
    x = np.linspace(0.0, 2.0 * np.pi, 400)
    target = np.sin(x)
    knots = np.linspace(0.0, 2.0 * np.pi, units + 1)[:-1]
    # Columns: the constant c_0, then one ReLU per knot t_i; the fit picks each weight c_i.
    design = np.column_stack([np.ones_like(x)] + [relu(x - knot) for knot in knots])
    weights, *_ = np.linalg.lstsq(design, target, rcond=None)
    approximation = design @ weights
    at_knots = np.column_stack([np.ones_like(knots)] + [relu(knots - k) for k in knots]) @ weights

    fig = new_figure(FIGSIZE_ONE_PANEL)
    ax = fig.subplots()
    # Opaque and wider rather than translucent: alpha would fade it into a dark card.
    ax.plot(x, target, color=BLUE, linewidth=5, label=r"target $\sin x$")
    ax.plot(x, approximation, color=ORANGE, label=f"sum of {units} ReLUs")
    ax.plot(knots, at_knots, "o", color=ORANGE, markersize=9, label="knots $t_i$")
    ax.set_title(r"$\hat f(x) = c_0 + \sum_i\, c_i \max(0,\, x - t_i)$")
    ax.set_xticks(
        np.pi * np.array([0.0, 0.5, 1.0, 1.5, 2.0]),
        ["0", r"$\pi/2$", r"$\pi$", r"$3\pi/2$", r"$2\pi$"],
    )
    ax.set_yticks([-1, 0, 1])
    ax.set_xlabel("$x$")
    ax.set_xlim(0.0, 2.0 * np.pi)
    ax.set_ylim(-1.3, 1.3)
    ax.legend(loc="lower left")
    return fig


def plot_saddle_point() -> Figure:
    """Contours of a minimum (x² + y²) and of a saddle (x² − y²), critical point at the origin."""
    grid = np.linspace(-2.0, 2.0, 81)  # contours of quadrics stay smooth with few samples
    x, y = np.meshgrid(grid, grid)
    surfaces = [
        ("minimum: $x^2+y^2$", x**2 + y**2),
        ("saddle: $x^2-y^2$", x**2 - y**2),
    ]
    levels_above = [0.5, 1.5, 2.5, 3.5]
    levels_below = [-3.5, -2.5, -1.5, -0.5]

    fig = new_figure(FIGSIZE_TWO_PANELS)
    axes = fig.subplots(1, 2)
    for ax, (title, z) in zip(axes, surfaces):
        # Colour says "higher" or "lower" than the critical point, which is what tells a
        # minimum from a saddle; solid/dashed repeats it for colour-blind readers.
        ax.contour(x, y, z, levels=levels_above, colors=ORANGE, linewidths=2)
        if z.min() < 0:
            ax.contour(x, y, z, levels=levels_below, colors=BLUE, linewidths=2, linestyles="dashed")
        ax.plot([0.0], [0.0], "o", color=GREEN, markersize=11, zorder=3)
        ax.set_title(title)
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_xlabel("$x$")
        ax.set_ylabel("$y$", rotation=0, labelpad=10)
        ax.spines[["top", "right"]].set_visible(True)

    legend_handles = [
        Line2D([], [], color=ORANGE, linewidth=2, label="higher"),
        Line2D([], [], color=BLUE, linewidth=2, linestyle="dashed", label="lower"),
        Line2D(
            [], [], color=GREEN, marker="o", markersize=10, linestyle="", label="critical point"
        ),
    ]
    fig.legend(handles=legend_handles, loc="outside upper center", ncols=3, handlelength=1.5)
    return fig


def plot_overfitting() -> Figure:
    """Training loss keeps falling while validation loss turns up; early stopping at its minimum."""
    epochs = np.arange(0, 61)
    # Deterministic stand-ins for real curves: both learn at the same rate, validation has a
    # higher floor and a slowly growing overfitting term.
    learned = np.exp(-epochs / 8.0)
    train_loss = 0.05 + 0.95 * learned
    validation_loss = 0.25 + 0.75 * learned + 0.00012 * epochs**2
    best_epoch = int(np.argmin(validation_loss))

    fig = new_figure(FIGSIZE_ONE_PANEL)
    ax = fig.subplots()
    ax.plot(epochs, train_loss, color=BLUE, label="training")
    ax.plot(epochs, validation_loss, color=ORANGE, label="validation")
    ax.axvline(best_epoch, color=GRAY, linewidth=2, linestyle="--", zorder=0)
    ax.plot([best_epoch], [validation_loss[best_epoch]], "o", color=GREEN, markersize=11, zorder=3)
    ax.annotate(
        f"early stop\n(epoch {best_epoch})",
        (best_epoch, validation_loss[best_epoch]),
        xytext=(10, -50),
        textcoords="offset points",
        ha="left",
    )
    ax.text(best_epoch + 2, 0.92, "overfitting →", va="center")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_xlim(0, epochs[-1])
    ax.set_ylim(0.0, 1.05)
    ax.legend(loc="upper right", bbox_to_anchor=(1.0, 0.85))
    return fig


def descend(
    hessian_diagonal: np.ndarray,
    start: np.ndarray,
    learning_rate: float,
    momentum: float,
    steps: int,
) -> np.ndarray:
    """Heavy-ball gradient descent on 0.5·Σ hᵢxᵢ²; momentum = 0 is plain gradient descent."""
    position = start.astype(float)
    velocity = np.zeros_like(position)
    path = [position.copy()]
    for _ in range(steps):
        velocity = momentum * velocity - learning_rate * hessian_diagonal * position
        position = position + velocity
        path.append(position.copy())
    return np.array(path)


def plot_sgd_momentum() -> Figure:
    """Full-batch GD and GD + momentum on an elongated quadratic, both from the same start.

    The momentum coefficient is μ, as in card 17-3's formulas (β is Adam's symbol elsewhere).
    """
    # Curvatures 0.1 and 10: a step size that is stable across the steep y direction
    # (η < 2/10) overshoots there every step and crawls along the flat x direction.
    hessian_diagonal = np.array([0.1, 10.0])
    start = np.array([-9.0, 1.2])
    learning_rate = 0.19
    momentum = 0.7
    steps = 30
    plain = descend(hessian_diagonal, start, learning_rate, 0.0, steps)
    heavy_ball = descend(hessian_diagonal, start, learning_rate, momentum, steps)

    x, y = np.meshgrid(np.linspace(-10.5, 2.0, 126), np.linspace(-1.6, 1.6, 65))
    loss = 0.5 * (hessian_diagonal[0] * x**2 + hessian_diagonal[1] * y**2)

    fig = new_figure(FIGSIZE_ONE_PANEL)
    ax = fig.subplots()
    ax.contour(
        x,
        y,
        loss,
        levels=[0.1, 0.4, 1.2, 2.5, 4.5, 7.5, 11.5],
        colors=GRAY,
        linewidths=1.5,
        alpha=0.6,
    )
    ax.plot(plain[:, 0], plain[:, 1], "o-", color=ORANGE, linewidth=2, markersize=4, label="GD")
    ax.plot(
        heavy_ball[:, 0],
        heavy_ball[:, 1],
        "o-",
        color=BLUE,
        linewidth=2,
        markersize=4,
        label=f"GD + momentum (μ={momentum:g})",
    )
    ax.plot([0.0], [0.0], "*", color=GREEN, markersize=16, zorder=3, label="minimum")
    ax.annotate("start", tuple(start), xytext=(0, 10), textcoords="offset points", ha="center")
    ax.set_title(f"same η={learning_rate:g}, {steps} steps each", pad=4)
    ax.set_xlabel("$x$")
    ax.set_ylabel("$y$", rotation=0, labelpad=10)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.spines[["top", "right"]].set_visible(True)
    fig.legend(loc="outside upper center", ncols=3, handlelength=1.5, columnspacing=1.2)
    return fig


# Output name -> function. The names are referenced by the cards: do not rename.
FIGURES: dict[str, Callable[[], Figure]] = {
    "activations.svg": plot_activations,
    "gradient-descent.svg": plot_gradient_descent,
    "lr-too-large.svg": plot_lr_too_large,
    "relu-approximation.svg": plot_relu_approximation,
    "saddle-point.svg": plot_saddle_point,
    "overfitting.svg": plot_overfitting,
    "sgd-momentum.svg": plot_sgd_momentum,
}


def write_figures(out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    with deck_style():
        for file_name, make_figure in FIGURES.items():
            path = out_dir / file_name
            make_figure().savefig(path, format="svg", metadata=SVG_METADATA)
            written.append(path)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description="Regenerate the deck's SVG figures.")
    parser.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT_DIR,
        metavar="DIR",
        help=f"directory to write the SVGs into (default: {DEFAULT_OUT_DIR})",
    )
    args = parser.parse_args()
    for path in write_figures(args.out):
        print(f"{path}  {path.stat().st_size // 1024} KB")


if __name__ == "__main__":
    main()
