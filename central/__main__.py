"""``python -m central``: the central office's command line, as ``gate-central``."""

from central.cli import main

raise SystemExit(main())
