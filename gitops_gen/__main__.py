from gitops_gen.cli import main

raise SystemExit(main())
