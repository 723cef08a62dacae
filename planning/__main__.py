from planning.cli.main import main

raise SystemExit(main())
