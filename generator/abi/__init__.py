"""uAPI ABI checker: struct layouts on arm64, arm, x86-64 and i386 computed
from C text and checked against the real compilers' DWARF and the running
kernel's BTF."""
