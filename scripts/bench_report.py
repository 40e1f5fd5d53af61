"""Run the benchmark comparison and write bench/REPORT.md and its plots (= `fastnn bench`)."""
import sys

from fastnn.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", *sys.argv[1:]]))
