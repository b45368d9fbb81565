"""The one JSON writer of every report (single kernel, matrix): a document
is written whole or not at all (a temporary file beside it, then renamed),
so a broken run never leaves half a report."""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path


def write_document(path: Path, doc: dict) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(json.dumps(doc, indent=2) + "\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
