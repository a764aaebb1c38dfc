#!/usr/bin/env python3
"""From a prompt to codes to pictures: how often the pictures ``hashret generate --prompt``
decodes for a class's name are of that class.

A classifier trained on the index judges them: every indexed item's code is decoded, and a
generated picture takes the majority label of its 10 nearest decoded items (squared error).
For each label name of the index it draws ``--samples`` codes for the prompt, decodes them
and prints the share the classifier gives the prompt's class (chance: one in the number of
classes). With ``--picture``, it also writes one grid of ``--columns`` pictures for each
prompt of ``--prompts``, one row each, for the README.

  python scripts/bench_prompt.py indexes/fm --picture docs/images/prompts.png \\
      --prompts "ankle boot" trouser bag
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from hashret import Bundle
from hashret.applications import prompt_codes
from hashret.pictures import image_grid, save_png


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("index", type=Path)
    ap.add_argument("--samples", type=int, default=100)
    ap.add_argument("--picture", type=Path)
    ap.add_argument("--prompts", nargs="+", default=["ankle boot", "trouser", "bag"])
    ap.add_argument("--columns", type=int, default=8)
    args = ap.parse_args()
    bundle = Bundle.load(args.index)
    labels = [ls[0] if ls else "" for ls in bundle.items.column("labels").to_pylist()]
    names = sorted(set(labels) - {""})
    known = bundle.model.decode(bundle.codes).reshape(len(labels), -1)
    known_sq = (known ** 2).sum(1)

    def judged(codes):
        made = bundle.model.decode(codes).reshape(len(codes), -1)
        votes = []
        for s in range(0, len(made), 50):
            a = made[s:s + 50]
            # squared distances without an (a, items, pixels) temporary
            d = (a ** 2).sum(1)[:, None] - 2 * a @ known.T + known_sq[None]
            for row in np.argsort(d, axis=1, kind="stable")[:, :10]:
                got = [labels[j] for j in row]
                votes.append(max(set(got), key=got.count))
        return votes

    print(f"| prompt | pictures judged of its class ({args.samples} drawn; chance "
          f"{1 / len(names):.2f}) |\n|---|---|")
    shares = []
    for name in names:
        codes, _ = prompt_codes(bundle, name, args.samples, seed=0)
        share = judged(codes).count(name) / len(codes)
        shares.append(share)
        print(f"| {name} | {share:.2f} |")
    print(f"| mean | {np.mean(shares):.2f} |")
    if args.picture:
        rows = [bundle.model.decode(prompt_codes(bundle, p, args.columns, seed=0)[0])
                for p in args.prompts]
        captions = [p for p in args.prompts for _ in range(args.columns)]
        save_png(image_grid(np.concatenate(rows), args.columns, captions), args.picture)
        print(f"wrote {args.picture}")


if __name__ == "__main__":
    main()
