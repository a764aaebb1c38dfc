"""Output formatting: tables of hits, counts, JSON, and the lines of an index's summary."""

from __future__ import annotations

import json

import click

from ..summary import count


def echo_json(obj) -> None:
    click.echo(json.dumps(obj, indent=2, ensure_ascii=False, default=str))


def clip(text: str, width: int) -> str:
    """``text`` cut to ``width`` characters, ending in "..." where something was cut."""
    return text if len(text) <= width else text[:width - 3] + "..."


def hits_table(hits) -> str:
    """Hits as a table; re-ranked hits (a query by example) also show the score they were
    ranked by, which is why their Hamming distances need not rise down the list."""
    scored = any(h.score is not None for h in hits)
    head = ("rank", "distance") + (("score",) if scored else ()) + ("id", "labels", "title")
    rows = [head]
    for i, h in enumerate(hits, 1):
        title = " ".join(str(h.title).split())
        rows.append((str(i), str(h.distance))
                    + ((f"{h.score:.2f}",) if scored else ())
                    + (str(h.id), clip(",".join(h.labels), 30), clip(title, 70)))
    n = len(head) - 1
    widths = [max(len(r[c]) for r in rows) for c in range(n)]
    table = "\n".join("  ".join(r[c].ljust(widths[c]) for c in range(n)) + "  " + r[n]
                      for r in rows)
    if scored:
        table += ("\nranked by score (the query's code logits against each item's bits, "
                  "higher is nearer) among the nearest by Hamming distance; --no-rerank "
                  "ranks by distance")
    return table


def hits_json(hits) -> list:
    return [h.public() for h in hits]


def validation_loss(loss) -> str:
    if loss is not None:
        return f"validation loss {loss:.4f}"
    return "no validation loss (too few items to hold some out, or a closed-form fit)"


def build_lines(out, s) -> list[str]:
    """What a finished build reports, from the new index's summary ``s``."""
    t = s.training
    lines = [f"built {out}: {count(s.counts['items'], 'item')}, {s.bits}-bit codes, "
             f"{s.model_kind} model (trained {t.fit_seconds:.1f} s on {t.device}, "
             f"{count(t.passes, t.pass_word)}; encoded {t.encode_rate:,.0f} items/s)"]
    if t.classifier_accuracy is not None:
        lines.append(f"classifier accuracy {t.classifier_accuracy:.3f} on the "
                     f"{t.classifier_accuracy_on} ({t.labelled_training_items:,} labelled "
                     "training items used)")
    teacher = t.teacher
    if teacher:
        acc = teacher.get("validation_accuracy")
        lines.append(f"the targets of the unlabelled items came from a teacher trained first "
                     f"on {teacher['labelled_items']:,} labelled items ({teacher['epochs']} "
                     f"epochs, {teacher['seconds']:.0f} s"
                     + ("" if acc is None else f", accuracy {acc:.3f} on held-out labelled items")
                     + ")")
        if teacher.get("mirror"):
            lines.append(f"then the model trained with {teacher['mirror']:.0%} of each batch's "
                         "images mirrored left to right")
    pipe = t.pipeline
    if pipe:
        reads = " and sentence vectors" if pipe.get("sentence_vectors") else ""
        spread = (f", its probabilities averaged with the labels spread over the neighbour "
                  f"graph (alpha {pipe['spread']:g})") if pipe.get("spread") else ""
        lines.append(f"the target bits came from the label pipeline ({pipe['seconds']:.0f} s): "
                     f"a logistic regression on the features{reads} of the "
                     f"{pipe['labelled_items']:,} labelled items trained on{spread}")
    return lines + health_lines(s.health)


def health_lines(h: dict) -> list[str]:
    """The code health figures (:func:`hashret.search.health.code_health`) in two lines."""
    if not h.get("measured"):
        return []
    sample = "" if h["measured"] == h["items"] else f" (a sample of {h['measured']:,})"
    return [f"health      {h['distinct_codes']:,} distinct codes for {h['measured']:,} items"
            f"{sample} ({h['distinct_share']:.0%}); largest bucket {h['largest_bucket_share']:.1%}"
            f" of the items; entropy {h['entropy_bits']:.1f} of {h['max_entropy_bits']:.1f} bits",
            f"balance     each bit set in {h['bit_balance_min']:.0%} to "
            f"{h['bit_balance_max']:.0%} of the items; {h['constant_bits']} almost constant; "
            f"mean |correlation| between bits {h['mean_abs_bit_correlation']:.3f}"]


def info_lines(index_dir, s) -> list[str]:
    """``hashret info``'s lines for the summary ``s`` of the index at ``index_dir``."""
    c = s.counts
    lines = [
        f"index       {index_dir}",
        f"format      {s.format} v{s.format_version}, created {s.created}",
        f"codes       {s.bits} bits ({s.bits // 8} bytes/item), bit order {s.bit_order}, "
        f"bit = {s.bits_from}",
        f"model       {s.model_kind} ({s.modality}), sha256 {s.model_hash[:16]}"
        + "".join(f", {k} {v}" for k, v in s.options.items()),
        f"features    {s.features}",
        f"index kind  {s.index}",
        f"items       {c['items']:,} (train {c['train']:,}, test {c['test']:,}, "
        f"labelled {c['labelled']:,}), ids {s.id_type}",
        f"corpus      {s.corpus}",
    ]
    t = s.training
    if t is not None:
        steps = f", {count(t.steps, 'step')}" if t.steps else ""
        kept = f" (kept {t.kept})" if t.kept else ""      # a classic fit keeps its last step
        threads = f" ({t.threads} threads)" if t.threads else ""
        lines.append(f"training    {count(t.passes, t.pass_word)}{steps}{kept} on "
                     f"{t.device}{threads}, {t.fit_seconds} s; "
                     + validation_loss(t.validation_loss))
        lines.append(f"encoding    {t.encode_rate:,} items/s")
    lines += health_lines(s.health)
    lines += [f"warning     {w}" for w in s.health_warnings]
    lines.append("versions    " + ", ".join(f"{k} {v}" for k, v in s.versions.items()))
    lines.append(f"files       {len(s.files)} files, {s.total_bytes / 1e6:.1f} MB, "
                 + ("every checksum verified on opening" if s.verified else
                    "sizes checked on opening (built with --no-verify-on-open; "
                    "hashret check verifies every checksum)"))
    for name, (size, sha) in s.files.items():
        lines.append(f"  {name:<20} {size:>12,} B  {sha[:16]}")
    return lines
