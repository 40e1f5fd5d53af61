"""Regenerate the pictures the README shows, from the default training run.

    python scripts/docs_pictures.py [--backend numba] [--out docs]

Trains the teaching program's default run (784-50-10, SGD, batch 512, lr 0.05, 10,000
iterations, seed 0) and writes ``curves.png`` (loss and accuracy), ``confusion.png`` (the
test set's confusion matrix) and ``mistakes.png`` (the first 24 misclassified test images)
into ``--out``. The backends give the same predictions, so the pictures do not depend on it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import fastnn
from fastnn import report
from fastnn.plotting import save_figure


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="numba", choices=("numpy", "numba"))
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent.parent / "docs"))
    args = parser.parse_args(argv)
    out = Path(args.out)
    result = fastnn.train(backend=args.backend, seed=0, progress=True)
    print(f"test accuracy {result.test_accuracy * 100:.2f} %")
    result.plot(out / "curves.png")
    evaluation = fastnn.evaluate(result.network)
    save_figure(report.confusion_figure(evaluation), out / "confusion.png")
    save_figure(report.mistakes_figure(evaluation, limit=24), out / "mistakes.png")
    print(f"written to {out}: curves.png, confusion.png, mistakes.png")


if __name__ == "__main__":
    main()
