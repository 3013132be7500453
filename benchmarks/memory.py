"""Peak resident memory of the study's training as the number of seeds grows, in one run.

    python benchmarks/memory.py [--seeds 1 2 3] [--epochs 2]

Each count runs in a fresh process: `protocol_predictions` of the networks and baselines of Table 4 under the
artist-grouped protocol, on the study's spectrograms (stand-in audio, 64 × 108), with `--epochs` epochs and
a scratch project root (`POPNB_ROOT`: its own data, store and prediction cache, so nothing is read back
and the project's caches are untouched; the data come from `POPNB_DATA_MIRROR` or upstream). The baseline is the one-seed run; the ratio shows whether
memory grows with the seeds (it should not: runs are trained one after another and only their predictions kept).
"""
import argparse, json, os, subprocess, sys, tempfile

CHILD = r'''
import json, resource, sys
from popnb.data import load_paper_dataset
from popnb.protocols import study_mel
from popnb.runs import protocol_predictions, Study, Execution
seeds, epochs = json.loads(sys.argv[1]), int(sys.argv[2])
df = load_paper_dataset()
models = ['fusion_cnn', 'fusion_audio', 'fusion_meta', 'paper_cnn', 'mean', 'ridge', 'hgb_all']
r = protocol_predictions(df, models, 'grouped', Study('synthetic', 64, 5.0, epochs, tuple(seeds), 5), how=Execution(progress=False))
print(json.dumps(dict(rows=len(r), peak_mib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)))
'''

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--seeds', nargs='+', type=int, default=[1, 2, 3])
    ap.add_argument('--epochs', type=int, default=2)
    a = ap.parse_args()
    out = {}
    for n in a.seeds:
        with tempfile.TemporaryDirectory() as d:
            p = subprocess.run([sys.executable, '-c', CHILD, json.dumps(list(range(n))), str(a.epochs), d], capture_output=True, text=True,
                               env={**os.environ, 'POPNB_ROOT': d})
            if p.returncode: sys.exit(p.stderr[-2000:])
            out[n] = json.loads(p.stdout.strip().splitlines()[-1])
            print(f"{n} seed(s): {out[n]['rows']:,} prediction rows, peak RSS {out[n]['peak_mib']:.0f} MiB", flush=True)
    base = out[min(out)]['peak_mib']
    for n, r in out.items(): print(f"  {n} seed(s) / {min(out)} seed(s): {r['peak_mib'] / base:.3f}")
