"""Desktop entry point: `python app.py` is the same as running `nexus` (the desktop window).

It is also the entry point of the bundled app (build/nexus.spec), where `nexus serve`,
`nexus doctor` and the rest arrive as command-line arguments.
"""

import sys

from nexus.cli import main

if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
