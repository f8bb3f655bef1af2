import sys

from jetpointnet.cli import main

sys.exit(main())
