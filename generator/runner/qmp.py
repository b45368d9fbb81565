"""A minimal QMP client: QEMU's JSON monitor over a unix socket.

Used to save a booted guest (``migrate`` to a file), to wait until a
restored one runs, to resume a source after saving (``cont``) and to ask
QEMU to quit.  One command at a time; asynchronous events are read past.
"""
from __future__ import annotations

import json
import socket
import time
from pathlib import Path
from typing import Optional

from generator.runner.errors import QemuError


class Qmp:
    """A connected QMP session (``with Qmp.connect(path) as q: ...``)."""

    def __init__(self, sock: socket.socket, timeout: float):
        self._sock = sock
        self._file = sock.makefile("rw", encoding="utf-8")
        self.timeout = timeout
        self.greeting = self._read()
        self.execute("qmp_capabilities")

    @classmethod
    def connect(cls, path: Path, *, timeout: float = 30.0,
                alive=lambda: True) -> "Qmp":
        """Connect to QEMU's ``-qmp unix:PATH,server=on,wait=off``, waiting
        up to ``timeout`` s for the socket while ``alive()`` holds."""
        deadline = time.monotonic() + timeout
        while True:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(timeout)
            try:
                sock.connect(str(path))
                return cls(sock, timeout)
            except (FileNotFoundError, ConnectionRefusedError):
                sock.close()
                if time.monotonic() > deadline or not alive():
                    raise QemuError(f"QEMU's monitor socket {path} did not open "
                                    f"within {timeout:.0f} s") from None
                time.sleep(0.01)
            except OSError as e:
                sock.close()
                raise QemuError(f"cannot talk to QEMU's monitor {path}: {e}") from None

    def _read(self) -> dict:
        try:
            line = self._file.readline()
        except OSError as e:
            raise QemuError(f"QEMU's monitor went away: {e}") from None
        if not line:
            raise QemuError("QEMU's monitor closed (QEMU exited)")
        return json.loads(line)

    def execute(self, command: str, **arguments) -> dict:
        """Run ``command``; its ``return`` value, or QemuError with QEMU's
        own description of the error."""
        msg = {"execute": command}
        if arguments:
            msg["arguments"] = arguments
        try:
            self._file.write(json.dumps(msg) + "\n")
            self._file.flush()
        except OSError as e:
            raise QemuError(f"QEMU's monitor went away: {e}") from None
        while True:
            reply = self._read()
            if "event" in reply:
                continue
            if "error" in reply:
                raise QemuError(f"QEMU refused {command}: "
                                f"{reply['error'].get('desc', reply['error'])}")
            return reply.get("return", {})

    def status(self) -> str:
        return self.execute("query-status").get("status", "")

    def wait_status(self, leave: str, timeout: float) -> str:
        """Poll until the run state is no longer ``leave``; the new state."""
        deadline = time.monotonic() + timeout
        while True:
            st = self.status()
            if st != leave or time.monotonic() > deadline:
                return st
            time.sleep(0.01)

    def migrate_to_file(self, path: Path, timeout: float) -> Optional[str]:
        """Save the machine to ``path``; None when done, else why not.
        The default bandwidth cap (128 MiB/s) would make a local file save
        several times slower: it is lifted."""
        self.execute("migrate-set-parameters", **{"max-bandwidth": 1 << 40})
        self.execute("migrate", uri=f"file:{path}")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            info = self.execute("query-migrate")
            st = info.get("status")
            if st == "completed":
                return None
            if st in ("failed", "cancelled"):
                return info.get("error-desc", st)
            time.sleep(0.02)
        return f"the save did not finish within {timeout:.0f} s"

    def close(self) -> None:
        try:
            self._file.close()
            self._sock.close()
        except OSError:
            pass

    def __enter__(self) -> "Qmp":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
