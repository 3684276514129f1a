import sys

from mimoe_sim.cli import main

sys.exit(main())
