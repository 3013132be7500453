"""Cold rebuild of networks' runs of the study (Table 4's grouped protocol by default): each one retrained from scratch under
the current code (into the scratch cache folder data/interim/verify_runs, refreshed; two runs side by side, one thread
each, as `make reproduce` trains them) and compared with what the study's cache holds under its key.

    python benchmarks/rekey/cold_networks.py [--protocol grouped] [MODEL ...]   (fusion_cnn fusion_meta paper_cnn by default)
"""
import sys, time
import numpy as np, pandas as pd
from popnb.core import cache_table
from popnb.data import load_dataset
from popnb.runs import Study, Execution, Run, _stores, _usable_rows, run_key, fit_runs
from popnb.protocols import protocol_splits

args = sys.argv[1:]
protocol = args[args.index('--protocol') + 1] if '--protocol' in args else 'grouped'
models = [a for i, a in enumerate(args) if not a.startswith('--') and (i == 0 or args[i - 1] != '--protocol')]
models = models or ['fusion_cnn', 'fusion_meta', 'paper_cnn']
df = load_dataset('updated'); study = Study(); rows, t0 = [], time.time()
for m in models:
    needs, stores = _stores(df, [m], study, 'spotify', False)
    d, keep, _ = _usable_rows(df, stores, study.descriptor_mel, 'spotify')
    store = stores[needs[m].key] if needs[m] is not None else None
    spec = None if store is None else store.X[keep]
    key = run_key(protocol, m, d, store, study)
    runs = [Run(m, s, f, tr, te, key, protocol, 'spotify', study.epochs) for s in study.seeds
            for f, (tr, te) in enumerate(protocol_splits(d, protocol, s, study.k))]
    cold = fit_runs(d, runs, spec, Execution(refresh=True, progress=False, n_jobs=2, cache='verify_runs'))
    for r, c in zip(runs, cold):
        cached = cache_table('runs', r.cache_key, lambda: (_ for _ in ()).throw(RuntimeError(f'not cached: {r}')))
        rows.append(dict(model=m, diff=float(np.abs(cached.y_pred.to_numpy(float) - c.y_pred.to_numpy(float)).max())))
    print(f"{protocol} {m:12s} {len(runs)} runs, {time.time() - t0:6.0f} s", flush=True)
t = pd.DataFrame(rows)
print(t.groupby('model').agg(runs=('diff', 'size'), max_abs_diff=('diff', 'max'),
                             identical=('diff', lambda x: int((x == 0).sum()))).to_string())
print(f"{len(t)} network runs retrained cold in {time.time() - t0:.0f} s; {int((t['diff'] == 0).sum())} bit-identical, "
      f"max |cached - cold| = {t['diff'].max():.3g}")
