"""The quality benchmark: `styleforge bench --quality` with the same options.

    .venv/bin/python benchmarks/quality.py --jobs 2 --out runs/quality

Five procedural styles with ground truth (cartoon, smooth, pencil, grade, oil) and photos ->
Wesnoth paintings; each recipe trains for --minutes on each task. See docs/quality.md.
"""

import sys

from styleforge.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", "--quality", *sys.argv[1:]]))
