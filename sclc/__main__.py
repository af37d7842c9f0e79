from sclc.cli import main

raise SystemExit(main())
