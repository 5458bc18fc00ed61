"""`python -m edge.cli`: the same as `gate-edge`."""

from edge.cli import main

raise SystemExit(main())
