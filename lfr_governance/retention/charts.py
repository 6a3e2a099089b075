"""The report's two charts as PNG bytes (matplotlib, no display): used by the page and the PDF alike."""

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from .selectors import AGE_BUCKETS  # noqa: E402

# GOV.UK palette: blue, green, orange, purple; readable on white.
COLOURS = ["#1d70b8", "#00703c", "#f47738", "#4c2c92"]


def _png(fig) -> bytes:
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return out.getvalue()


def deletions_chart(days: list[tuple[str, int]]) -> bytes:
    fig, ax = plt.subplots(figsize=(8, 2.8))
    ax.bar(range(len(days)), [n for _, n in days], color=COLOURS[0])
    ax.set_xticks(range(len(days)), [d[5:] for d, _ in days])
    ax.set_title("Erasures recorded per day (last 31 days)")
    ax.set_ylabel("records erased")
    ax.tick_params(axis="x", labelrotation=90, labelsize=7)
    ax.spines[["top", "right"]].set_visible(False)
    return _png(fig)


def held_by_age_chart(held: dict[str, list[int]]) -> bytes:
    fig, ax = plt.subplots(figsize=(8, 2.8))
    labels = [label for label, _ in AGE_BUCKETS]
    width = 0.8 / max(1, len(held))
    for i, (kind, counts) in enumerate(held.items()):
        ax.bar([x + i * width for x in range(len(labels))], counts, width=width, label=kind, color=COLOURS[i % 4])
    ax.set_xticks([x + width * (len(held) - 1) / 2 for x in range(len(labels))], labels)
    ax.set_title("Data held, by age")
    ax.set_ylabel("records held")
    ax.legend(frameon=False, fontsize=8)
    ax.spines[["top", "right"]].set_visible(False)
    return _png(fig)
