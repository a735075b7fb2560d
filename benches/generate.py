#!/usr/bin/env python3
"""Generates the same layered DAG as a .deploy plan, a justfile, a
build.ninja and a Makefile, for the benchmarks in this folder.

usage: generate.py DIR STAGES [--command CMD] [--script]

Stage i needs stages i-1 and i/2 (when they exist), so every stage has up
to two dependencies and the graph is wide enough to run in parallel.
"""
import os
import sys


def needs(i):
    out = []
    for j in (i - 1, i // 2):
        if 0 <= j < i and j not in out:
            out.append(j)
    return out


def main():
    args = sys.argv[1:]
    if len(args) < 2:
        sys.exit(__doc__)
    directory, count = args[0], int(args[1])
    command = None
    script = "--script" in args
    if "--command" in args:
        command = args[args.index("--command") + 1]
    os.makedirs(directory, exist_ok=True)
    name = lambda i: f"s_{i:05d}"
    deploy, just, ninja, make = [], [], [], []
    deploy.append('pipeline "bench" { on_failure = abort }\n')
    ninja.append("rule step\n  command = $cmd\n")
    make.append(".PHONY: all\nall: " + " ".join(f"out/{name(i)}" for i in range(count)) + "\n")
    for i in range(count):
        n = name(i)
        deps = needs(i)
        work = command or f"./scripts/build-component --name component-{i:05d} --out build/component-{i:05d} --verbose"
        undo = f"./scripts/clean-component --name component-{i:05d} --out build/component-{i:05d}"
        lines = [f"stage {n} {{"]
        if deps:
            lines.append("  needs = [" + ", ".join(name(d) for d in deps) + "]")
        if script:
            lines.append("  script `let x = 40; x + 2`")
            lines.append('  irreversible = "benchmark"')
        else:
            lines.append("  timeout = 10m")
            lines.append("  retry = 2 every 10s")
            lines.append(f'  run "{work}"')
            lines.append(f'  rollback {{ run "{undo}" }}')
        lines.append("}\n")
        deploy.append("\n".join(lines))
        just.append(f"{n}:" + "".join(f" {name(d)}" for d in deps) + f"\n    {work}\n")
        ninja.append(
            f"build out/{n}: step" + (" | " + " ".join(f"out/{name(d)}" for d in deps) if deps else "")
            + f"\n  cmd = {work} && touch out/{n}\n"
        )
        make.append(
            f"out/{n}:" + "".join(f" out/{name(d)}" for d in deps) + f"\n\t@{work} && touch out/{n}\n"
        )
    with open(os.path.join(directory, "plan.deploy"), "w") as f:
        f.write("\n".join(deploy))
    with open(os.path.join(directory, "justfile"), "w") as f:
        f.write("\n".join(just))
    with open(os.path.join(directory, "build.ninja"), "w") as f:
        f.write("\n".join(ninja))
    with open(os.path.join(directory, "Makefile"), "w") as f:
        f.write("".join(make))


if __name__ == "__main__":
    main()
