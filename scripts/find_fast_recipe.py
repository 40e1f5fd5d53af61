"""Search for the fastest recipe to 97 % and 98 % test accuracy with fastnn.compare itself.

Each stage is one ``fastnn.compare`` call; runs go one at a time (``jobs=1``) so that each has
the whole machine, as ``fastnn train --fast`` will, and stop at ``target_accuracy``. The table
and the overlay of each stage are written to OUT (default ``search/``); README.md's section "A
recipe that reaches 98 % in seconds" quotes them. Timings on a shared machine are noisy: rerun a
stage's best few with more seeds before believing a small difference.

    python scripts/find_fast_recipe.py [OUT] [STAGE ...]
"""

import sys
from pathlib import Path

import fastnn.compare as cmp

COMMON = dict(backend="numba", dtype="float32", eval_every=100, target_accuracy=0.98)

STAGES = {
    # what the issue started from, and the optimizers at their usual rates
    "optimizers": dict(grid=[
        dict(optimizer="sgd", learning_rate=[0.3, 0.5, 0.8], weight_init_std=[0.05, "he"]),
        dict(optimizer=["momentum", "nesterov"], learning_rate=[0.03, 0.05, 0.1],
             weight_init_std=[0.05, "he"]),
        dict(optimizer="adam", learning_rate=[0.001, 0.002, 0.004],
             weight_init_std=[0.05, "he"]),
    ], fixed=dict(hidden_size=256, batch_size=128, iters=4000)),
    # the network's width and the batch
    "shape": dict(grid=[
        dict(hidden_size=[128, 256, 512], batch_size=[64, 128, 256]),
    ], fixed=dict(optimizer="sgd", learning_rate=0.5, weight_init_std=0.05, iters=4000)),
    # a schedule over a fixed budget of iterations
    "schedule": dict(grid=[
        dict(schedule=["onecycle", "cosine"], iters=[1200, 1600, 2000],
             learning_rate=[0.5, 0.8], weight_init_std=[0.05, "he"]),
    ], fixed=dict(optimizer="sgd", hidden_size=256, batch_size=128)),
    # larger batches cost less per sample in the fused step: larger rates to match
    "batch": dict(grid=[
        dict(batch_size=[256, 512], learning_rate=[1.0, 1.5, 2.5],
             schedule=["constant", "cosine"]),
    ], fixed=dict(optimizer="sgd", hidden_size=256, weight_init_std="he", epochs=5,
                  eval_every=60)),
    # epochs without replacement, and a budget that a schedule decays over
    "shuffle": dict(grid=[
        dict(shuffle=[True, False], schedule=["constant", "step", "cosine"],
             learning_rate=[0.5, 0.8], epochs=[4, 5]),
    ], fixed=dict(optimizer="sgd", hidden_size=256, batch_size=128, weight_init_std=0.05)),
    # Adam with larger batches and a cosine decay over a short budget: the stage that found
    # the "fast" preset (784-192-10, lr 0.008, batch 256, 1,000 iterations)
    "adam": dict(grid=[
        dict(hidden_size=[128, 192, 256, 384], learning_rate=[0.006, 0.008, 0.012],
             iters=[800, 1000]),
    ], fixed=dict(optimizer="adam", batch_size=256, schedule="cosine", shuffle=True,
                  weight_init_std="he")),
    # 784-800-10 to 98.4 %: the "fast-800" preset (lr 0.004, 1,600 iterations)
    "fast-800": dict(grid=[
        dict(learning_rate=[0.004, 0.008]),
    ], fixed=dict(hidden_size=800, optimizer="adam", batch_size=256, schedule="cosine", iters=1600,
                  shuffle=True, weight_init_std="he", target_accuracy=0.984)),
}


def main(argv):
    out = Path(argv[0] if argv else "search")
    stages = argv[1:] or list(STAGES)
    for name in stages:
        stage = STAGES[name]
        for k, grid in enumerate(stage["grid"]):
            result = cmp.compare({**COMMON, **stage["fixed"], **grid}, jobs=1, rank="time",
                                 progress=True, max_runs=100)
            print(result.table())
            result.write_csv(out / f"{name}-{k}.csv")
            result.plot(out / f"{name}-{k}.png")


if __name__ == "__main__":
    main(sys.argv[1:])
