import os
import sys

# python-telegram-bot 22 warns on every RetryAfter unless timedeltas are opted into.
os.environ.setdefault("PTB_TIMEDELTA", "true")

from runtime.cli import main

sys.exit(main())
