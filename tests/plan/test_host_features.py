"""Host-feature levers without booting: the registry (specs/host-features.yaml)
and its checks, the vocabulary terms it gives, the planner's lever
host_lacks_feature or a host value only a profile gives, the reference's host per profile, and the run's routing
of a profile's cases (their own binary and boot, their rows saying the
profile; untested with the reason on real hardware or when the profile does
not boot)."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from generator.errors import SpecError
from generator.model import Check, CheckKind, Errno, Reach, Verdict
from generator.model.hostfeatures import DEFAULT_PROFILE, load_registry, registry
from generator.model.spec import Predicate
from generator.plan import plan_all
from generator.plan.ops import host_violation, load_vocabulary
from generator.run.hosts import host_for, split_by_host
from generator.runner.qemu import AARCH64, for_profile
from reference.runtime import Host

CORPUS = Path(__file__).parents[1] / "data" / "corpus"
RAS = "!cpus_have_final_cap(ARM64_HAS_RAS_EXTN)"


# ---------------------------------------------------------------- the registry
def test_every_feature_has_a_profile_that_lacks_it_and_qemu_settings():
    reg = registry()
    assert {"ras", "sve", "pmu", "mte"} <= set(reg.features)
    for f in reg.features.values():
        prof = reg.profile(f.lacking or f.having)
        assert f.name in (prof.lacks if f.lacking else prof.adds)
        assert prof.cpu or prof.machine or prof.smp or prof.dtb
    # a feature the default host lacks: a profile adds it, and the host values
    # only it gives send a case there
    two = reg.profile("two-pmus")
    assert (two.adds, two.lacks, two.smp, two.dtb) == ({"second_pmu"}, frozenset(), 2,
                                                       "split_pmu")
    assert reg.profile_for_values({"pmu_type", "pmu_type_other"}) == "two-pmus"
    assert reg.profile_for_values({"pmu_type"}) == ""
    assert reg.profile("armv8.0").cpu == "cortex-a72"
    assert "mte=on" not in reg.profile("armv8.0").machine     # an A72 has no MTE
    assert reg.feature_of("cpus_have_final_cap(ARM64_HAS_RAS_EXTN)").name == "ras"
    assert reg.profile(DEFAULT_PROFILE).lacks == frozenset()


BASE = """\
features:
  ras:
    meaning: "RAS"
    predicates: ["cpus_have_final_cap(ARM64_HAS_RAS_EXTN)"]
    lacking: old
profiles:
  old:
    cpu: cortex-a72
    lacks: [ras]
"""


@pytest.mark.parametrize("text,words", [
    (BASE.replace("lacking: old", "lacking: nowhere"), "lacking 'nowhere' is not a profile"),
    (BASE.replace("lacks: [ras]", "lacks: [sve]"), "does not list it in lacks"),
    (BASE + "  other:\n    cpu: max\n    lacks: [ras, tme]\n", "lacks tme, not a feature"),
    (BASE.replace("    cpu: cortex-a72\n", ""), "give its QEMU cpu, machine, smp or dtb"),
    (BASE + "  big:\n    smp: 2\n    dtb: split_pmu\n    adds: [pmu2]\n", "adds pmu2, not a feature"),
    (BASE + "  big:\n    smp: 2\n    dtb: three_pmus\n    adds: [ras]\n",
     "dtb 'three_pmus' is not a device-tree transform"),
    (BASE + "  big:\n    smp: many\n    adds: [ras]\n", "smp 'many' is not a vCPU count"),
    (BASE + "  big:\n    smp: 2\n    adds: [ras]\n", "adds ras, which the default host has"),
    (BASE.replace("profiles:", "  pmu2:\n    host_values: [pmu_type_third]\n    having: old\n"
                  "profiles:"), "host value 'pmu_type_third' is not one"),
    (BASE.replace("profiles:", "  pmu2:\n    host_values: [pmu_type_other]\nprofiles:"),
     "give lacking"),
    (BASE.replace("profiles:", "  pmu2:\n    host_values: [pmu_type_other]\n    having: old\n"
                  "profiles:"), "does not list it in adds"),
    (BASE.replace("  old:", "  default:").replace("lacking: old", "lacking: default"),
     "'default' is the default host"),
    (BASE.replace("    meaning: \"RAS\"\n", "    colour: red\n"), "a feature has"),
    (BASE + "  sve:\n    predicates: [\"cpus_have_final_cap(ARM64_HAS_RAS_EXTN)\"]\n"
            "    lacking: old\n", None),
    ("features: [\n", "not valid YAML"),
])
def test_a_bad_registry_is_one_line_with_its_file_and_line(tmp_path, text, words):
    if words is None:      # the predicate listed under two features, the second under profiles
        text = BASE.replace("profiles:", "  sve:\n    predicates: [\"cpus_have_final_cap("
                            "ARM64_HAS_RAS_EXTN)\"]\n    lacking: old\nprofiles:")
        words = "already reads feature ras"
    f = tmp_path / "host-features.yaml"
    f.write_text(text)
    with pytest.raises(SpecError) as e:
        load_registry(f)
    msg = str(e.value)
    assert words in msg and "\n" not in msg and "host-features.yaml" in msg


def test_a_profile_that_adds_a_feature_loads(tmp_path):
    f = tmp_path / "host-features.yaml"
    f.write_text(BASE.replace("profiles:", "  pmu2:\n    host_values: [pmu_type_other]\n"
                              "    having: big\nprofiles:")
                 + "  big:\n    smp: 2\n    dtb: split_pmu\n    adds: [pmu2]\n")
    reg = load_registry(f)
    assert reg.profile_for_values({"pmu_type_other"}) == "big"
    assert reg.feature_of("cpus_have_final_cap(ARM64_HAS_RAS_EXTN)").name == "ras"


def test_the_registry_predicates_are_vocabulary_terms_with_the_lever():
    voc = load_vocabulary()
    t = voc.predicates["cpus_have_final_cap(ARM64_HAS_RAS_EXTN)"]
    assert (t.concept, t.reach, t.lever, dict(t.args)) == (
        "host_has_feature", Reach.HOST_ONLY, "host_lacks_feature", {"feature": "ras"})
    assert voc.predicates["system_supports_sve"].lever == "host_lacks_feature"
    # the bare head stays what the vocabulary says: no feature, no lever
    assert voc.predicates["cpus_have_final_cap"].lever == "none"


def test_a_registry_predicate_the_vocabulary_maps_otherwise_is_an_error(tmp_path):
    from generator.model.vocab import load_vocabulary as load
    f = tmp_path / "vocabulary.yaml"
    f.write_text("predicates:\n  system_supports_sve:\n    concept: vcpus_created\n"
                 "    reach: reachable\n    lever: add_vcpu_first\n")
    with pytest.raises(SpecError, match=r"vocabulary.yaml:2: predicates.system_supports_sve "
                                        r"reads host feature sve"):
        load(f, extra=())


# ---------------------------------------------------------------- the planner
def _check(condition, preds=("cpus_have_final_cap",)):
    from generator.model import Source
    return Check("c", 1, condition, Errno.EINVAL, CheckKind.HOST, [],
                 [Predicate(p, "host_has_feature") for p in preds],
                 Source("t.c", 1), reach=Reach.HOST_ONLY)


@pytest.fixture(scope="module")
def events():
    from generator.extract import extract_spec
    spec = extract_spec(CORPUS / "nisv-v3-02.txt", "nisv-v3-02")
    return spec, spec.operation("KVM_SET_VCPU_EVENTS")


def test_a_check_true_only_without_ras_runs_on_the_profile_that_lacks_it(events):
    spec, op = events
    voc = load_vocabulary()
    v = host_violation(spec, op, _check(f"events->exception.serror_pending && {RAS}"), voc)
    assert v.arg == "armv8.0" and v.note == "ras"
    assert [p.field for p in v.parts] == ["exception.serror_pending"]
    alone = host_violation(spec, op, _check("!system_supports_sve()", ["system_supports_sve"]),
                           voc)
    assert alone.arg == "no-sve" and alone.parts == ()
    # true only with the feature: the default host has it; the rest is the violation
    has = host_violation(spec, op, _check("events->exception.serror_has_esr && "
                                          "system_supports_sve()", ["system_supports_sve"]), voc)
    assert has.arg == "" and [p.field for p in has.parts] == ["exception.serror_has_esr"]


@pytest.mark.parametrize("condition", [
    f"{RAS} && !kvm_arm_support_pmu_v3()",     # two features no one profile lacks together
    "system_supports_sve()",                   # fails on every call of the default host
    f"{RAS} || events->exception.serror_pending",  # not a conjunction
    "!cpus_have_final_cap(ARM64_HAS_FOO)",     # a feature the registry does not know
])
def test_no_host_makes_it_fail_then_no_violation(events, condition):
    spec, op = events
    assert host_violation(spec, op, _check(condition), load_vocabulary()) is None


def test_the_corpus_check_is_planned_on_armv8_0_and_predicted_per_host(events):
    from generator.render.reference import render_reference
    import types
    spec, _ = events
    p = plan_all(spec)
    assert not [u for u in p.untested if u.check == "serror_esr_without_ras"]
    default, hosted = split_by_host(p.cases)
    assert set(hosted) == {"armv8.0"} and all(not c.host for c in default)
    case = next(c for c in hosted["armv8.0"] if c.id.endswith(".serror_esr_without_ras"))
    call = case.steps[-1]
    fields = dict(call.fields)
    assert fields["exception.serror_pending"].bytes == 1
    assert fields["exception.serror_has_esr"].bytes == 1
    assert not case.requires_cap
    mod = types.ModuleType("ref_host")
    exec(render_reference(spec), mod.__dict__)
    armv8 = host_for(registry().profile("armv8.0"), platform_mte=False)
    assert not armv8.has("ras") and not armv8.has("mte") and armv8.has("pmu")
    out = mod.predict(case, 4096, armv8)[-1]
    assert out.errno is Errno.EINVAL and out.check == "serror_esr_without_ras"
    # on a host with RAS the same call goes past the check
    assert mod.predict(case, 4096, Host())[-1].check != "serror_esr_without_ras"


def test_a_profile_is_a_variant_of_the_default_qemu_config():
    old = for_profile(AARCH64, registry().profile("armv8.0"))
    assert (old.cpu, old.machine, old.profile) == (
        "cortex-a72", "virt,virtualization=on,gic-version=3", "armv8.0")
    assert dataclasses.replace(old, cpu=AARCH64.cpu, machine=AARCH64.machine,
                               profile="default") == AARCH64
    nosve = for_profile(AARCH64, registry().profile("no-sve"))
    assert nosve.machine == AARCH64.machine and "sve=off" in nosve.cpu
    assert for_profile(AARCH64, registry().profile(DEFAULT_PROFILE)) is AARCH64


def test_snapshots_of_two_profiles_have_two_keys():
    from generator.runner.snapshot import SnapshotKey
    key = lambda c: SnapshotKey.of(c, kernel="k", qemu="q", initramfs="i", disk_bytes=1,
                                   agent="a")
    old = for_profile(AARCH64, registry().profile("armv8.0"))
    assert key(old).profile == "armv8.0" and key(old).digest != key(AARCH64).digest
    # the same settings under another profile name are another machine for the cache too
    assert key(dataclasses.replace(AARCH64, profile="x")).digest != key(AARCH64).digest


# ---------------------------------------------------------------- the run's routing
@dataclasses.dataclass
class FakeQemu:
    """FAKE for tests: a QEMU target that prints, for each binary, what a
    kernel following the spec would on the host the config emulates (the
    reference under that profile's host), or fails to boot a profile."""
    spec: object
    config: object = AARCH64
    image: object = None
    no_boot: tuple = ()
    blind: bool = False               # print the default host's behaviour everywhere
    label = "fake-qemu"
    seen: list = dataclasses.field(default_factory=list)

    def resolve(self, log=None):
        pass

    def facts(self):
        return {"target": "fake"}

    def run(self, binaries, *, per_test_timeout, total_timeout, log_path, work_dir,
            on_event=None, cancel=None):
        from generator.plan import plan
        from generator.runner.initramfs import Markers
        from generator.runner.qemu import ReplayConsole, watch
        from generator.runner.run import outcome_from_lines
        from tests.verdict.test_crosscheck import fake_kernel_output
        self.seen.append((self.config.profile, [Path(b).name for b in binaries]))
        markers = Markers("fake")
        m = markers.prefix
        lines = [f"{m} START 1.0 120", f"{m} RELEASE 6.12.0-fake", f"{m} PAGESIZE 4096"]
        if self.config.profile not in self.no_boot:
            prof = registry().profile(self.config.profile)
            host = Host() if self.blind else host_for(prof, platform_mte=False)
            for b in binaries:
                mine = [c for c in plan(self.spec) if (c.host or "default") == prof.name]
                lines += [f"{m} BEGIN {Path(b).name} 2.0",
                          *fake_kernel_output(self.spec, mine, 4096, host),
                          f"{m} END {Path(b).name} 0 2.1"]
            lines.append(f"{m} DONE 3.0")
        else:
            lines = ["Kernel panic - not syncing: no CPU the kernel supports"]
        console = ReplayConsole("\n".join(lines) + "\n")
        watched = watch(console, boot_timeout=60, step_timeout=60, total_timeout=60,
                        is_progress=lambda l: markers.parse(l) is not None)
        return outcome_from_lines(watched, markers, expected=[Path(b).name for b in binaries],
                                  per_test_timeout=per_test_timeout)


@pytest.fixture(scope="module")
def prepared(tmp_path_factory, events):
    from generator.model.specio import write_spec
    from generator.run.pipeline import RunRequest, prepare
    work = tmp_path_factory.mktemp("hosts")
    spec, _ = events
    f = work / f"{spec.name}.yaml"
    write_spec(spec, f)
    req = RunRequest(spec=str(f), work_dir=work / "run")
    return req, prepare(req), spec


def _run(prepared, target):
    from generator.run.pipeline import run_target
    req, prep, _ = prepared
    return run_target(prep, target, req, out=prep.out)


def test_a_profiles_cases_get_their_own_binary_and_boot(prepared):
    req, prep, spec = prepared
    part = prep.parts[0]
    assert prep.profiles == ["armv8.0"] and set(part.hosted) == {"armv8.0"}
    assert part.hosted["armv8.0"] != part.binary and part.hosted["armv8.0"].is_file()
    target = FakeQemu(spec)
    report = _run(prepared, target)
    assert [p for p, _ in target.seen] == ["default", "armv8.0"]
    rows = {r.id: r for r in report.results}
    row = rows["set_vcpu_events.serror_esr_without_ras"]
    assert (row.verdict, row.host) == (Verdict.CONFORMS, "armv8.0")
    assert "observed on host profile armv8.0" in row.reason
    assert rows["set_vcpu_events.valid"].host == ""
    hosts = report.facts.extra["hosts"]["armv8.0"]
    assert hosts["cpu"] == "cortex-a72" and hosts["cases"] == 2 and hosts["status"] == "completed"
    from generator.report.table import to_json
    doc = to_json(spec.name, report.results, report.facts)
    by = {c["id"]: c["host"] for c in doc["cases"]}
    assert by["set_vcpu_events.serror_esr_without_ras"] == "armv8.0"
    assert by["set_vcpu_events.valid"] == "default"


def test_a_kernel_that_ignores_the_host_diverges_there(prepared):
    _, _, spec = prepared
    report = _run(prepared, FakeQemu(spec, blind=True))
    row = next(r for r in report.results if r.id == "set_vcpu_events.serror_esr_without_ras")
    assert row.verdict is Verdict.DIVERGES and row.host == "armv8.0"


def test_a_profile_that_does_not_boot_leaves_its_cases_untested(prepared):
    _, _, spec = prepared
    report = _run(prepared, FakeQemu(spec, no_boot=("armv8.0",)))
    rows = [r for r in report.results if r.host == "armv8.0"]
    assert len(rows) == 2 and {r.verdict for r in rows} == {Verdict.UNTESTED}
    assert all("host profile armv8.0" in r.reason and "did not boot" in r.reason for r in rows)
    assert report.facts.extra["hosts"]["armv8.0"]["untested"]
    valid = next(r for r in report.results if r.id == "set_vcpu_events.valid")
    assert valid.verdict is Verdict.CONFORMS


def test_real_hardware_cannot_be_another_cpu(prepared):
    _, _, spec = prepared

    class Hardware:                   # FAKE: an arm64 machine (ssh), no QEMU config
        label = "ssh://arm64-box"

        def __init__(self):
            self.inner = FakeQemu(spec)

        def resolve(self, log=None):
            pass

        def facts(self):
            return {"target": self.label}

        def run(self, binaries, **kw):
            return self.inner.run(binaries, **kw)

    report = _run(prepared, Hardware())
    rows = [r for r in report.results if r.host == "armv8.0"]
    assert len(rows) == 2 and {r.verdict for r in rows} == {Verdict.UNTESTED}
    assert all("runs on its own CPU" in r.reason and "ssh://arm64-box" in r.reason
               for r in rows)
    assert next(r for r in report.results
                if r.id == "set_vcpu_events.valid").verdict is Verdict.CONFORMS


def test_a_kselftest_export_leaves_out_a_profiles_case(events):
    from generator.export.kselftest import Exported, classify
    spec, _ = events
    case = next(c for c in plan_all(spec).cases if c.host)
    got = classify(case, spec)
    assert got.status is Exported.NO and "armv8.0" in got.reason


def test_the_console_says_each_profile_booted_or_why_not():
    from generator.cli.run import _host_line
    ran = _host_line("armv8.0", {"cpu": "cortex-a72", "machine": "virt", "lacks": ["ras"],
                                 "cases": 2, "status": "completed", "boot": 3.2,
                                 "guest": "restored"})
    assert ran == ("host armv8.0 (-cpu cortex-a72 -M virt; lacks ras): 2 case(s), "
                   "completed, restore 3.2 s")
    two = _host_line("two-pmus", {"cpu": "max", "machine": "virt", "lacks": [],
                                  "adds": ["second_pmu"], "smp": 2, "dtb": "/c/t.dtb",
                                  "cases": 3, "status": "completed", "boot": 4.4})
    assert two == ("host two-pmus (-cpu max -M virt -smp 2 -dtb <transformed>; adds "
                   "second_pmu): 3 case(s), completed, boot 4.4 s")
    no = _host_line("armv8.0", {"lacks": ["ras"], "cases": 2, "untested": "runs on its own CPU"})
    assert no == "host armv8.0 (not QEMU): 2 case(s) untested: runs on its own CPU"


def test_an_interrupted_run_lists_the_profiles_cases_untested(prepared):
    import threading
    from generator.run.pipeline import run_target
    req, prep, spec = prepared
    cancel = threading.Event()
    target = FakeQemu(spec)
    real = target.run

    def then_cancel(*a, **kw):           # the default boot ends as the user interrupts
        out = real(*a, **kw)
        cancel.set()
        return out
    target.run = then_cancel
    report = run_target(prep, target, req, out=prep.out, cancel=cancel)
    rows = [r for r in report.results if r.host == "armv8.0"]
    assert [p for p, _ in target.seen] == ["default"]
    assert len(rows) == 2 and all(r.verdict is Verdict.UNTESTED and "interrupted" in r.reason
                                  for r in rows)


# ---------------------------------------------------------------- a profile that adds a feature
def _pmu_case(cid, host_value=""):
    from generator.model import Source
    from generator.model.case import AttrRequest, Case, CreateVm, DeviceAttr, Val
    value = Val(host=host_value) if host_value else Val(bytes=1)
    return Case(cid, "s", cid, Source("m.txt", 1, "", "", ""), "",
                [CreateVm(), DeviceAttr(request=AttrRequest.SET, value=value)])


def test_only_cases_sending_a_profiles_host_value_run_on_it():
    from generator.plan import on_profiles
    cases = [_pmu_case("a"), _pmu_case("b", "pmu_type"), _pmu_case("c", "pmu_type_other"),
             _pmu_case("d", "pmu_type_other")]
    cases[3].host = "armv8.0"            # already on a profile (host_lacks_feature): kept
    on_profiles(cases)
    assert [c.host for c in cases] == ["", "", "two-pmus", "armv8.0"]
    default, hosted = split_by_host(cases)
    assert [c.id for c in default] == ["a", "b"]
    assert {k: [c.id for c in v] for k, v in hosted.items()} == {"two-pmus": ["c"],
                                                                "armv8.0": ["d"]}


def test_a_device_tree_profile_that_cannot_be_built_leaves_its_cases_untested(monkeypatch):
    from generator.run import hosts
    from generator.runner import dtb
    from generator.run.targets import QemuTarget
    booted = []

    def no_dtc(*a, **k):
        raise dtb.DtbError(f"'fdtget' not found: {dtb.TOOLS_HINT}")
    monkeypatch.setattr(dtb, "profile_dtb", no_dtc)
    got = hosts.run_profile("two-pmus", QemuTarget("debian-6.12", AARCH64), [],
                            run=booted.append)
    assert booted == [] and got.outcome is None
    assert "host profile two-pmus" in got.reason and "fdtget" in got.reason
    rows = hosts.untested_rows([_pmu_case("c", "pmu_type_other")], got.reason)
    assert rows[0].verdict is Verdict.UNTESTED and "fdtget" in rows[0].reason
