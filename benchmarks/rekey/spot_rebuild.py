"""Spot rebuild: retrain a sample of the study's cached runs from scratch (into the cache folder verify_runs) and compare
their predictions with what the cache holds under the current code's keys (one thread a run, as `make reproduce` runs them).

    python benchmarks/rekey/spot_rebuild.py [protocol:model:seed:fold ...]   (a sample of every kind by default)
"""
import sys
import numpy as np, pandas as pd
from popnb.core import cache_table
from popnb.data import load_dataset
from popnb.runs import Study, Execution, Run, _stores, _usable_rows, run_key, fit_runs
from popnb.protocols import protocol_splits
import torch; torch.set_num_threads(1)   # as each of make reproduce's two side-by-side runs
df = load_dataset('updated'); study = Study()
picks = [('grouped', 'ridge', 1, 2), ('grouped', 'hgb_all', 0, 1), ('grouped', 'fusion_meta', 3, 4), ('paper', 'paper_cnn', 2, 0), ('grouped', 'fusion_cnn', 0, 0)]
picks = [(p, m, int(s), int(f)) for p, m, s, f in (a.split(':') for a in sys.argv[1:])] or picks
for protocol, m, s, f in picks:
    needs, stores = _stores(df, [m], study, 'spotify', False)
    d, keep, _ = _usable_rows(df, stores, study.descriptor_mel, 'spotify')
    store = stores[needs[m].key] if needs[m] is not None else None
    tr, te = protocol_splits(d, protocol, s, study.k)[f]
    run = Run(m, s, f, tr, te, run_key(protocol, m, d, store, study), protocol, 'spotify', study.epochs)
    spec = None if store is None else store.X[keep]
    cached = cache_table('runs', run.cache_key, lambda: (_ for _ in ()).throw(RuntimeError('not cached')))
    fresh = fit_runs(d, [run], spec, Execution(refresh=True, progress=False, n_jobs=1, cache='verify_runs'))[0]
    a, b = cached.y_pred.to_numpy(float), fresh.y_pred.to_numpy(float)
    print(f"{protocol:8s} {m:12s} seed {s} fold {f}: {len(a)} rows, max |cached - retrained| = {np.abs(a - b).max():.3g}, "
          f"MAE cached {np.abs(cached.y_true - a).mean():.4f} retrained {np.abs(fresh.y_true - b).mean():.4f}", flush=True)
