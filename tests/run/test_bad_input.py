"""Every bad input is a one-line error naming the file, the line and the
expected form, checked before anything is built or booted (issue 11):
specs and baselines are validated on load (types, ranges, array bounds,
encodings); report paths must be writable files that are no input of the
run; the cache must be writable; a seed must be a regular file of bounded
size.  Before, each of these was a traceback (exit 1) or a boot first."""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from generator import paths
from generator.cli import main
from generator.errors import SpecError
from generator.model.specio import load_spec

V10 = paths.spec_path("mte-v10")
BASELINE = paths.ROOT / "baselines" / "mte-v10.baseline"


def _spec(tmp_path, old, new, raw=None) -> Path:
    text = V10.read_text()
    p = tmp_path / "mte-v10.yaml"
    if raw is not None:
        p.write_bytes(raw)
        return p
    assert old in text, old
    p.write_text(text.replace(old, new, 1))
    return p


@pytest.mark.parametrize("old,new,where", [
    ("order: 1\n", "order: first\n", r"checks\[0\]\.order: expected an integer"),
    ("ctype: __u64", "ctype: [1, 2]", r"members\[0\]\.ctype: expected a string"),
    ("bytes_per_unit: 16", "bytes_per_unit: 0", r"bytes_per_unit: 0 is out of range"),
    ("array:\n    - 2", "array:\n    - 1000000000", r"array\[0\]: array length 1000000000"),
    ("errno: EINVAL", "errno: ENOTANERRNO", r"is not an errno name"),
    ("kind: ioctl", "kind: ioctlx", r"is not one of"),
    ("version: 10", "version: {a: 1}", r"version: expected an integer"),
])
def test_a_bad_spec_names_file_line_and_form(tmp_path, old, new, where):
    p = _spec(tmp_path, old, new)
    with pytest.raises(SpecError) as e:
        load_spec(p)
    msg = str(e.value)
    assert re.match(rf"{re.escape(str(p))}:[1-9]\d*: ", msg), msg
    assert re.search(where, msg), msg
    line = int(msg.split(":")[1])
    assert new.split("\n")[-1].strip().split(":")[0].strip("- ") in \
        p.read_text().split("\n")[line - 1] or line > 0


def test_a_non_utf8_spec_names_the_line(tmp_path):
    text = V10.read_bytes()
    k = text.index(b"\n", 600)
    p = _spec(tmp_path, None, None, raw=text[:k] + b"\xff" + text[k:])
    with pytest.raises(SpecError, match=rf"{re.escape(str(p))}:\d+: byte 0xff is not UTF-8"):
        load_spec(p)


def test_run_refuses_a_bad_spec_before_building(tmp_path, capsys):
    p = _spec(tmp_path, "bytes_per_unit: 16", "bytes_per_unit: 0")
    assert main(["run", "--quiet", "--spec", str(p), "--work-dir", str(tmp_path / "w")]) == 2
    assert "bytes_per_unit: 0 is out of range" in capsys.readouterr().err
    assert not (tmp_path / "w").exists()


@pytest.mark.parametrize("extra,said", [
    (["--results", "/proc/kconform/x.json"], "cannot write there"),
    (["--markdown", "/proc/x.md"], "cannot write there"),
    (["--results", "/tmp"], "is a directory"),
    (["--results", str(BASELINE), "--baseline", str(BASELINE)], "is the --baseline file"),
    (["--junit", str(V10)], "is the spec mte-v10.yaml"),
    (["--results", "SEED"], "is the seed"),
    (["--junit", "J", "--ktap", "J"], "is also --junit"),
])
def test_report_paths_are_checked_before_the_boot(tmp_path, capsys, extra, said):
    seed = str(paths.SEEDS / "002_640e98e582cbc741.txt")
    extra = [seed if x == "SEED" else str(tmp_path / "j.xml") if x == "J" else x for x in extra]
    spec = [] if "--baseline" in extra else ["--spec", "v10"]
    code = main(["run", "--quiet", *spec, "--work-dir", str(tmp_path / "w"), *extra])
    assert code == 2
    assert said in capsys.readouterr().err
    assert not (tmp_path / "w").exists()           # nothing was generated, nothing booted
    assert BASELINE.read_text().startswith("#") or BASELINE.stat().st_size > 0


def test_an_unwritable_cache_is_named_before_the_boot(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("KCONFORM_CACHE", "/proc/kconform-cache")
    assert main(["run", "--quiet", "--spec", "v10"]) == 2
    err = capsys.readouterr().err
    assert "/proc/kconform-cache" in err and "KCONFORM_CACHE" in err


@pytest.mark.parametrize("text,said", [
    (b"spec mte-v10\nkernels debian-6.12\n\xfe\n", "byte 0xfe is not UTF-8"),
    (b"spec mte-v10\nbinding sideways\nkernels debian-6.12\n", "is not a capability binding"),
    (b"spec mte-v10\nkernels debian-6.12\ndebian-6.12 x maybe\n", "unknown verdict"),
])
def test_a_bad_baseline_names_file_and_line(tmp_path, capsys, text, said):
    b = tmp_path / "b.baseline"
    b.write_bytes(text)
    assert main(["run", "--quiet", "--baseline", str(b)]) == 2
    err = capsys.readouterr().err
    assert said in err and f"{b}:" in err and "Traceback" not in err


@pytest.mark.parametrize("make", ["fifo", "dir", "device", "big"])
def test_a_seed_that_is_no_regular_file_or_too_big_is_refused(tmp_path, capsys, monkeypatch,
                                                              make):
    p = tmp_path / "seed"
    if make == "fifo":
        os.mkfifo(p)
    elif make == "dir":
        p.mkdir()
    elif make == "device":
        p = Path("/dev/null")
    else:
        monkeypatch.setenv("KCONFORM_MAX_SEED_MB", "0.05")
        p.write_text("x" * 100_000)
    assert main(["extract", str(p), "--name", "x", "-o", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert {"fifo": "is a FIFO", "dir": "is a directory", "device": "is a character device",
            "big": "MB limit for a seed (KCONFORM_MAX_SEED_MB"}[make] in err


def test_one_report_failing_does_not_stop_the_others(tmp_path, capsys):
    from generator.cli.run import _write_reports
    done = []

    def broken():
        raise OSError(28, "No space left on device")

    failed = _write_reports([("results", "r.json", broken),
                             ("markdown", "m.md", lambda: done.append("md")),
                             ("junit", "j.xml", lambda: done.append("junit"))])
    out = capsys.readouterr()
    assert done == ["md", "junit"]
    assert failed == ["results r.json: No space left on device"]
    assert "markdown: m.md" in out.out and "not written: results r.json" in out.err


def test_a_kernel_that_never_starts_rewrites_every_report(tmp_path, capsys):
    """Before, the previous results.json stayed while JUnit and markdown were
    rewritten; now every report says what happened on this run."""
    r, md, junit = tmp_path / "r.json", tmp_path / "r.md", tmp_path / "r.xml"
    for p in (r, md, junit):
        p.write_text("stale\n")
    code = main(["run", "--quiet", "--spec", "v10", "--kernel", str(tmp_path / "no-Image"),
                 "--results", str(r), "--markdown", str(md), "--junit", str(junit),
                 "--work-dir", str(tmp_path / "w")])
    out = capsys.readouterr().out
    assert code == 2
    import json
    doc = json.loads(r.read_text())
    assert doc["columns"][0]["state"] == "unknown kernel"
    assert md.read_text() != "stale\n" and junit.read_text() != "stale\n"
    for p in (r, md, junit):
        assert str(p) in out
