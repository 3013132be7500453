"""Cold rebuild of networks' runs of the study (Table 4's grouped protocol by default): each one retrained from scratch under
the current code (two runs side by side, one thread each, as `make reproduce` trains them) and compared with the cache.

    python benchmarks/rekey/cold_networks.py [--protocol grouped] [MODEL ...]   (fusion_cnn fusion_meta paper_cnn by default)
"""
import sys, time
import pandas as pd
from popnb.data import load_dataset
from popnb.runs import Study
from common import study_runs, cold_diffs

args = sys.argv[1:]
protocol = args[args.index('--protocol') + 1] if '--protocol' in args else 'grouped'
models = [a for i, a in enumerate(args) if not a.startswith('--') and (i == 0 or args[i - 1] != '--protocol')]
df = load_dataset('updated'); study = Study(); rows, t0 = [], time.time()
for m in models or ['fusion_cnn', 'fusion_meta', 'paper_cnn']:
    d, runs, spec = study_runs(df, study, protocol, m)
    rows += [dict(model=m, diff=x) for x in cold_diffs(d, runs, spec)]
    print(f"{protocol} {m:12s} {len(runs)} runs, {time.time() - t0:6.0f} s", flush=True)
t = pd.DataFrame(rows)
print(t.groupby('model').agg(runs=('diff', 'size'), max_abs_diff=('diff', 'max'),
                             identical=('diff', lambda x: int((x == 0).sum()))).to_string())
print(f"{len(t)} network runs retrained cold in {time.time() - t0:.0f} s; {int((t['diff'] == 0).sum())} bit-identical, "
      f"max |cached - cold| = {t['diff'].max():.3g}")
