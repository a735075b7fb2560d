#!/usr/bin/env python3
"""Writes one large generated plan for `deploy check` / `deploy plan` timings.

usage: big_plan.py FILE [--mb 50] [--shape documented|oneline]

documented: a doc comment, `needs` on the previous stage, a target, a run
            with `${version}` and `${host}`, a timeout and a rollback
            (50 MB: 197,703 stages)
oneline:    `stage sN { run "echo N"  rollback {} }` (50 MB: 1,071,589 stages)

Stages are added until the file reaches MB mebibytes (the last stage is
kept whole, so the file is a little larger).
"""
import sys

HEADER = {
    "documented": (
        'pipeline "big" {}\n'
        'param version: string = "1.0"\n'
        'environment production { hosts = ["web-1", "web-2"] }\n'
    ),
    "oneline": 'pipeline "big" {}\n',
}


def documented(i):
    needs = f"  needs = [s{i - 1}]\n" if i > 0 else ""
    return (
        f"/// Stage number {i}, which copies the release and restarts the service.\n"
        f"stage s{i} {{\n"
        f"{needs}"
        "  target = production\n"
        f'  run "echo deploying ${{version}} to ${{host}} as part {i} of the big release"\n'
        "  timeout = 5m\n"
        f'  rollback {{ run "echo undo {i}" }}\n'
        "}\n"
    )


def oneline(i):
    return f'stage s{i} {{ run "echo {i}"  rollback {{}} }}\n'


def main():
    args = sys.argv[1:]
    if not args or args[0].startswith("-"):
        sys.exit(__doc__)
    path = args[0]
    mb = float(args[args.index("--mb") + 1]) if "--mb" in args else 50.0
    shape = args[args.index("--shape") + 1] if "--shape" in args else "documented"
    if shape not in HEADER:
        sys.exit(f"unknown shape {shape!r}; use documented or oneline")
    stage = documented if shape == "documented" else oneline
    limit = int(mb * 1024 * 1024)
    parts = [HEADER[shape]]
    size = len(parts[0])
    i = 0
    while size < limit:
        text = stage(i)
        parts.append(text)
        size += len(text)
        i += 1
    with open(path, "w") as f:
        f.write("".join(parts))
    print(f"{path}: {i} stages, {size} bytes")


if __name__ == "__main__":
    main()
