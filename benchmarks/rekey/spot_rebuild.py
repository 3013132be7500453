"""Spot rebuild: retrain a sample of the study's cached runs from scratch (into the cache folder verify_runs) and compare
their predictions with what the cache holds under the current code's keys (one thread a run, as `make reproduce` runs them).

    python benchmarks/rekey/spot_rebuild.py [protocol:model:seed:fold ...]   (a sample of every kind by default)
"""
import sys
from popnb.data import load_dataset
from popnb.runs import Study
from common import study_runs, cold_diffs

df = load_dataset('updated'); study = Study()
picks = [('grouped', 'ridge', 1, 2), ('grouped', 'hgb_all', 0, 1), ('grouped', 'fusion_meta', 3, 4),
         ('paper', 'paper_cnn', 2, 0), ('grouped', 'fusion_cnn', 0, 0)]
picks = [(p, m, int(s), int(f)) for p, m, s, f in (a.split(':') for a in sys.argv[1:])] or picks
for protocol, m, s, f in picks:
    d, runs, spec = study_runs(df, study, protocol, m)
    run = next(r for r in runs if (r.seed, r.fold) == (s, f))
    diff, = cold_diffs(d, [run], spec, n_jobs=1)
    print(f"{protocol:8s} {m:12s} seed {s} fold {f}: {len(run.test)} rows, max |cached - retrained| = {diff:.3g}", flush=True)
