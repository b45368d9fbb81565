"""What the handler walker carries along a path (shared by the walker and
the condition reader, so neither imports the other)."""
from __future__ import annotations

from dataclasses import dataclass, field

from generator.model import Source


@dataclass
class State:
    argvars: set[str]
    locals: dict[str, list] = field(default_factory=dict)   # name -> init/assigned exprs
    in_loop: bool = False    # inside a loop (a `break` leaves it, not a switch)
    params: set[str] = field(default_factory=set)   # scalar inputs of an internal operation
    renames: dict[str, str] = field(default_factory=dict)   # callee param -> caller name
    when: str = ""
    guard: str = ""          # condition of the `if` branch being walked (for effects)
    userptrs: set[str] = field(default_factory=lambda: {"argp"})   # names of user pointers
    errvar: str = ""         # the local an errno was last assigned to (`r = -EINVAL;`)
    lastvar: str = ""        # the local last assigned (`ret = helper(...); break;`)
    kernel_walk: bool = False   # the loop walks kernel objects (a list, the vCPUs), not
                                # the caller's buffer: its checks are the call's own

    @property
    def per_page(self) -> bool:
        """A check made here is made again on each page of the user buffer."""
        return self.in_loop and not self.kernel_walk

    def derive(self, **kw) -> "State":
        s = State(self.argvars, self.locals, self.in_loop, self.params, self.renames,
                  self.when, self.guard, self.userptrs, self.errvar, self.lastvar,
                  self.kernel_walk)
        for k, v in kw.items():
            setattr(s, k, v)
        return s


@dataclass
class Result:
    """What a function returns on the path where no check fails."""
    text: str
    value: int | None
    source: Source


@dataclass
class Outcome:
    """What the true side of an `if` does when it leaves early."""
    errno: str | None
    result: str = ""
    effect: str = ""
