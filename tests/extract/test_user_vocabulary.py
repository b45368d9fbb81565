"""The user's own vocabulary and the stub `extract` prints for what is
unmapped (generator.model.vocab, generator.extract.stub, cli.series)."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from generator.errors import SpecError
from generator.model.vocab import (find_user_vocabularies, load_vocabulary,
                                   set_user_vocabularies)

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "data" / "corpus"
X86 = CORPUS / "x86-nx-huge-pages-v6-08.txt"
SVE = CORPUS / "sve-finalize-pull-22.txt"


@pytest.fixture(autouse=True)
def _no_user_vocabulary():
    set_user_vocabularies([])
    yield
    set_user_vocabularies([])


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_user_file_merged_over_the_bundled_one(tmp_path):
    f = _write(tmp_path / "kconform-vocabulary.yaml",
               "predicates:\n  kvm_frobnicate_ready:\n    concept: vcpus_created\n"
               "    reach: reachable\n    lever: add_vcpu_first\n")
    voc = load_vocabulary(extra=[f])
    assert voc.predicates["kvm_frobnicate_ready"].concept == "vcpus_created"
    assert "kvm_has_mte" in voc.predicates          # the bundled entries stay


def test_a_key_defined_twice_names_both_files(tmp_path):
    f = _write(tmp_path / "vocabulary.yaml",
               "predicates:\n  kvm_has_mte:\n    concept: cap_enabled\n")
    with pytest.raises(SpecError) as e:
        load_vocabulary(extra=[f])
    assert str(f) in str(e.value) and "vocabulary.yaml:" in str(e.value)
    assert "already defined at vocabulary.yaml:" in str(e.value)


def test_unknown_concept_or_lever_names_file_line_and_valid_ones(tmp_path):
    f = _write(tmp_path / "v.yaml", "predicates:\n  foo:\n    concept: frob\n")
    with pytest.raises(SpecError, match=rf"{tmp_path}/v.yaml:2: predicates.foo: concept 'frob'.*valid ones are .*cap_enabled"):
        load_vocabulary(extra=[f])
    g = _write(tmp_path / "w.yaml", "predicates:\n  foo:\n    concept: cap_enabled\n    lever: pull\n")
    with pytest.raises(SpecError, match=r"w.yaml:2: predicates.foo: lever 'pull' is not one of"):
        load_vocabulary(extra=[g])


def test_found_next_to_the_series_and_in_the_current_directory(tmp_path):
    series = tmp_path / "s"
    series.mkdir()
    mail = series / "x.mbx"
    mail.write_text("")
    a = _write(series / "vocabulary.yaml", "{}\n")
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    b = _write(cwd / "kconform-vocabulary.yaml", "{}\n")
    assert find_user_vocabularies([mail], cwd) == [a.resolve(), b.resolve()]
    assert find_user_vocabularies([series], cwd) == [a.resolve(), b.resolve()]
    assert find_user_vocabularies([], ROOT / "specs") == []   # never the bundled file


def test_extract_names_the_spec_and_prints_a_stub_that_loads_once_filled(tmp_path, monkeypatch, capsys):
    """A name the bundled vocabulary lacks (the x86 mail's CAP_SYS_BOOT):
    listed with its line, a stub printed that is refused unedited and that,
    filled in and found in the current directory, maps it."""
    from generator.cli import main
    monkeypatch.chdir(tmp_path)
    assert main(["extract", str(X86)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("nx-huge-pages-v6: x86-nx-huge-pages-v6-08.txt -> ")
    assert (tmp_path / "nx-huge-pages-v6.yaml").is_file()     # cwd, not specs/
    assert "unmapped: x86-nx-huge-pages-v6-08.txt:266: CAP_SYS_BOOT" in out
    stub = "\n".join(ln[4:] for ln in out.splitlines() if ln.startswith("    "))
    assert "CAP_SYS_BOOT:    # x86-nx-huge-pages-v6-08.txt:266" in stub
    assert "# concepts: " in stub and "page_size" in stub
    f = _write(tmp_path / "kconform-vocabulary.yaml", stub)
    with pytest.raises(SpecError, match="concept 'CHOOSE'"):     # unedited: refused
        load_vocabulary(extra=[f])
    f.write_text(stub.replace("concept: CHOOSE", "concept: kvmio").replace("value: 0", "value: 22"))
    assert main(["extract", str(X86), "--force"]) == 0     # found in the current directory
    out = capsys.readouterr().out
    assert "unmapped: x86-nx-huge-pages-v6-08.txt:266" not in out


def test_run_with_a_bad_vocabulary_stops_before_any_work(tmp_path, capsys):
    from generator.cli import main
    f = _write(tmp_path / "v.yaml", "predicates:\n  foo:\n    concept: frob\n")
    assert main(["run", str(SVE), "--vocabulary", str(f), "--work-dir", str(tmp_path / "w")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "v.yaml:2" in err[0] and not (tmp_path / "w").exists()


def test_run_series_extracts_into_the_work_dir_and_runs_those_spec_files(tmp_path):
    """The plumbing of `run SERIES` without a boot: the spec lands in
    --work-dir/specs under the series' own name and becomes the run's --spec."""
    from generator.cli import build_parser
    from generator.cli.run import _extract_series, _plan
    args = build_parser().parse_args(["run", str(SVE), str(CORPUS / "nisv-v3-01.txt"),
                                      "--work-dir", str(tmp_path)])
    _extract_series(args)
    assert args.spec == [str(tmp_path / "specs" / "vcpu-finalize-ioctl-v1.yaml"),
                         str(tmp_path / "specs" / "reporting-non-isv-v3.yaml")]
    req, _ = _plan(args)
    assert req.specs == tuple(args.spec) and req.work_dir == tmp_path
    bad = build_parser().parse_args(["run", str(SVE), "--spec", "v10"])
    with pytest.raises(Exception, match="either SERIES or --spec"):
        _extract_series(bad)
