"""The merged spec as an oracle: the reference model of the code that
merged, and what it says about a posted spec's divergences.

Phases:
  1. model: the merged spec (generator.extract.tree) rendered into a
     reference module in memory (generator.render.reference); a merged
     check whose condition the model cannot express (a local it has no value
     for) is left out of the model, marked not reachable, and listed;
  2. explain: for each case a posted run judged `diverges`, the same
     observation is judged against the merged model: when the merged model
     predicts it, the kernel follows its own code and the tree line that
     decided its answer is named; when it does not, neither predicts it;
  3. oracle: `kconform run --oracle merged` judges every case against the
     merged model instead (generator.verdict.crosscheck with the module).
"""
from __future__ import annotations

import dataclasses
import enum
import types
from dataclasses import dataclass
from typing import Optional

from generator.model import Finding, FindingKind, Reach, Source, Spec


class Oracle(enum.Enum):
    """Which model a run judges its cases against."""
    POSTED = "posted"          # the series' own reference (reference/<spec>.py)
    MERGED = "merged"          # the reference of the tree's spec


class MergedSays(enum.Enum):
    """What the merged model says about an observation the posted one missed."""
    FOLLOWS_OWN_CODE = "follows its own code"     # the merged model predicts it
    NEITHER = "neither predicts it"               # the merged model misses it too
    NOT_MODELLED = "not modelled"                 # the merged spec has no model of the call


@dataclass
class MergedNote:
    says: MergedSays
    sentence: str
    tree_line: Optional[Source] = None            # the tree line behind the merged answer

    def as_json(self) -> dict:
        return {"says": self.says.value, "sentence": self.sentence,
                "tree_line": (f"{self.tree_line.seed}:{self.tree_line.line}"
                              if self.tree_line else None),
                "tree_text": self.tree_line.text if self.tree_line else None}


@dataclass
class MergedOracle:
    spec: Spec                                    # the merged spec
    module: Optional[types.ModuleType]            # its reference model (None: nothing merged)
    left_out: list[Finding]                       # merged checks the model cannot express
    absent: str = ""                              # why there is no model
    root: Optional[object] = None                 # the tree's root (a Path), for its headers


def merged_model(spec: Spec, max_tries: int = 32, root=None) -> MergedOracle:
    """Phase 1: the merged spec's reference module, in memory."""
    from generator.render.reference import RenderError, render_reference
    if not spec.operations:
        return MergedOracle(spec, None, [], root=root, absent=(
            f"the tree ({spec.patches[0]}) has none of this series' operations: not merged"
            + (" (" + "; ".join(f.message for f in spec.findings[:2]) + ")"
               if spec.findings else "")))
    left: list[Finding] = _loop_locals(spec)
    for _ in range(max_tries):
        try:
            text = render_reference(spec, strict=True)
            break
        except RenderError as e:
            if _one_return(spec, e.source, left):
                continue
            check = _check_at(spec, e.source)
            if check is None:
                raise
            op, c = check
            c.reach = Reach.UNREACHABLE
            f = Finding(FindingKind.NOTE,
                        f"{op.name}: merged check {c.id} `{c.condition}` is not in the merged "
                        f"model ({str(e).split(': ', 1)[-1]})", c.source)
            spec.findings.append(f)
            left.append(f)
    else:
        raise RenderError(spec.operations[0].source if spec.operations else Source(spec.seed, 0),
                          f"{spec.name}: more than {max_tries} checks cannot be modelled")
    module = types.ModuleType(f"reference.{spec.name.replace('-', '_').replace('@', '_')}")
    exec(compile(text, f"<reference of {spec.name}>", "exec"), module.__dict__)
    return MergedOracle(spec, module, left, root=root)


def _loop_locals(spec: Spec) -> list[Finding]:
    """A page-loop check that reads a local the loop sets from anything but
    the copy (`page = pfn_to_online_page(pfn); if (!page)`): the model's loop
    knows only the copy's count, so the check is left out, and listed."""
    import re
    from generator.model.vocab import load_vocabulary
    voc = load_vocabulary()
    copies = {n for n, t in voc.helpers.items() if t.effect}
    left: list[Finding] = []
    for op in spec.operations:
        counts = {m.group(1) for m in re.finditer(r'(\w+)\s*=\s*(\w+)\s*\(', op.body or "")
                  if m.group(2) in copies}
        for c in op.checks:
            if not c.in_loop or c.reach is Reach.UNREACHABLE:
                continue
            bare = re.sub(r'\w+\s*\([^()]*\)', ' ', c.condition)   # a call's arguments: its concept's
            names = set(re.findall(r'\b([a-z_]\w*)\b', bare))
            local = {n for n in names if re.search(rf'\b{n}\s*=\s*\w+\s*\(', op.body or "")}
            if local and not local <= counts:
                c.reach = Reach.UNREACHABLE
                f = Finding(FindingKind.NOTE,
                            f"{op.name}: merged loop check {c.id} `{c.condition}` reads "
                            f"{', '.join(sorted(local - counts))}, set in the loop by a call the "
                            "model has no value for; left out of the merged model", c.source)
                spec.findings.append(f)
                left.append(f)
    return left


def _one_return(spec: Spec, src: Source, left: list[Finding]) -> bool:
    """A success the code returns in several ways (`a | b`: the byte count,
    or `ret`): the model takes the first it can express, and says so."""
    for op in spec.operations:
        s = op.success
        if s is None or s.source != src or " | " not in s.ret:
            continue
        alts = [x.strip() for x in s.ret.split(" | ")]
        progress = _progress(op, alts)
        if progress:
            f = Finding(FindingKind.NOTE,
                        f"{op.name}: the code returns one of {', '.join(f'`{a}`' for a in alts)}; "
                        f"`{progress}` is the loop's progress (its length local counts down "
                        f"from the field): the merged model returns it on success, and instead "
                        f"of a page-loop check's errno once it is non-zero (a partial copy)",
                        s.source)
            s.partial = progress
        else:
            f = Finding(FindingKind.NOTE,
                        f"{op.name}: the code returns one of {', '.join(f'`{a}`' for a in alts)}; "
                        f"the merged model returns `{alts[0]}` on success, and does not model "
                        f"the other returns", s.source)
        s.ret = progress or alts[0]
        spec.findings.append(f)
        left.append(f)
        return True
    return False


def _progress(op, alts: list[str]) -> str:
    """`copy_tags->length - length` with `length` the local the page loop
    counts down from the field `length`: the bytes done so far."""
    import re
    for a in alts:
        m = re.fullmatch(r'\s*\w+\s*->\s*(\w+)\s*-\s*(\w+)\s*', a)
        if m and op.loop and op.aliases.get(m.group(2)) == m.group(1) and m.group(2) in op.loop:
            return a
    return ""


def _check_at(spec: Spec, src: Source):
    for op in spec.operations:
        for c in op.checks:
            if c.source.seed == src.seed and c.source.line == src.line \
                    and c.reach is not Reach.UNREACHABLE:
                return op, c
    return None


def explain(result, case, obs, oracle: MergedOracle, page_size: int, host) -> MergedNote:
    """Phase 2: what the merged model says about one `diverges` result."""
    from generator.model import Verdict
    from generator.verdict.crosscheck import judge
    if oracle.module is None:
        return MergedNote(MergedSays.NOT_MODELLED, oracle.absent + "; no tree line explains it")
    try:
        expected = oracle.module.predict(case, page_size, host)
    except (KeyError, AttributeError, NotImplementedError) as e:
        return MergedNote(MergedSays.NOT_MODELLED,
                          f"the merged spec has no model of this call ({type(e).__name__}: {e}); "
                          "no tree line explains the answer")
    at = result.step if result.step is not None else len(case.steps) - 1
    gap = unmodelled_step(case, expected)
    if gap and _step_of(gap) > at:
        # the merged model stops modelling after the step that diverged:
        # judge the case up to that step
        case = dataclasses.replace(case, steps=case.steps[:at + 1])
        expected = expected[:at + 1]
        obs = dataclasses.replace(obs, steps=[s for s in obs.steps if s.step <= at]) if obs else obs
        gap = ""
    if gap:
        named = _cap_number_in_tree(case, oracle)
        if named is not None:
            text, src = named
            return MergedNote(MergedSays.NOT_MODELLED, text, src)
        return MergedNote(MergedSays.NOT_MODELLED, f"the merged model has no rule for {gap}; "
                          "no tree line explains the answer")
    m = judge(oracle.spec, case, expected, obs)
    if m.verdict is Verdict.CONFORMS:
        src = m.decided_by
        where = f"{src.seed}:{src.line}" if src else "the tree"
        what = f" `{src.text}`" if src and src.text else ""
        return MergedNote(MergedSays.FOLLOWS_OWN_CODE,
                          f"the kernel follows its own code: {oracle.spec.patches[0]} "
                          f"{where}{what} decides its answer", src)
    src = m.decided_by
    ops = {st.op for st in case.steps if st.op}
    gaps = [f for f in oracle.left_out if any(f.message.startswith(f"{o}:") for o in ops)]
    text = "neither the posted nor the merged model predicts this: merged " + (
        m.reason or m.verdict.value)
    if gaps:
        g = gaps[-1]
        text += (f"; what the merged model leaves out of this call may: {g.message} "
                 f"({g.source.seed}:{g.source.line})")
        src = g.source
    return MergedNote(MergedSays.NEITHER, text, src)


def _cap_number_in_tree(case, oracle: MergedOracle):
    """A capability number the merged model does not define: what the tree's
    header calls it, and the number the tree gives the series' name."""
    import re
    for st in case.steps:
        number = getattr(st, "cap_number", None)
        if number is None:
            continue
        header = _tree_header(oracle)
        if header is None:
            return None
        path, lines = header
        hit = next(((k + 1, m.group(1)) for k, t in enumerate(lines)
                    if (m := re.match(rf'^#define\s+(KVM_CAP_\w+)\s+{number}\b', t))), None)
        own = next((c for c in oracle.spec.capabilities if c.name == st.cap), None)
        if hit is None:
            text = f"the tree's {path} defines no capability {number}"
            src = Source(path, 1, oracle.spec.patches[0], path, "")
        else:
            text = (f"{number} is {hit[1]} in the tree ({path}:{hit[0]}), which the kernel "
                    "answers for")
            src = Source(path, hit[0], oracle.spec.patches[0], path, lines[hit[0] - 1].strip())
        if own is not None:
            text += f"; the tree numbers {own.name} {own.number} ({own.source.seed}:{own.source.line})"
        return text, src
    return None


def _tree_header(oracle: MergedOracle):
    root = getattr(oracle, "root", None)
    if root is None:
        return None
    path = "include/uapi/linux/kvm.h"
    try:
        return path, (root / path).read_text(errors="replace").splitlines()
    except OSError:
        return None


def explain_results(results, cases, obs, oracle: MergedOracle, page_size: int, host) -> None:
    """Set `merged` on every `diverges` result of one spec's run."""
    from generator.model import Verdict
    by_id = {c.id: c for c in cases}
    for r in results:
        if r.verdict is not Verdict.DIVERGES:
            continue
        case = by_id.get(r.id.rpartition(":")[2] if r.id not in by_id else r.id)
        if case is None:
            continue
        r.merged = explain(r, case, obs.cases.get(case.id), oracle, page_size, host)


def _step_of(gap: str) -> int:
    return int(gap.split()[1])


def unmodelled_step(case, expected) -> str:
    """The first subject step the merged model has no function for (a guest
    rule the tree's spec does not have, a capability number its headers do
    not define), as words; "" when it models every step."""
    for i, (step, e) in enumerate(zip(case.steps, expected)):
        if e.check == "unknown":
            return f"step {i} ({step.kind.value} {e.op})"
    return ""


def judge_merged(results, cases, obs, oracle: MergedOracle, page_size: int, host) -> list:
    """Phase 3: the run's cases judged against the merged model; a case the
    merged model has no rule for is `skipped` as untested, with the reason."""
    from generator.model import Verdict
    from generator.verdict.crosscheck import crosscheck
    if oracle.module is None:
        for r in results:
            if r.verdict in (Verdict.DIVERGES, Verdict.CONFORMS):
                r.verdict = Verdict.SKIPPED
                r.reason = f"untested by the merged oracle: {oracle.absent}"
        return results
    out = crosscheck(oracle.spec, cases, obs, page_size=page_size, host=host,
                     module=oracle.module)
    by_id = {c.id: c for c in cases}
    for r in out:
        case = by_id[r.id]
        gap = unmodelled_step(case, oracle.module.predict(case, page_size or 4096, host))
        if gap and r.verdict in (Verdict.DIVERGES, Verdict.CONFORMS):
            r.verdict = Verdict.SKIPPED
            r.reason = (f"untested by the merged oracle: the merged model has no rule for {gap} "
                        "(guest rules and capability numbers outside the tree's spec are not "
                        "read from the tree)")
    return out
