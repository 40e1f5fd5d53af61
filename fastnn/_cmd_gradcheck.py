"""``fastnn gradcheck``: the teaching program's gradient check, on every backend."""

from __future__ import annotations

from fastnn import backends
from fastnn.backends.interface import ACTIVATIONS

__all__ = ["add_parser", "run"]


def add_parser(commands, formatter_class):
    p = commands.add_parser(
        "gradcheck", formatter_class=formatter_class,
        help="check backpropagation against the numerical gradient",
        description="The teaching program's gradient check: compare each backend's\n"
                    "backpropagated gradient with central differences (h = 1e-4) on a small\n"
                    "network and a few MNIST images, in float64, for both activations; print\n"
                    "the largest difference per parameter and exit 1 when one exceeds 1e-6.",
        epilog="examples:\n  fastnn gradcheck\n  fastnn gradcheck --backend numba --hidden 20")
    p.add_argument("--backend", choices=backends.NAMES, action="append",
                   help="check this backend (repeat for several; default: every available one)")
    p.add_argument("--activation", choices=ACTIVATIONS, action="append",
                   help="check this activation (repeat for several; default: both)")
    p.add_argument("--hidden", type=int, default=5, metavar="N",
                   help="hidden units of the 784-N-10 network (the numerical gradient costs two "
                        "loss evaluations per parameter: about 8,000 for N = 5)")
    p.add_argument("--batch-size", type=int, default=3, metavar="N",
                   help="MNIST training images in the batch (the teaching program uses 3)")
    p.add_argument("--seed", type=int, default=0, metavar="N",
                   help="picks the initial weights and the images")
    return p


def run(args) -> int:
    from fastnn._validation import check_positive_int, check_seed
    from fastnn.cli import PROG, _error
    from fastnn.gradcheck import run_gradcheck

    try:
        hidden = check_positive_int(args.hidden, "--hidden", maximum=1000)
        batch = check_positive_int(args.batch_size, "--batch-size", maximum=60000)
        seed = check_seed(args.seed, "--seed")
    except (TypeError, ValueError) as exc:
        return _error(exc)
    names = args.backend or backends.available()
    for name in names:
        reason = backends.unavailable_reason(name)
        if reason is not None:
            return _error(f"backend {name!r} is unavailable: {reason}")
    report = run_gradcheck(names, args.activation or ACTIVATIONS, hidden_size=hidden,
                           batch_size=batch, seed=seed)
    print(report.format_table())
    if not report.ok:
        worst = report.largest
        print(f"{PROG}: the backpropagated gradient of {worst.param} ({worst.backend}, "
              f"{worst.activation}) differs from the numerical one by {worst.max_diff:.2e}")
        return 1
    return 0
