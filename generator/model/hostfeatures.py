"""The registry of host features (specs/host-features.yaml), checked on load.

A *feature* is something of the host CPU that KVM reads through a kernel
predicate (`cpus_have_final_cap(ARM64_HAS_RAS_EXTN)`, `system_supports_sve()`);
a *profile* is an emulated host that lacks some of them: a variant of the
default QEMU host (its -cpu and -M values).  The planner gives a check that
is true only on a host without feature F a case that runs on F's `lacking`
profile (lever host_lacks_feature); the runner boots that profile for it;
the reference model judges it with a host that lacks the profile's features.

A profile can also *add* a feature the default host lacks (a second host
PMU: `adds`, by booting with more vCPUs and a transformed device tree,
`smp` and `dtb`): such a feature names the host values (case.HOST_VALUES)
only a host with it gives, and a case whose steps send one runs on the
feature's `having` profile (`Registry.profile_for_values`).

Only data here: the QEMU side (a profile as a QemuConfig) is
generator.runner.qemu.for_profile, which reads `cpu`, `machine`, `smp` and
`dtb` (a device-tree transform of generator.runner.dtb.TRANSFORMS).
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
    lacking: str                     # the profile of a host without it ("": the default)
    line: int = 0
    having: str = ""                 # the profile of a host with it ("": the default)
    host_values: tuple[str, ...] = ()   # case.HOST_VALUES only a host with it gives


@dataclass(frozen=True)
class Profile:
    name: str
    meaning: str
    lacks: frozenset                 # feature names
    cpu: str = ""                    # QEMU -cpu; "" keeps the default host's
    machine: str = ""                # QEMU -M; "" keeps the default host's
    line: int = 0
    adds: frozenset = frozenset()    # feature names the default host lacks and it has
    smp: int = 0                     # QEMU -smp; 0 keeps the default host's
    dtb: str = ""                    # a device-tree transform (runner.dtb.TRANSFORMS);
                                     # "": QEMU's own tree

    @property
    def settings(self) -> str:
        """The QEMU settings in a few words, for reports."""
        parts = [f"-cpu {self.cpu}" if self.cpu else "", f"-M {self.machine}" if self.machine else "",
                 f"-smp {self.smp}" if self.smp else "", f"-dtb <{self.dtb}>" if self.dtb else ""]
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

    def profile_for_values(self, values) -> str:
        """The profile a case sending host values `values` (names of
        case.HOST_VALUES) runs on: the `having` profile of the first
        feature, in registry order, that gives one of them ("": none, the
        default host gives them all)."""
        values = set(values)
        return next((f.having for f in self.features.values()
                     if f.having and values & set(f.host_values)), "")


_FEATURE_KEYS = {"meaning", "predicates", "lacking", "having", "host_values"}
_PROFILE_KEYS = {"meaning", "cpu", "machine", "lacks", "adds", "smp", "dtb"}


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
        lacks, adds = d.get("lacks") or [], d.get("adds") or []
        if not isinstance(lacks, list) or not isinstance(adds, list) or not (lacks or adds):
            raise SpecError(f"{where}: lacks must list the features the host lacks, or adds "
                            "those it has and the default host lacks")
        if set(map(str, lacks)) & set(map(str, adds)):
            raise SpecError(f"{where}: a feature both in lacks and adds")
        smp = d.get("smp", 0)
        if isinstance(smp, bool) or not isinstance(smp, int) or not 0 <= smp <= 8:
            raise SpecError(f"{where}: smp {smp!r} is not a vCPU count (1 to 8)")
        transform = d.get("dtb") or ""
        if transform:
            from generator.runner.dtb import TRANSFORMS
            if transform not in TRANSFORMS:
                raise SpecError(f"{where}: dtb {transform!r} is not a device-tree transform "
                                f"of generator/runner/dtb.py; transforms are "
                                f"{', '.join(sorted(TRANSFORMS))}")
        if not (d.get("cpu") or d.get("machine") or smp or transform):
            raise SpecError(f"{where}: give its QEMU cpu, machine, smp or dtb (it would be "
                            "the default host)")
        profiles[name] = Profile(name, str(d.get("meaning", "")), frozenset(map(str, lacks)),
                                 str(d.get("cpu") or ""), str(d.get("machine") or ""), line,
                                 frozenset(map(str, adds)), smp, str(transform))
    features: dict[str, Feature] = {}
    owner: dict[str, str] = {}
    for name, d in (data.get("features") or {}).items():
        line = _line_of(text, name, features_at)
        where = f"{path.name}:{line}: features.{name}"
        if not isinstance(d, dict) or set(d) - _FEATURE_KEYS:
            raise SpecError(f"{where}: a feature has {', '.join(sorted(_FEATURE_KEYS))}")
        preds, values = d.get("predicates") or [], d.get("host_values") or []
        if not isinstance(preds, list) or not isinstance(values, list) or not (preds or values):
            raise SpecError(f"{where}: predicates must list the kernel spellings that read it "
                            "(or host_values the host values only a host with it gives)")
        for p in preds:
            if p in owner:
                raise SpecError(f"{where}: predicate {p} already reads feature {owner[p]}")
            owner[p] = name
        from generator.model.case import HOST_VALUES
        for v in values:
            if v not in HOST_VALUES:
                raise SpecError(f"{where}: host value {v!r} is not one the C runtime reads; "
                                f"host values are {', '.join(sorted(HOST_VALUES))}")
        lacking, having = d.get("lacking"), d.get("having")
        if (lacking is None) == (having is None):
            raise SpecError(f"{where}: give lacking (the profile of a host without it: the "
                            "default host has it) or having (the profile of a host with it: "
                            "the default host lacks it), one of them")
        if values and lacking is not None:
            raise SpecError(f"{where}: host_values name a feature the default host lacks: "
                            "give having, not lacking")
        if preds and having is not None:
            raise SpecError(f"{where}: a feature the default host lacks (having) is read "
                            "through its host_values; predicates (lever host_lacks_feature) "
                            "name features the default host has")
        ref, field_, has = (lacking, "lacks", profiles.get(lacking)) if lacking is not None \
            else (having, "adds", profiles.get(having))
        if has is None:
            raise SpecError(f"{where}: {'lacking' if lacking is not None else 'having'} "
                            f"{ref!r} is not a profile; profiles are "
                            f"{', '.join(sorted(profiles)) or 'none'}")
        listed = has.lacks if field_ == "lacks" else has.adds
        if name not in listed:
            raise SpecError(f"{where}: its {'lacking' if field_ == 'lacks' else 'having'} "
                            f"profile {ref} does not list it in {field_} "
                            f"({', '.join(sorted(listed)) or 'empty'})")
        features[name] = Feature(name, str(d.get("meaning", "")), tuple(map(str, preds)),
                                 str(lacking or ""), line, str(having or ""),
                                 tuple(map(str, values)))
    for p in profiles.values():
        for field_, names in (("lacks", p.lacks), ("adds", p.adds)):
            unknown = sorted(names - set(features))
            if unknown:
                raise SpecError(f"{path.name}:{p.line}: profiles.{p.name}: {field_} "
                                f"{', '.join(unknown)}, not a feature of the registry; "
                                f"features are {', '.join(sorted(features))}")
        wrong = sorted(f for f in p.adds if f in features and features[f].lacking)
        if wrong:
            raise SpecError(f"{path.name}:{p.line}: profiles.{p.name}: adds "
                            f"{', '.join(wrong)}, which the default host has (its feature "
                            "gives lacking)")
    return Registry(path, features, profiles)


@functools.lru_cache(maxsize=None)
def registry(path: Path = DEFAULT_PATH) -> Registry:
    """The bundled registry, loaded once."""
    return load_registry(path)


def profile_of(case) -> str:
    """The host profile a case runs on (the default when it names none)."""
    return getattr(case, "host", "") or DEFAULT_PROFILE
