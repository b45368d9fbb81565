"""The jinja2 environment every rendered file is laid out with
(templates/): strict about undefined names, no stray whitespace."""
from __future__ import annotations

import functools
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


@functools.lru_cache(maxsize=None)
def environment(cached: bool = False):
    """The jinja2 environment over templates/, one per process.  `cached`: compiled templates
    are kept in the cache's jinja/ (jinja2's own bytecode cache, checked
    against the template's modification time), so a warm run does not
    recompile them."""
    import jinja2
    bytecode = None
    if cached:
        from generator import paths
        try:
            d = paths.cache_dir() / "jinja"
            d.mkdir(parents=True, exist_ok=True)
            bytecode = jinja2.FileSystemBytecodeCache(str(d))
        except OSError:
            bytecode = None
    return jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES),
                              keep_trailing_newline=True, trim_blocks=True,
                              lstrip_blocks=True, undefined=jinja2.StrictUndefined,
                              bytecode_cache=bytecode)
