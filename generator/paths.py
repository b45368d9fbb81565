"""Where the project's bundled inputs and outputs live."""
from __future__ import annotations

import os
from pathlib import Path

import yaml

from generator.errors import KconformError

# libyaml's loader where PyYAML has it (the same documents, several times
# faster: every run loads the specs and the vocabulary), else the Python one
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
SPECS = ROOT / "specs"
TEMPLATES = ROOT / "templates"
REFERENCE = ROOT / "reference"
SERIES = SPECS / "series.yaml"


def cache_dir_path() -> Path:
    """`$KCONFORM_CACHE` or `<repo>/.cache`, not created."""
    env = os.environ.get("KCONFORM_CACHE")
    return Path(env).expanduser().resolve() if env else ROOT / ".cache"


def cache_dir(create: bool = True) -> Path:
    """The one cache directory: ``$KCONFORM_CACHE`` or ``<checkout>/.cache``
    (downloads, builds, work directories)."""
    d = cache_dir_path()
    if not create:
        return d
    try:
        d.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise KconformError(f"{d}: cannot create the cache ({e.strerror}); set KCONFORM_CACHE "
                            "to a writable directory") from None
    return d


def series_index() -> dict[str, dict]:
    """name -> {seed, about} from specs/series.yaml."""
    data = yaml.load(SERIES.read_text(), Loader=SAFE_LOADER) or {}
    return data


def spec_path(name: str) -> Path:
    return SPECS / f"{name}.yaml"


def resolve_spec_name(name: str) -> str:
    """Accept `mte-v10`, `v10` or a path; return the registered spec name."""
    index = series_index()
    if name in index:
        return name
    for key in index:
        if key.endswith("-" + name):
            return key
    raise KconformError(f"{name!r} is not a known spec; options are {', '.join(index)}")
