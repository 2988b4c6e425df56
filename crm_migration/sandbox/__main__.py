import sys

from crm_migration.sandbox.cli import main

sys.exit(main())
