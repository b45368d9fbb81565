"""`kconform explore`: random call sequences checked live against the reference.

Phases of `cmd_explore`:
  1. load the specs and their reference modules, derive each one's domain
     (or stop with one line when a spec has nothing to explore);
  2. build one agent per spec (generator.explore.agent) and resolve the kernel;
  3. boot once with every agent (generator.runner.agent.AgentVM); per spec,
     start its agent and explore (generator.explore.explore), or, with
     --replay, run each saved sequence once more;
  4. print the tables, write --results (JSON) and --save (reproducers);
     QEMU is gone before this returns, whatever happened.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from generator import paths
from generator.errors import EXIT_BROKEN, EXIT_DIVERGES, EXIT_OK, KconformError


def register(sub) -> None:
    e = sub.add_parser("explore", help="random call sequences run live in one boot, checked "
                                       "against the reference, divergences shrunk")
    e.add_argument("--spec", action="append", default=None, metavar="SPEC",
                   help="spec to explore (repeatable; default mte-v10)")
    e.add_argument("--kernel", default="debian-6.12",
                   help="kernel to boot: debian-6.12 (default), debian-6.1, debian-6.12-16k, "
                        "a Debian package name or a path to an arm64 Image")
    budget = e.add_mutually_exclusive_group()
    budget.add_argument("--seconds", type=float, help="exploration time per spec")
    budget.add_argument("--examples", type=int, help="sequences per spec (default 200)")
    e.add_argument("--seed", type=int, default=0, help="seed of the sequences (default 0)")
    e.add_argument("--max-steps", type=int, default=8,
                   help="steps per sequence, CREATE_VM included (2..8, default 8)")
    e.add_argument("--generator", choices=["hypothesis", "random"], default="hypothesis",
                   help="where the choices come from: Hypothesis strategies (default) or a "
                        "seeded random.Random (two orders of magnitude cheaper per sequence)")
    e.add_argument("--save", metavar="FILE", help="keep the confirmed minimal sequences and "
                                                   "their C reproducers here")
    e.add_argument("--replay", metavar="FILE", help="run the sequences of a --save file again "
                                                     "instead of exploring")
    e.add_argument("--results", metavar="FILE", help="write the JSON results here")
    e.add_argument("--markdown", metavar="FILE", help="write a markdown summary here")
    e.add_argument("--junit", metavar="FILE", help="write JUnit XML here (a confirmed class "
                                                   "is a failure)")
    e.add_argument("--work-dir", help="where the agents and the console log go")
    e.add_argument("--strict", action="store_true",
                   help=f"exit {EXIT_DIVERGES} when a confirmed class is found (or replayed)")
    e.add_argument("--quiet", action="store_true", help="no progress lines")
    e.set_defaults(func=cmd_explore)


def cmd_explore(args) -> int:
    from generator.explore.choose import Generator
    from generator.explore.explore import Budget
    from generator.explore.saved import load
    budget = Budget(examples=args.examples, seconds=args.seconds, max_steps=args.max_steps,
                    generator=Generator(args.generator))
    saved = load(Path(args.replay)) if args.replay else None
    names = args.spec or (sorted({f["spec"] for f in saved}) if saved else ["mte-v10"])
    specs = [_load(n) for n in names]
    if len({s.name for s in specs}) != len(specs):
        raise KconformError(f"--spec names a spec twice ({', '.join(names)}); give each once")
    from generator.explore.domain import Domain
    from generator.verdict.crosscheck import reference_module
    for s in specs:
        Domain.of(s)                               # nothing to explore: one line, exit 2
    modules = {s.name: reference_module(s) for s in specs}
    return _boot_and_explore(args, specs, modules, budget, saved)


def _load(name: str):
    from generator.run.pipeline import load_named_spec
    return load_named_spec(name if name.endswith((".yaml", ".yml"))
                           else paths.resolve_spec_name(name))


def _boot_and_explore(args, specs, modules, budget, saved) -> int:
    from rich.console import Console

    from generator.explore.agent import agent_name, build_agent
    from generator.explore.execute import LiveExecutor
    from generator.explore.explore import Explorer
    from generator.explore.report import print_result, result_doc
    from generator.runner.agent import AgentVM
    from generator.runner.errors import RunnerError
    from generator.runner.kernels import resolve_kernel

    console = Console(width=None if sys.stdout.isatty() else 200)
    err = Console(stderr=True)
    work = Path(args.work_dir) if args.work_dir else paths.cache_dir() / "explore"
    agents = [build_agent(s, work) for s in specs]
    kernel = resolve_kernel(args.kernel)
    progress = (lambda s: None) if args.quiet else (lambda s: err.print(f"  {s}"))
    doc: dict = {"kernel": args.kernel, "seed": args.seed, "specs": [], "results": []}
    results, replays, broke = [], [], None
    try:
        with AgentVM(kernel, agents, work / "console.log") as vm:
            doc["release"] = vm.release
            for spec in specs:
                ex = LiveExecutor.start(vm, spec, agent_name(spec))
                if saved is not None:
                    replays += _replay(spec, modules[spec.name], ex,
                                       [f for f in saved if f["spec"] == spec.name])
                else:
                    r = Explorer(spec, modules[spec.name], ex, seed=args.seed, budget=budget,
                                 on_progress=progress).run()
                    r.live = ex.stats
                    results.append(r)
                    if r.broke:
                        broke = r.broke
                        break
                ex.stop()
    except RunnerError as e:
        broke = str(e)
    label = f"{args.kernel} ({doc.get('release') or '?'})"
    for r in results:
        print_result(r, label, console)
        d = result_doc(r)
        d["live"] = vars(r.live)
        doc["results"].append(d)
    if saved is not None:
        from generator.explore.report import print_replay, replay_doc
        print_replay(replays, console, label)
        doc.update(replay_doc(replays))
    doc["specs"] = [s.name for s in specs]
    doc["broke"] = broke
    if broke:
        err.print(f"kconform: the run broke: {broke}")
    if args.results:
        Path(args.results).write_text(json.dumps(doc, indent=2, default=str) + "\n")
    if args.junit and saved is None:
        from generator.explore.report import write_junit
        write_junit(Path(args.junit), results, label, broke)
    if args.markdown and saved is None:
        from generator.explore.report import markdown
        Path(args.markdown).write_text(markdown(results, label))
    if args.save and results:
        from generator.explore.saved import save
        save(Path(args.save), {"kernel": args.kernel, "release": doc.get("release"),
                               "seed": args.seed,
                               "findings": [c for d in doc["results"] for c in d["classes"]]})
    if broke:
        return EXIT_BROKEN
    found = any(d["classes"] for d in doc["results"]) or any(r["confirmed"] for r in replays)
    return EXIT_DIVERGES if args.strict and found else EXIT_OK


def _replay(spec, module, ex, findings: list[dict]) -> list[dict]:
    """Run each saved sequence once; is it still the class it was saved as?"""
    from generator.explore.check import ExampleStatus, judge_sequence
    from generator.explore.domain import Domain
    from reference.vmstate import Host
    domain = Domain.of(spec)
    cases = [domain.case(f"r{i}", f["steps"]) for i, f in enumerate(findings)]
    obs = ex.execute(cases)
    rows = []
    for f, c in zip(findings, cases):
        j = judge_sequence(spec, module, c, obs.get(c.id), ex.page_size, Host.of(mte=ex.host_mte))
        key = j.cls.key if j.cls else None
        rows.append({"spec": spec.name, "key": f.get("key", ""),
                     "saved_observed": f.get("class", {}).get("observed", ""),
                     "observed": j.cls.observed if j.cls else None,
                     "verdict": j.status.value, "now": key,
                     "confirmed": j.status is ExampleStatus.DIVERGES and key == f.get("key"),
                     "reason": j.reason or (j.result.reason if j.result else "")})
    return rows


if __name__ == "__main__":
    from generator.cli import main
    sys.exit(main(["explore", *sys.argv[1:]]))
