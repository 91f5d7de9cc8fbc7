from sandbox.serve.cli import main

raise SystemExit(main())
