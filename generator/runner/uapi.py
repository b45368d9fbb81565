"""The uAPI headers of the kernel under test: where capability and ioctl
names get their numbers.

A series posts numbers that change before merging (v10 says
`KVM_CAP_ARM_MTE` is 195; mainline gave it 205, and 195 went to
`KVM_CAP_SET_GUEST_DEBUG2`).  A name is bound with the headers of the
kernel being booted, found in this order:

  1. `--kernel-headers DIR` (installed headers, `make headers_install`:
     DIR/include/linux/kvm.h or DIR/linux/kvm.h) or `--kernel-src DIR`
     (a source tree: DIR/include/uapi/linux/kvm.h);
  2. for a Debian kernel, the matching `linux-headers-<abi>-common`
     package, fetched and cached like the kernel packages
     (generator.runner.kernels) -- its include/uapi/linux/kvm.h;
  3. the cross toolchain's headers (libc6-dev-arm64-cross: Linux 6.1) as
     the last resort.

`UapiHeaders` says which source was used; `renumbered` compares the posted
numbers with it: a finding per name whose number differs, saying what the
posted number means on that kernel.
"""
from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from generator.runner.errors import KernelError

TOOLCHAIN_INCLUDE = Path("/usr/aarch64-linux-gnu/include")
_CAP = re.compile(r"^[ \t]*#[ \t]*define[ \t]+(KVM_CAP_\w+)[ \t]+(\d+)\b", re.M)
_IOCTL = re.compile(r"^[ \t]*#[ \t]*define[ \t]+(KVM_\w+)[ \t]+(_IO(?:R|W|WR)?)\s*\(\s*KVMIO\s*,"
                    r"\s*(0x[0-9a-fA-F]+|\d+)\s*(?:,\s*([^)]*?))?\s*\)", re.M)
_FLAVOUR = re.compile(r"-arm64(-16k)?$")


class HeaderSource(enum.Enum):
    KERNEL_HEADERS = "kernel-headers"     # --kernel-headers DIR
    KERNEL_SRC = "kernel-src"             # --kernel-src DIR
    DEBIAN = "debian-package"             # linux-headers-<abi>-common
    TOOLCHAIN = "toolchain"               # the cross compiler's (Linux 6.1)


@dataclass(frozen=True)
class IoctlDef:
    name: str
    direction: str               # "_IOR", ...
    nr: int
    arg: str                     # the type argument as written ("" for _IO)
    line: int


@dataclass
class UapiHeaders:
    """One kvm.h: its capability numbers and ioctl definitions."""
    source: HeaderSource
    kvm_h: Path
    description: str             # "linux-headers-6.12.117+deb12-common 6.12.117-1~deb12u1"
    caps: dict[str, tuple[int, int]] = field(default_factory=dict)   # name -> (number, line)
    ioctls: dict[str, IoctlDef] = field(default_factory=dict)

    @classmethod
    def read(cls, source: HeaderSource, kvm_h: Path, description: str) -> "UapiHeaders":
        try:
            text = Path(kvm_h).read_text(errors="replace")
        except OSError as e:
            raise KernelError(f"cannot read {kvm_h}: {e.strerror}") from e
        h = cls(source, Path(kvm_h), description)
        for m in _CAP.finditer(text):
            h.caps.setdefault(m.group(1), (int(m.group(2)), text.count("\n", 0, m.start()) + 1))
        for m in _IOCTL.finditer(text):
            h.ioctls.setdefault(m.group(1), IoctlDef(
                m.group(1), m.group(2), int(m.group(3), 0), (m.group(4) or "").strip(),
                text.count("\n", 0, m.start()) + 1))
        if not h.caps:
            raise KernelError(f"{kvm_h}: no `#define KVM_CAP_* N` line; expected the "
                              "uAPI <linux/kvm.h> of a kernel")
        return h

    def cap_named(self, number: int) -> list[str]:
        """The capabilities that hold `number` on this kernel."""
        return [n for n, (v, _) in self.caps.items() if v == number]

    def to_json(self) -> dict:
        return {"source": self.source.value, "description": self.description,
                "kvm_h": str(self.kvm_h)}

    def sentence(self) -> str:
        return f"uapi: names bound with {self.description} ({self.source.value}: {self.kvm_h})"


def _first(paths: list[Path]) -> Optional[Path]:
    return next((p for p in paths if p.is_file()), None)


def from_headers_dir(d: Path) -> UapiHeaders:
    """`--kernel-headers DIR`: installed headers (headers_install) or a
    headers tree with include/uapi."""
    d = Path(d)
    kvm = _first([d / "include" / "linux" / "kvm.h", d / "linux" / "kvm.h",
                  d / "usr" / "include" / "linux" / "kvm.h",
                  d / "include" / "uapi" / "linux" / "kvm.h"])
    if kvm is None:
        raise KernelError(f"--kernel-headers {d}: no linux/kvm.h under it; expected the output "
                          "of `make headers_install INSTALL_HDR_PATH=DIR` (DIR/include/linux/kvm.h)")
    return UapiHeaders.read(HeaderSource.KERNEL_HEADERS, kvm, f"the headers in {d}")


def from_source_tree(d: Path) -> UapiHeaders:
    """`--kernel-src DIR`: a kernel source tree."""
    kvm = Path(d) / "include" / "uapi" / "linux" / "kvm.h"
    if not kvm.is_file():
        raise KernelError(f"--kernel-src {d}: no include/uapi/linux/kvm.h; expected the top "
                          "of a Linux source tree")
    return UapiHeaders.read(HeaderSource.KERNEL_SRC, kvm, f"the kernel source in {d}")


def from_toolchain(include: Path = TOOLCHAIN_INCLUDE) -> Optional[UapiHeaders]:
    kvm = Path(include) / "linux" / "kvm.h"
    if not kvm.is_file():
        return None
    return UapiHeaders.read(HeaderSource.TOOLCHAIN, kvm,
                            "the cross toolchain's headers (libc6-dev-arm64-cross)")


def debian_headers_package(release: str) -> str:
    """`6.12.117+deb12-arm64` -> `linux-headers-6.12.117+deb12-common`."""
    return f"linux-headers-{_FLAVOUR.sub('', release)}-common"


def from_debian(release: str, archive) -> UapiHeaders:
    """The `linux-headers-<abi>-common` package of a Debian kernel release,
    fetched once into the cache (generator.runner.kernels.DebianArchive)."""
    package = debian_headers_package(release)
    with archive.locked():
        archive.update()
        cand = archive.candidate(package)
        if cand is None:
            raise KernelError(f"{package} is not in the package lists; cannot bind names "
                              f"with the uAPI of {release}")
        root = archive.unpacked(package, cand[0])
    kvm = _first(sorted(root.glob("usr/src/linux-headers-*-common/include/uapi/linux/kvm.h")))
    if kvm is None:
        raise KernelError(f"{package} {cand[0]} has no include/uapi/linux/kvm.h (unpacked at "
                          f"{root}); delete that directory and retry")
    return UapiHeaders.read(HeaderSource.DEBIAN, kvm, f"{package} {cand[0]}")


@dataclass(frozen=True)
class Renumbered:
    """A posted number the kernel under test gives another value (or name)."""
    name: str
    kind: str                    # "capability" or "ioctl"
    posted: int
    kernel: int
    posted_means: list[str]      # what holds the posted number on that kernel
    source: str                  # seed:line of the posted number

    def text(self) -> str:
        means = (f"; on this kernel {self.posted} is {', '.join(self.posted_means)}"
                 if self.posted_means else f"; on this kernel no {self.kind} has {self.posted}")
        return (f"renumbered: {self.name} posted {self.posted}, kernel has {self.kernel}"
                f"{means} ({self.source})")

    def to_json(self) -> dict:
        return {"name": self.name, "kind": self.kind, "posted": self.posted,
                "kernel": self.kernel, "posted_means": self.posted_means,
                "source": self.source, "text": self.text()}


def renumbered(spec, headers: UapiHeaders) -> list[Renumbered]:
    """Every capability and ioctl number of `spec` the kernel's headers
    give another value: capabilities by number, ioctls by their `nr` (the
    size follows the struct, which the ABI check compares)."""
    out: list[Renumbered] = []
    for cap in spec.capabilities:
        got = headers.caps.get(cap.name)
        if got is not None and got[0] != cap.number:
            out.append(Renumbered(cap.name, "capability", cap.number, got[0],
                                  headers.cap_named(cap.number), str(cap.source)))
    for io in spec.ioctls:
        got = headers.ioctls.get(io.name)
        nr = getattr(io, "nr", None)
        if got is not None and nr is not None and got.nr != nr:
            holders = [d.name for d in headers.ioctls.values() if d.nr == nr]
            out.append(Renumbered(io.name, "ioctl", nr, got.nr, holders, str(io.source)))
    return out


def cap_meaning(headers: UapiHeaders, number: int) -> str:
    """What a capability number means on the kernel under test."""
    names = headers.cap_named(number)
    return (f"{number} is {', '.join(names)} in {headers.description}" if names
            else f"no capability has {number} in {headers.description}")
