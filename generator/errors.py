"""Errors the user can act on: each names the input, the position, and what
was expected.  The CLI prints them as one line each and exits non-zero; they
never surface as tracebacks."""
from __future__ import annotations

# Exit codes of every command (the README's table).
EXIT_OK = 0
EXIT_DIVERGES = 1      # --strict and something diverges; --baseline: a verdict changed
EXIT_BASELINE = 1
EXIT_USAGE = 2         # bad input or usage
EXIT_BROKEN = 3        # the run itself broke (panic, QEMU died, build failed)


class KconformError(Exception):
    """Base of every expected failure."""


class InputError(KconformError):
    """Bad input: names the file, the line and what was expected."""

    def __init__(self, path: str, line: int, message: str, expected: str = ""):
        self.path = path
        self.line = line
        self.message = message
        self.expected = expected
        text = f"{path}:{line}: {message}" if line else f"{path}: {message}"
        if expected:
            text += f" (expected {expected})"
        super().__init__(text)


class SpecError(KconformError):
    """A spec file that does not load or does not match the model."""
