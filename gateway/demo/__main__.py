"""`python -m gateway.demo` (what `make demo` runs)."""

import typer

from gateway.demo import main

typer.run(main)
