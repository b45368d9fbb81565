"""The registry of host features (specs/host-features.yaml), checked on load.

A *feature* is something of the host CPU that KVM reads through a kernel
predicate (`cpus_have_final_cap(ARM64_HAS_RAS_EXTN)`, `system_supports_sve()`);
a *profile* is an emulated host that lacks some of them: a variant of the
default QEMU host (its -cpu and -M values).  The planner gives a check that
is true only on a host without feature F a case that runs on F's `lacking`
profile (lever host_lacks_feature); the runner boots that profile for it;
the reference model judges it with a host that lacks the profile's features.

Only data here: the QEMU side (a profile as a QemuConfig) is
generator.runner.qemu.for_profile, which reads `cpu` and `machine`.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import yaml

from generator.errors import SpecError
from generator.paths import SAFE_LOADER

DEFAULT_PATH = Path(__file__).resolve().parents[2] / "specs" / "host-features.yaml"
DEFAULT_PROFILE = "default"          # the host generator.runner.qemu.AARCH64 boots


@dataclass(frozen=True)
class Feature:
    name: str
    meaning: str
    predicates: tuple[str, ...]      # vocabulary keys true when the host has it
    lacking: str                     # the profile of a host without it
    line: int = 0


@dataclass(frozen=True)
class Profile:
    name: str
    meaning: str
    lacks: frozenset                 # feature names
    cpu: str = ""                    # QEMU -cpu; "" keeps the default host's
    machine: str = ""                # QEMU -M; "" keeps the default host's
    line: int = 0

    @property
    def settings(self) -> str:
        """The QEMU settings in a few words, for reports."""
        parts = [f"-cpu {self.cpu}" if self.cpu else "", f"-M {self.machine}" if self.machine else ""]
        return " ".join(p for p in parts if p) or "the default host"


@dataclass(frozen=True)
class Registry:
    path: Path
    features: dict                   # name -> Feature
    profiles: dict                   # name -> Profile (without the default)

    def feature_of(self, spelling: str) -> Optional[Feature]:
        """The feature a predicate spelling (a vocabulary key) reads."""
        return next((f for f in self.features.values() if spelling in f.predicates), None)

    def profile(self, name: str) -> Profile:
        if name in (DEFAULT_PROFILE, ""):
            return Profile(DEFAULT_PROFILE, "the default host: every feature of the registry",
                           frozenset())
        return self.profiles[name]

    def names(self) -> list[str]:
        return sorted(self.features)


_FEATURE_KEYS = {"meaning", "predicates", "lacking"}
_PROFILE_KEYS = {"meaning", "cpu", "machine", "lacks"}


def _line_of(text: str, key: str, after: int = 0) -> int:
    for i, line in enumerate(text.splitlines(), 1):
        if i > after and line.strip().startswith(f"{key}:"):
            return i
    return 0


def load_registry(path: Path = DEFAULT_PATH) -> Registry:
    """Read and check the registry; any fault is a SpecError with file:line."""
    path = Path(path)
    try:
        text = path.read_text()
        data = yaml.load(text, Loader=SAFE_LOADER) or {}
    except OSError as e:
        raise SpecError(f"{path}: cannot read the host-feature registry: {e.strerror}") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        raise SpecError(f"{path}:{mark.line + 1 if mark else 0}: the host-feature registry "
                        "is not valid YAML") from None
    if not isinstance(data, dict) or set(data) - {"features", "profiles"}:
        raise SpecError(f"{path}:1: the host-feature registry has two sections, features "
                        "and profiles")
    features_at = _line_of(text, "features")
    profiles_at = _line_of(text, "profiles")
    profiles: dict[str, Profile] = {}
    for name, d in (data.get("profiles") or {}).items():
        line = _line_of(text, name, profiles_at)
        where = f"{path.name}:{line}: profiles.{name}"
        if name == DEFAULT_PROFILE:
            raise SpecError(f"{where}: '{DEFAULT_PROFILE}' is the default host "
                            "(generator/runner/qemu.py AARCH64); name the profile otherwise")
        if not isinstance(d, dict) or set(d) - _PROFILE_KEYS:
            raise SpecError(f"{where}: a profile has {', '.join(sorted(_PROFILE_KEYS))}; "
                            f"got {', '.join(sorted(d)) if isinstance(d, dict) else d!r}")
        lacks = d.get("lacks") or []
        if not isinstance(lacks, list) or not lacks:
            raise SpecError(f"{where}: lacks must list the features the host lacks")
        if not (d.get("cpu") or d.get("machine")):
            raise SpecError(f"{where}: give its QEMU cpu or machine (it would be the "
                            "default host)")
        profiles[name] = Profile(name, str(d.get("meaning", "")), frozenset(map(str, lacks)),
                                 str(d.get("cpu") or ""), str(d.get("machine") or ""), line)
    features: dict[str, Feature] = {}
    owner: dict[str, str] = {}
    for name, d in (data.get("features") or {}).items():
        line = _line_of(text, name, features_at)
        where = f"{path.name}:{line}: features.{name}"
        if not isinstance(d, dict) or set(d) - _FEATURE_KEYS:
            raise SpecError(f"{where}: a feature has {', '.join(sorted(_FEATURE_KEYS))}")
        preds = d.get("predicates") or []
        if not isinstance(preds, list) or not preds:
            raise SpecError(f"{where}: predicates must list the kernel spellings that read it")
        for p in preds:
            if p in owner:
                raise SpecError(f"{where}: predicate {p} already reads feature {owner[p]}")
            owner[p] = name
        lacking = d.get("lacking")
        if lacking not in profiles:
            raise SpecError(f"{where}: lacking {lacking!r} is not a profile; profiles are "
                            f"{', '.join(sorted(profiles)) or 'none'}")
        if name not in profiles[lacking].lacks:
            raise SpecError(f"{where}: its lacking profile {lacking} does not list it in "
                            f"lacks ({', '.join(sorted(profiles[lacking].lacks))})")
        features[name] = Feature(name, str(d.get("meaning", "")), tuple(map(str, preds)),
                                 lacking, line)
    for p in profiles.values():
        unknown = sorted(p.lacks - set(features))
        if unknown:
            raise SpecError(f"{path.name}:{p.line}: profiles.{p.name}: lacks "
                            f"{', '.join(unknown)}, not a feature of the registry; features "
                            f"are {', '.join(sorted(features))}")
    return Registry(path, features, profiles)


@functools.lru_cache(maxsize=None)
def registry(path: Path = DEFAULT_PATH) -> Registry:
    """The bundled registry, loaded once."""
    return load_registry(path)


def profile_of(case) -> str:
    """The host profile a case runs on (the default when it names none)."""
    return getattr(case, "host", "") or DEFAULT_PROFILE
