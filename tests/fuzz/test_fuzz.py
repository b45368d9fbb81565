"""The fuzz suite (issue 11): seeded mutations of every bundled seed, every
corpus mail, every spec and baseline, and of command lines, fed to the
stages that read them.  A test fails on any traceback (an exception that is
not a KconformError), on a hang (an input taking longer than HANG_S), and
on a silent loss: an extraction that loses or changes a fact of the clean
input (an operation, a check and its errno, a constant and its value, a
capability, an ioctl, a struct) without any finding the clean input does
not have.

Budget: DEFAULT_BUDGET mutants per input file (the whole suite well under a
minute); `KCONFORM_FUZZ=N` runs N per file (`KCONFORM_FUZZ=200 pytest
tests/fuzz` is several thousand inputs).  Every failure names its mutant
(`source:kind:seed`), which `mutate.mutants` reproduces."""
from __future__ import annotations

import contextlib
import os
import signal
import zlib
from pathlib import Path

import pytest

from generator import paths
from generator.errors import KconformError
from tests.fuzz.mutate import DEFAULT_BUDGET, TEXT_MUTATIONS, YAML_MUTATIONS, Mutant, mutants

ROOT = Path(__file__).resolve().parents[2]
BUDGET = int(os.environ.get("KCONFORM_FUZZ", DEFAULT_BUDGET))
HANG_S = 20.0
SEEDS = sorted(p for p in (ROOT / "seeds").glob("*.txt"))
CORPUS = sorted(p for p in (ROOT / "tests" / "data" / "corpus").glob("*.txt"))
SPECS = sorted(p for p in (ROOT / "specs").glob("*.yaml")
               if p.stem not in ("series", "vocabulary"))
BASELINES = sorted((ROOT / "baselines").glob("*.baseline"))
# losing a fact by these mutations must leave a finding; a byte flip may
# change a fact the way an edit does (an errno, a number), which is no loss
LOSSY_KINDS = {"delete-line", "delete-lines", "truncate", "duplicate-hunk", "duplicate-line"}
COUNTS: dict[str, int] = {}


class Hang(Exception):
    pass


@contextlib.contextmanager
def deadline(seconds: float):
    def fire(signum, frame):
        raise Hang(f"no answer in {seconds:.0f} s")
    old = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def _seed_of(path: Path) -> int:
    return zlib.crc32(path.name.encode())


def _write(tmp: Path, name: str, m: Mutant) -> Path:
    p = tmp / name
    p.write_bytes(m.data)
    return p


def _facts(spec) -> set[str]:
    out = {f"op:{o.name}" for o in spec.operations}
    out |= {f"check:{o.name}/{c.id}={c.errno.name if c.errno else c.result}"
            for o in spec.operations for c in o.checks}
    out |= {f"const:{c.name}={c.value}" for c in spec.constants}
    out |= {f"cap:{c.name}={c.number}" for c in spec.capabilities}
    out |= {f"ioctl:{i.name}={i.number}" for i in spec.ioctls}
    out |= {f"struct:{s.name}" for s in spec.structs}
    return out


def _findings(spec) -> set[tuple]:
    return {(f.kind, f.message) for f in spec.findings}


def _extract_all(paths_: list[Path], tmp_path, what: str) -> list[str]:
    from generator.extract import extract_spec
    from generator.model.vocab import load_vocabulary
    voc = load_vocabulary()
    problems = []
    n = 0
    for src in paths_:
        try:
            clean = extract_spec(src, "fuzz", voc)
        except KconformError:
            clean = None
        for m in mutants(src.name, src.read_bytes(), BUDGET, _seed_of(src), TEXT_MUTATIONS):
            n += 1
            p = _write(tmp_path, src.name, m)
            try:
                with deadline(HANG_S):
                    spec = extract_spec(p, "fuzz", voc)
            except KconformError as e:
                if not str(e).strip():
                    problems.append(f"{m.label}: an empty error")
                continue
            except Hang as e:
                problems.append(f"{m.label}: hang: {e}")
                continue
            except Exception as e:          # a traceback
                problems.append(f"{m.label}: {type(e).__name__}: {e}")
                continue
            if clean is None or m.kind not in LOSSY_KINDS:
                continue
            lost = _facts(clean) - _facts(spec)
            new = _findings(spec) - _findings(clean)
            if lost and not new:
                problems.append(f"{m.label} (line {m.line}): silent loss of "
                                f"{sorted(lost)[:4]}")
    COUNTS[what] = COUNTS.get(what, 0) + n
    return problems


def test_mutated_seeds(tmp_path):
    problems = _extract_all(SEEDS, tmp_path, "seeds")
    assert not problems, "\n".join(problems[:30])


def test_mutated_corpus_mails(tmp_path):
    problems = _extract_all(CORPUS, tmp_path, "corpus mails")
    assert not problems, "\n".join(problems[:30])


def test_mutated_specs(tmp_path):
    from generator.model.specio import load_spec
    from generator.plan import nothing_to_run, plan
    from generator.render.c import CapBinding, render_c
    from generator.render.reference import render_reference
    problems = []
    n = 0
    for src in SPECS:
        for m in mutants(src.name, src.read_bytes(), BUDGET * 2, _seed_of(src), YAML_MUTATIONS):
            n += 1
            p = _write(tmp_path, src.name, m)
            try:
                with deadline(HANG_S):
                    spec = load_spec(p)
                    cases = plan(spec)
                    if not nothing_to_run(spec, cases):
                        render_reference(spec)
                        render_c(spec, cases, CapBinding.HEADER)
            except KconformError as e:
                if not str(e).strip():
                    problems.append(f"{m.label}: an empty error")
            except Hang as e:
                problems.append(f"{m.label}: hang: {e}")
            except Exception as e:
                problems.append(f"{m.label}: {type(e).__name__}: {str(e)[:200]}")
    COUNTS["specs"] = COUNTS.get("specs", 0) + n
    assert not problems, "\n".join(problems[:30])


def test_mutated_baselines(tmp_path):
    from generator.report.baseline import load
    problems = []
    n = 0
    for src in BASELINES:
        for m in mutants(src.name, src.read_bytes(), BUDGET * 4, _seed_of(src), TEXT_MUTATIONS):
            n += 1
            p = _write(tmp_path, src.name, m)
            try:
                with deadline(HANG_S):
                    load(p)
            except KconformError:
                pass
            except Exception as e:
                problems.append(f"{m.label}: {type(e).__name__}: {e}")
    COUNTS["baselines"] = COUNTS.get("baselines", 0) + n
    assert not problems, "\n".join(problems[:30])


# command lines: each fails before anything is built or booted (the last
# resort is an unwritable --work-dir), with exit 2 and one line, never a
# traceback or exit 1
_BAD = [["--jobs", "0"], ["--jobs", "-3"], ["--jobs", "x"], ["--kernel", ","],
        ["--kernel", "debian-6.12,,x"], ["--spec", "nonexistent"], ["--spec", "v10", "--spec", "v10"],
        ["--spec", "/dev/null.yaml"], ["--spec", "README.md"], ["--cap-binding", "sideways"],
        ["--target", "ftp://x"], ["--target", "ssh://"], ["--per-test-timeout", "nan"],
        ["--results", "/proc/x/y.json"], ["--results", "/"], ["--markdown", ""],
        ["--baseline", "/nonexistent"], ["--baseline", "/proc/self/status"],
        ["--baseline", "README.md"], ["--kernel", "/nonexistent/Image"],
        ["--kernel", "README.md"], ["--matrix", "--target", "local"], ["--junit", "specs"],
        ["--ktap", "seeds/002_640e98e582cbc741.txt"], ["--spec", ""]]


def _argvs(budget: int) -> list[list[str]]:
    import random
    rng = random.Random(11)
    out = [["run", *b] for b in _BAD]
    out += [["baseline", "-o", "/proc/x", *b] for b in _BAD[:8]]
    out += [["extract", "/nonexistent"], ["extract", "/dev/null", "--name", "x"],
            ["extract", "seeds"], ["extract", "--spec", "bogus", "--check"],
            ["generate", "--spec", "bogus"], ["diff", "v10", "bogus"],
            ["diff", "README.md", "v10"], ["diff", "/dev/null", "v10"]]
    for _ in range(budget * 4):
        k = rng.randint(1, 3)
        argv = ["run"] + [x for b in rng.sample(_BAD, k) for x in b]
        out.append(argv)
    return out


def test_bad_command_lines(tmp_path, capsys, monkeypatch):
    from generator.cli import main
    monkeypatch.chdir(ROOT)
    problems = []
    n = 0
    for argv in _argvs(BUDGET):
        n += 1
        full = argv + (["--work-dir", "/proc/kconform-fuzz"] if argv[0] in ("run", "baseline")
                       else [])
        try:
            with deadline(HANG_S):
                code = main(full)
        except SystemExit as e:               # argparse: a usage error, exit 2
            code = e.code
        except Exception as e:
            problems.append(f"{' '.join(full)}: {type(e).__name__}: {e}")
            continue
        err = capsys.readouterr().err
        if code not in (2, 3) or "Traceback" in err or "internal error" in err:
            problems.append(f"{' '.join(full)}: exit {code}: {err.strip()[-300:]}")
    COUNTS["command lines"] = COUNTS.get("command lines", 0) + n
    assert not problems, "\n".join(problems[:30])


def test_zz_report_counts(capsys):
    """Prints how many mutated inputs the suite ran (pytest -s shows it)."""
    total = sum(COUNTS.values())
    with capsys.disabled():
        print(f"\nfuzz: {total} inputs: " + ", ".join(f"{v} {k}" for k, v in COUNTS.items())
              + f" (budget {BUDGET} per file)")
    report = os.environ.get("KCONFORM_FUZZ_REPORT")
    if report:
        Path(report).write_text(f"{total}\n" + "\n".join(f"{k} {v}" for k, v in COUNTS.items()))
