"""``python -m scheduler``: start the sidecar (see ``scheduler.runner.main``)."""

from scheduler.runner import main

if __name__ == "__main__":
    raise SystemExit(main())
