"""``python -m fastnn``: the same as the ``fastnn`` console script."""

from fastnn.cli import main

raise SystemExit(main())
