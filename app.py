"""Desktop entry point: `python app.py` is the same as running `nexus`."""

from nexus.cli import main

if __name__ == "__main__":
    raise SystemExit(main([]))
