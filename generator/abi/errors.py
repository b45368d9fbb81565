"""Errors of the ABI checker.  Each names the file, the line and what was
expected, so a report line or the CLI can print it as it is."""
from __future__ import annotations

from generator.errors import InputError


class AbiError(InputError):
    """Base of every expected failure of generator.abi: a position (file,
    line), a message and what was expected, as every input error has."""


class UnknownAbiError(AbiError):
    """An architecture name that is not one of the four ABIs."""


class HeaderError(AbiError):
    """A header that does not preprocess, parse or compile."""


class LayoutError(AbiError):
    """A type the layout engine cannot resolve or does not support."""


class ToolchainError(AbiError):
    """A compiler that is missing or fails on the probe."""


class DwarfError(AbiError):
    """Debug information that does not have the expected shape."""


class BtfError(AbiError):
    """Output of btf_probe that does not parse."""
