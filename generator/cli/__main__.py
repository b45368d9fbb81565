"""`python -m generator.cli` runs `kconform`."""
import sys

from generator.cli import main

sys.exit(main())
