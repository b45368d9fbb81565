"""A host profile booted for real: NISV v3's KVM_SET_VCPU_EVENTS with
serror_pending and serror_has_esr is refused with EINVAL only on a host
without RAS (SOURCES.md row 4, pre-existing in v6.12).  `kconform run` boots
the default host (-cpu max, which has RAS) for every other case and a
Cortex-A72 (host profile armv8.0, specs/host-features.yaml) for that
check's cases; both must conform, and the results say where each came
from.  One default boot (usually restored) and one profile boot; marked
`boot`."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from generator.cli import main

pytestmark = pytest.mark.boot

CORPUS = Path(__file__).resolve().parents[1] / "data" / "corpus"


def test_the_ras_check_conforms_on_a_host_without_ras(tmp_path):
    out = tmp_path / "r.json"
    code = main(["run", str(CORPUS / "nisv-v3-02.txt"), "--quiet", "--results", str(out),
                 "--work-dir", str(tmp_path / "w")])
    data = json.loads(out.read_text())
    cases = {c["id"]: c for c in data["cases"]}
    ras = cases["set_vcpu_events.serror_esr_without_ras"]
    assert (ras["verdict"], ras["host"]) == ("conforms", "armv8.0"), ras
    assert ras["observed"]["errno"] == "EINVAL"
    # the same fields on the default host pass the check: the syndrome's bits decide
    assert cases["set_vcpu_events.serror_esr_invalid_bits"]["host"] == "default"
    assert cases["set_vcpu_events.serror_esr_invalid_bits"]["verdict"] == "conforms"
    host = data["run"]["hosts"]["armv8.0"]
    assert host["status"] == "completed" and host["cpu"] == "cortex-a72" and host["cases"] == 2
    assert Path(host["log"]).is_file()
    assert "cortex-a72" in Path(host["log"]).read_text().splitlines()[0]
    bad = [(i, c["verdict"]) for i, c in cases.items()
           if c["verdict"] not in ("conforms",) and i != "cap.number"]
    assert bad == [] and code in (0, 1)
