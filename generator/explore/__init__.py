"""`kconform explore`: random call sequences, run live in one boot by a
guest-side agent, judged against the reference, divergences classified,
shrunk against the live kernel and confirmed by a replay.

Modules, in the order a run uses them:
  domain    what may be called and with which arguments (from the checks)
  choose    where the choices come from (Hypothesis, or a seeded Random)
  agent     the agent's build (templates/kconform_agent.c) and its step rows
  execute   the live executor (generator.runner.agent underneath)
  check     one sequence judged, and its divergence class
  shrink    a divergent sequence made 1-minimal, against the live kernel
  explore   the exploration: generate, execute, judge, shrink, confirm
  saved     --save / --replay files
  report    JSON and the console table
"""
