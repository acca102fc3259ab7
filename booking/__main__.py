from booking.cli import main

raise SystemExit(main())
