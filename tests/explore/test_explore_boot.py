"""`kconform explore` on a real kernel: a short exploration of mte-v10 on
Debian 6.12 in one boot finds (at least) the success-value divergence,
shrunk to its four steps and confirmed by a replay; the saved reproducers
replay in a second boot.  Slow (two boots); marked `boot`."""
import json
import time

import pytest

from generator.cli import main

pytestmark = pytest.mark.boot

SUCCESS = "KVM_ARM_MTE_COPY_TAGS | success | 0 -> count=length"


def test_short_exploration_finds_the_success_value(tmp_path):
    t0 = time.monotonic()
    code = main(["explore", "--quiet", "--examples", "64", "--seed", "0",
                 "--results", str(tmp_path / "r.json"), "--save", str(tmp_path / "s.json"),
                 "--work-dir", str(tmp_path / "work")])
    elapsed = time.monotonic() - t0
    assert code == 0
    doc = json.loads((tmp_path / "r.json").read_text())
    assert doc["release"].startswith("6.12") and doc["broke"] is None
    r = doc["results"][0]
    assert r["page_size"] == 4096 and r["examples"] == 64
    assert r["statuses"]["error"] == 0 and r["statuses"]["setup failed"] == 0
    classes = {c["key"]: c for c in r["classes"]}
    assert SUCCESS in classes, sorted(classes)
    c = classes[SUCCESS]
    assert c["confirmed"] and c["decided_by"] == "002_640e98e582cbc741.txt:763"
    assert [s["kind"] for s in c["steps"]] == ["create_vm", "enable_cap", "add_memslot",
                                               "vm_ioctl"]
    assert "int main(void)" in c["reproducer"]
    assert r["unconfirmed"] == []
    assert elapsed < 60, f"the exploration took {elapsed:.0f} s"

    code = main(["explore", "--quiet", "--replay", str(tmp_path / "s.json"),
                 "--results", str(tmp_path / "replay.json"), "--work-dir", str(tmp_path / "w2")])
    assert code == 0
    rep = json.loads((tmp_path / "replay.json").read_text())
    assert rep["replayed"] and all(row["confirmed"] for row in rep["replayed"]), rep["replayed"]
