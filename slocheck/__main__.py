from slocheck.cli import main

raise SystemExit(main())
