from gateway.dev.server import main

raise SystemExit(main())
