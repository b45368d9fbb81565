"""Runner: build the C tests, boot them on a real arm64 kernel under QEMU,
and collect their KTAP results.

Stages, one module each:

1. ``kernels``   resolve and cache Debian arm64 kernels and busybox
   (resolutions memoised against the package lists)
2. ``build``     cross-compile static test binaries (cached by content)
3. ``initramfs`` pack busybox, the binaries and an /init that runs them
   (the boot path); ``agent``: the guest agent's initramfs, the work disk
   and ``run.sh`` that runs the binaries in lanes (the restore path)
4. ``qemu``      QEMU behind one small class; a replay console for tests;
   ``qmp``: QEMU's JSON monitor
5. ``snapshot``  a booted guest agent saved (QMP migrate to a file) and
   restored (``-incoming``), keyed, checked, locked: ``AgentGuest``
6. ``ktap``      parse KTAP output tolerant of kernel console noise
7. ``platform``  the MTE platform sanity check and its interpretation
8. ``run``       ``run_tests()`` (restores by default, boots on request or
   when no snapshot can be used) and ``boot_floor()``, the pipeline's entry
"""
