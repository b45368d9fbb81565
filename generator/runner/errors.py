"""Exception classes of the runner.

Every expected failure (missing tool, unresolvable kernel, compile error,
unusable QEMU) raises a subclass of :class:`RunnerError` whose message says
how to fix the problem.  A broken *test run* (panic, hang) is not an
exception: it is a :class:`generator.runner.run.RunOutcome` with a status.
"""

from generator.errors import KconformError


class RunnerError(KconformError):
    """Base class of all runner errors; the message is meant for the user."""


class KernelError(RunnerError):
    """A kernel (or busybox) could not be resolved, fetched or unpacked."""


class UnknownKernelError(KernelError):
    """A kernel name that is neither an alias, a package nor an existing
    file; the message lists the names that would resolve."""


class BuildError(RunnerError):
    """Cross-compilation failed or the cross compiler is missing."""


class InitramfsError(RunnerError):
    """The initramfs could not be assembled."""


class QemuError(RunnerError):
    """QEMU is missing or could not be started."""
