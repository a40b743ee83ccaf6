"""``python -m tests.bench`` (what ``make bench`` runs); ``--help`` lists the knobs."""

from tests.bench.run import main

raise SystemExit(main())
