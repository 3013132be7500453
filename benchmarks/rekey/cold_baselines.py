"""Cold rebuild of every baseline run of the study: each one retrained from scratch under the current code (into the
scratch cache folder data/interim/verify_runs, refreshed) and compared with what the study's cache holds under its key.
Equal predictions make every baseline table equal: the tables are computed from them.

    python benchmarks/rekey/cold_baselines.py [--jobs 2]
"""
import sys, time
import numpy as np, pandas as pd
from popnb.core import cache_table
from popnb.data import load_dataset, release_cutoff
from popnb.runs import Study, Execution, Run, _stores, _usable_rows, run_key, fit_runs
from popnb.protocols import protocol_splits
from popnb.train import MODELS, STUDY_MODELS, WITHOUT_ARTIST, tagged, ABLATIONS

df = load_dataset('updated'); study = Study()
jobs = int(sys.argv[sys.argv.index('--jobs') + 1]) if '--jobs' in sys.argv else 2
calls = [('grouped', STUDY_MODELS, 'spotify'), ('paper', STUDY_MODELS, 'spotify'), ('grouped', tagged('earlier'), 'spotify'),
         ('paper', tagged('earlier'), 'spotify'), ('grouped', WITHOUT_ARTIST, 'no_artist'),
         ('paper', tagged('claim'), 'no_artist'), ('grouped', list(ABLATIONS), 'spotify'),
         ('release', tagged('release'), 'spotify'), ('release_grouped', tagged('release'), 'spotify'),
         ('grouped', ['ridge', 'hgb_all'], 'descriptors')]
rows, t0 = [], time.time()
for protocol, models, fs in calls:
    base = [m for m in models if MODELS[m].kind == 'baseline']
    if not base: continue
    needs, stores = _stores(df, base, study, fs, False)
    d, keep, _ = _usable_rows(df, stores, study.descriptor_mel, fs)
    cutoff = release_cutoff(df.year) if protocol.startswith('release') else None
    runs = [Run(m, s, f, tr, te, run_key(protocol, m, d, None, study, fs, cutoff), protocol, fs, study.epochs)
            for m in base for s in study.seeds
            for f, (tr, te) in enumerate(protocol_splits(d, protocol, s, study.k, cutoff))]
    cold = fit_runs(d, runs, None, Execution(refresh=True, progress=False, n_jobs=jobs, cache='verify_runs'))
    for r, c in zip(runs, cold):
        cached = cache_table('runs', r.cache_key, lambda: (_ for _ in ()).throw(RuntimeError(f'not cached: {r}')))
        diff = float(np.abs(cached.y_pred.to_numpy(float) - c.y_pred.to_numpy(float)).max())
        rows.append(dict(protocol=protocol, inputs=fs, model=r.model, diff=diff))
    print(f"{protocol:16s} {fs:11s} {len(runs):4d} runs, {time.time() - t0:6.0f} s", flush=True)
t = pd.DataFrame(rows)
print(t.groupby(['model']).agg(runs=('diff', 'size'), max_abs_diff=('diff', 'max'),
                               identical=('diff', lambda x: int((x == 0).sum()))).to_string())
print(f"{len(t)} baseline runs retrained cold in {time.time() - t0:.0f} s; {int((t['diff'] == 0).sum())} bit-identical, "
      f"max |cached - cold| = {t['diff'].max():.3g}")
