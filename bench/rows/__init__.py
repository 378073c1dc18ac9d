"""Report rows: every module here registers its scenarios at import (see bench.scenarios.register)."""
