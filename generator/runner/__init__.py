"""Runner: build the C tests, boot them on a real arm64 kernel under QEMU,
and collect their KTAP results.

Stages, one module each:

1. ``kernels``   resolve and cache Debian arm64 kernels and busybox
2. ``build``     cross-compile static test binaries
3. ``initramfs`` pack busybox, the binaries and an /init that runs them
4. ``qemu``      QEMU behind one small class; a replay console for tests
5. ``ktap``      parse KTAP output tolerant of kernel console noise
6. ``platform``  the MTE platform sanity check and its interpretation
7. ``run``       ``run_tests()`` and ``boot_floor()``, the pipeline's entry
"""
