#!/usr/bin/env python
"""Benchmark: how often the coding queue's suggestions (``review/campaigns/suggest.py``) hold
the code a record already has, and how long one takes.

    .venv/bin/python bench/suggest.py [--mit-sample DIR] [--synthetic 2000,10000] [--sample 500]

Leave-one-out: for each record classified in the target taxonomy, suggest three nodes as if it
were being coded (the record itself is left out of the neighbours and of the co-occurrence
counts, and its own classification in the target is never read) and check the suggestions
against the code it has. Printed per catalog: top-1 and top-3 accuracy, top-1 at the top level
of the tree (category), the same for text alone and for co-occurrence alone, the baseline of
always suggesting the most frequent node, the time to fit the model, and the time per
suggestion (``suggestions()`` end to end, the catalog-version query included, model warm).

Catalogs, each in a fresh temporary SQLite database (created and removed by the script; the
suggestions are computed in Python, so they rank the same on PostgreSQL, which would only serve
the three queries of a fit):

1. ``mit``: the reference data plus MIT's sample export (``--mit-sample``, default
   ``../shared/data/mit-airtable-sample/``: 124 records of 4 sources) imported with
   ``manage.py import_mitigations``; target: the preliminary taxonomy, the only one MIT's
   export carries, so text alone (the figures read the files where they are; nothing of them
   is copied into the project).
2. ``demo``: the 59 demo records; target: the draft taxonomy, with co-occurrence from their
   preliminary, lifecycle, actor and AI RMF codes.
3. ``synthetic-N``: N generated records coded in the preliminary and draft taxonomies, the
   lifecycle stage and the actor; target: the draft taxonomy. Each draft node has its own
   words (from its name and definition, plus invented terms); a record's text mixes 25 % words
   of its node, 15 % of a sibling node and 60 % general wording, and 15 % of records are
   written as if they belonged elsewhere. Its other codes follow its draft node half the time
   and are random otherwise. Beyond 2,000 records leave-one-out runs on ``--sample`` records.

Writes the figures to bench/results/suggest-<time>.json as well.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "results"
# The checkout's sibling ../shared/ (a worktree one level further down finds it one higher).
DEFAULT_SAMPLE = next(
    (
        folder / "shared" / "data" / "mit-airtable-sample"
        for folder in (ROOT.parent, ROOT.parent.parent)
        if (folder / "shared" / "data" / "mit-airtable-sample").is_dir()
    ),
    ROOT.parent / "shared" / "data" / "mit-airtable-sample",
)
FULL_LOO_UP_TO = 2000
GENERAL = (  # noqa: SIM905 (a sentence's worth of words reads better as one string)
    "the developers deployers providers should must shall ensure establish maintain implement "
    "appropriate measures processes policies systems models risks risk safety security "
    "evaluate assess review document report monitor throughout lifecycle relevant including "
    "where necessary potential harms impacts stakeholders users organisations frontier "
    "advanced general purpose capabilities information access before after release deployment "
    "training data outputs inputs controls procedures framework standards practices"
).split()
SYLLABLES = "ka ro mi tu ve sa lo ni pe qua zen dor fil gar hob jin kel mur nop rix".split()  # noqa: SIM905


def setup_django(database: Path) -> None:
    os.environ["DATABASE_URL"] = f"sqlite:///{database}"
    os.environ["DEBUG"] = "0"
    os.environ.setdefault("SECRET_KEY", "benchmark-only-secret-key-" + "x" * 40)
    os.environ["ALLOWED_HOSTS"] = "testserver"
    os.environ["DJANGO_SETTINGS_MODULE"] = "airm_site.settings"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)


def load(catalog: str, mit_sample: Path, workdir: Path) -> str:
    """Fill the fresh database for ``catalog``; returns the target taxonomy's slug."""
    from django.core.management import call_command

    from catalog.reference_data import load_reference_data

    load_reference_data(with_demo=catalog == "demo")
    if catalog == "demo":
        return "airm-draft"
    if catalog == "mit":
        call_command(
            "import_mitigations",
            str(mit_sample / "mitigations-sample.csv"),
            no_progress=True,
            verbosity=0,
        )
        return "airm-preliminary"
    size = int(catalog.removeprefix("synthetic-"))
    path = workdir / f"{catalog}.csv"
    write_synthetic(path, size)
    call_command("import_mitigations", str(path), no_progress=True, verbosity=0)
    return "airm-draft"


def _term(rng: random.Random) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(3))


def write_synthetic(path: Path, size: int, seed: int = 7) -> None:
    from catalog.models import SourceDocument, TaxonomyNode

    rng = random.Random(seed)
    nodes = {
        slug: list(
            TaxonomyNode.objects.filter(taxonomy__slug=slug).order_by("path").select_related()
        )
        for slug in ("airm-draft", "airm-preliminary", "lifecycle", "actor")
    }
    draft = nodes["airm-draft"]
    words = {}
    for node in draft:
        own = [w.lower().strip(".,;:()") for w in f"{node.name} {node.definition}".split()]
        words[node.pk] = [w for w in own if len(w) > 3] + [_term(rng) for _ in range(12)]
    siblings = {
        node.pk: [n for n in draft if n.parent_id == node.parent_id and n.pk != node.pk] or draft
        for node in draft
    }
    others = ("airm-preliminary", "lifecycle", "actor")
    preferred = {node.pk: {slug: rng.choice(nodes[slug]) for slug in others} for node in draft}
    sources = list(SourceDocument.objects.values_list("short_ref", flat=True))
    sections = {ref: [f"Part {i} > {_term(rng).title()}" for i in range(1, 6)] for ref in sources}
    weights = [rng.paretovariate(1.2) for _ in draft]  # a few nodes hold most records

    def text(node, length):
        sibling = rng.choice(siblings[node.pk])
        return " ".join(
            rng.choice(words[node.pk])
            if (roll := rng.random()) < 0.25
            else rng.choice(words[sibling.pk])
            if roll < 0.4
            else rng.choice(GENERAL)
            for _ in range(length)
        )

    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["ID", "Name", "Definition", "Source", "Section", "airm-draft", *others])
        for number in range(10001, 10001 + size):
            node = rng.choices(draft, weights)[0]
            written_as = node if rng.random() > 0.15 else rng.choice(draft)
            source = rng.choice(sources)
            other = [
                (preferred[node.pk][slug] if rng.random() < 0.5 else rng.choice(nodes[slug])).code
                for slug in others
            ]
            writer.writerow(
                [
                    f"A{number}",
                    text(written_as, rng.randint(3, 7)).capitalize(),
                    text(written_as, rng.randint(15, 40)).capitalize() + ".",
                    source,
                    rng.choice(sections[source]),
                    node.code,
                    *other,
                ]
            )


def measure(catalog: str, mit_sample: Path, sample: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="airm-bench-suggest-") as workdir:
        setup_django(Path(workdir) / "bench.sqlite3")
        target = load(catalog, mit_sample, Path(workdir))
        return evaluate(catalog, target, sample)


def evaluate(catalog: str, slug: str, sample: int) -> dict:
    from catalog.models import Mitigation, Taxonomy
    from review.campaigns import suggest

    taxonomy = Taxonomy.objects.get(slug=slug)
    started = time.perf_counter()
    model = suggest.model_for(taxonomy)
    fit_seconds = time.perf_counter() - started
    records = {m.pk: m for m in Mitigation.objects.filter(pk__in=model.labelled_ids)}
    ids = list(model.labelled_ids)
    if len(ids) > FULL_LOO_UP_TO:
        ids = random.Random(1).sample(ids, sample)
    root = {node.pk: node.path.split("/")[1] for node in model.nodes}

    def score(weight: float) -> dict:
        suggest.TEXT_WEIGHT = weight
        top1 = top3 = top1_category = 0
        timings = []
        for pk in ids:
            truth = {model.nodes[i].pk for i in model.label_of[pk]}
            started = time.perf_counter()
            found = suggest.suggestions(records[pk], taxonomy, k=3)
            timings.append(time.perf_counter() - started)
            codes = [s.node.pk for s in found]
            top1 += bool(codes) and codes[0] in truth
            top3 += bool(truth & set(codes))
            top1_category += bool(codes) and root[codes[0]] in {root[t] for t in truth}
        return {
            "top1": top1 / len(ids),
            "top3": top3 / len(ids),
            "top1_category": top1_category / len(ids),
            "ms_per_suggestion": 1000 * statistics.mean(timings),
            "ms_p95": 1000 * sorted(timings)[int(0.95 * (len(timings) - 1))],
        }

    default_weight = suggest.TEXT_WEIGHT
    combined = score(default_weight)
    text_only = score(1.0)
    cooccurrence_only = score(0.0)
    suggest.TEXT_WEIGHT = default_weight
    most_frequent = max(range(len(model.nodes)), key=lambda i: model.node_counts[i])
    baseline = sum(most_frequent in model.label_of[pk] for pk in ids) / len(ids)
    return {
        "catalog": catalog,
        "target": slug,
        "records": Mitigation.objects.active().count(),
        "classified_in_target": model.labelled,
        "nodes_in_target": len(model.nodes),
        "evaluated": len(ids),
        "fit_seconds": fit_seconds,
        "combined": combined,
        "text_only": text_only,
        "cooccurrence_only": cooccurrence_only,
        "most_frequent_node_top1": baseline,
    }


def report(result: dict) -> None:
    print(
        f"\n{result['catalog']}: {result['records']:,} records, {result['classified_in_target']:,} "
        f"classified in {result['target']} ({result['nodes_in_target']} nodes); "
        f"leave-one-out on {result['evaluated']:,}; model fitted in {result['fit_seconds']:.2f} s"
    )
    print(f"  {'':22} {'top-1':>6} {'top-3':>6} {'top-1 cat.':>10} {'ms/sugg.':>9} {'p95 ms':>7}")
    for name in ("combined", "text_only", "cooccurrence_only"):
        row = result[name]
        print(
            f"  {name.replace('_', ' '):22} {row['top1']:6.1%} {row['top3']:6.1%} "
            f"{row['top1_category']:10.1%} {row['ms_per_suggestion']:9.2f} {row['ms_p95']:7.2f}"
        )
    print(f"  {'most frequent node':22} {result['most_frequent_node_top1']:6.1%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mit-sample", type=Path, default=DEFAULT_SAMPLE)
    parser.add_argument("--synthetic", default="2000,10000", help="sizes, comma-separated")
    parser.add_argument("--sample", type=int, default=500)
    parser.add_argument("--catalogs", default="", help="only these (mit, demo, synthetic-N)")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # a child process measures one catalog
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.one, args.mit_sample, args.sample)))
        return

    catalogs = ["mit", "demo"] + [f"synthetic-{int(n)}" for n in args.synthetic.split(",") if n]
    if args.catalogs:
        catalogs = [c for c in catalogs if c in args.catalogs.split(",")]
    if "mit" in catalogs and not (args.mit_sample / "mitigations-sample.csv").exists():
        print(f"(no MIT sample in {args.mit_sample}: skipping it)")
        catalogs.remove("mit")
    results = []
    for catalog in catalogs:
        command = [sys.executable, __file__, "--one", catalog, "--sample", str(args.sample)]
        command += ["--mit-sample", str(args.mit_sample)]
        output = subprocess.run(  # noqa: S603 (this very script, with its own arguments)
            command, check=True, capture_output=True, text=True
        ).stdout
        result = json.loads(output.strip().splitlines()[-1])
        report(result)
        results.append(result)
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    (RESULTS / f"suggest-{stamp}.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
