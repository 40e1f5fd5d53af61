"""``fastnn predict MODEL IMAGE...``: what a saved network says about your own images."""

from __future__ import annotations

import sys
from pathlib import Path

from fastnn import backends

__all__ = ["add_parser", "run"]


def add_parser(commands, formatter_class):
    p = commands.add_parser(
        "predict", formatter_class=formatter_class,
        help="predict the class of your own images (PNG, JPEG, ...)",
        description="Read each image with Pillow, make it MNIST-like as MNIST itself was made\n"
                    "(grey, inverted when the ink is dark on light paper, cropped to the ink,\n"
                    "scaled to fit 20x20 keeping its aspect ratio, centred by its centre of\n"
                    "mass in 28x28), and print the predicted class with the three most\n"
                    "probable classes.",
        epilog="examples:\n  fastnn predict weights.npz my-seven.png\n"
               "  fastnn predict weights.npz photos/*.jpg --show seen/")
    p.add_argument("model", metavar="MODEL", help="a model file written by 'fastnn train --save'")
    p.add_argument("images", nargs="+", metavar="IMAGE", help="image files (PNG, JPEG, ...)")
    p.add_argument("--show", metavar="DIR",
                   help="write each image as the model saw it (28x28 PNG) into DIR")
    p.add_argument("--backend", default="auto", choices=("auto",) + backends.NAMES,
                   help="kernel implementation")
    return p


def show_paths(images, directory):
    """``DIR/<name>.png`` for each image, numbered where two names would collide."""
    seen, out = {}, []
    for image in images:
        stem = Path(image).stem or "image"
        seen[stem] = seen.get(stem, 0) + 1
        out.append(Path(directory).expanduser()
                   / (f"{stem}.png" if seen[stem] == 1 else f"{stem}-{seen[stem]}.png"))
    return out


def _write_png(pixels, path):
    from PIL import Image

    from fastnn._io import atomic_write

    with atomic_write(path) as fh:
        Image.fromarray(pixels).save(fh, format="PNG")
    return path


def run(args) -> int:
    import numpy as np

    from fastnn._io import check_output_path
    from fastnn.cli import PROG, _error, _load_model
    from fastnn.images import (
        ImageError,
        check_network,
        class_names_of,
        mnist_input,
        predict_inputs,
    )

    targets = show_paths(args.images, args.show) if args.show else []
    try:
        for target in targets:
            check_output_path(target, "--show")
    except OSError as exc:
        return _error(exc.strerror or exc)
    network, status = _load_model(args)
    if network is None:
        return status
    try:  # a model for other inputs is refused before any image is read
        check_network(network)
    except ValueError as exc:
        return _error(f"{args.model}: {exc}")
    inputs, read, status = [], [], 0
    for k, image in enumerate(args.images):  # a bad file is named; the others go on
        try:
            inputs.append(mnist_input(image))
            read.append(k)
        except ImageError as exc:
            print(f"{PROG}: error: {exc}", file=sys.stderr)
            status = 1
    if not inputs:
        return status
    names = [args.images[k] for k in read]
    predicted = predict_inputs(network, np.stack(inputs), names, class_names_of(network))
    width = max(len(name) for name in names)
    for name, label, top in zip(names, predicted.names, predicted.top(3)):
        ranked = ", ".join(f"{c} {p * 100:.1f} %" for c, p in top)
        print(f"{name + ':':<{width + 1}} {label}  ({ranked})")
    if args.show:
        try:
            for k, pixels in zip(read, predicted.inputs):
                _write_png(pixels, targets[k])
        except OSError as exc:
            print(f"{PROG}: error: cannot write the inputs to {args.show}: {exc}",
                  file=sys.stderr)
            return 1
        print(f"inputs as the model saw them written to {Path(args.show).expanduser()}")
    if not network.metadata.get("class_names"):
        print(f"{PROG}: warning: {args.model} does not name its classes; they are shown as "
              "0..9", file=sys.stderr)
    return status
