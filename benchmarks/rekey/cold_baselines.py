"""Cold rebuild of every baseline run of the study: each one retrained from scratch under the current code and compared
with what the study's cache holds under its key. Equal predictions make every baseline table equal: the tables are
computed from them.

    python benchmarks/rekey/cold_baselines.py
"""
import time
import pandas as pd
from popnb.data import load_dataset
from popnb.runs import Study
from popnb.train import MODELS, STUDY_MODELS, WITHOUT_ARTIST, tagged, ABLATIONS
from common import study_runs, cold_diffs

df = load_dataset('updated'); study = Study()
calls = [('grouped', STUDY_MODELS, 'spotify'), ('paper', STUDY_MODELS, 'spotify'), ('grouped', tagged('earlier'), 'spotify'),
         ('paper', tagged('earlier'), 'spotify'), ('grouped', WITHOUT_ARTIST, 'no_artist'),
         ('paper', tagged('claim'), 'no_artist'), ('grouped', list(ABLATIONS), 'spotify'),
         ('release', tagged('release'), 'spotify'), ('release_grouped', tagged('release'), 'spotify'),
         ('grouped', ['ridge', 'hgb_all'], 'descriptors')]
rows, t0 = [], time.time()
for protocol, models, fs in calls:
    for m in [m for m in models if MODELS[m].kind == 'baseline']:
        d, runs, _ = study_runs(df, study, protocol, m, fs)
        rows += [dict(protocol=protocol, inputs=fs, model=m, diff=x) for x in cold_diffs(d, runs, None)]
    print(f"{protocol:16s} {fs:11s} {time.time() - t0:6.0f} s", flush=True)
t = pd.DataFrame(rows)
print(t.groupby('model').agg(runs=('diff', 'size'), max_abs_diff=('diff', 'max'),
                             identical=('diff', lambda x: int((x == 0).sum()))).to_string())
print(f"{len(t)} baseline runs retrained cold in {time.time() - t0:.0f} s; {int((t['diff'] == 0).sum())} bit-identical, "
      f"max |cached - cold| = {t['diff'].max():.3g}")
