"""Stacked ensemble training (popnb.ensembles.StackedNets) against the same members trained one at a time (popnb.train.NetModel).

    python benchmarks/ensemble.py [--members 3 10] [--rows 256] [--epochs 1] [--rounds 2] [--threads 2] [--mode fusion] [--device cpu]
                                  [--n-mels 64] [--seconds 5.0]

At the study's input (popnb.features.study_mel(64, 5.0): 64 mels × 108 frames; `--n-mels 128 --seconds 30`: the
full-resolution 128 × 1,292 of params/gpu.yaml) and the corrected training
(popnb.train.CORRECTED_CONFIG: batch 64, AdamW, Huber, clipping; no validation, so every epoch is trained), for each
number of members S it fits S seeds on `--rows` random rows one after another with NetModel (the named baseline), then
all S at once with StackedNets, round after round (interleaved, so that machine load affects both alike). It prints
samples/s (S × rows × epochs per second of the fastest round of each) by wall clock and by the process's CPU time
(threads × seconds: steadier on a machine shared with other work, whose load the wall clock feels), and the ratios
stacked / one at a time, with the CPU model and the load average.
"""
import argparse, os, platform, subprocess, time
from dataclasses import replace
import numpy as np, pandas as pd, torch
from popnb.data import META_COLS
from popnb.features import study_mel
from popnb.models import FusionCNN
from popnb.train import CORRECTED_CONFIG, NetModel
from popnb.ensembles import StackedNets

def cpu_model():
    try: return next(l.split(':', 1)[1].strip() for l in subprocess.run(['lscpu'], capture_output=True, text=True).stdout.splitlines() if l.startswith('Model name'))
    except Exception: return platform.processor() or 'unknown'

def table(n, shape, seed=0):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.random((n, len(META_COLS))) * 50, columns=META_COLS).assign(artist=[f'a{i % 50}' for i in range(n)])
    return X, (rng.random(n) * 100).astype(np.float32), rng.normal(size=(n, *shape)).astype(np.float16)

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--members', type=int, nargs='+', default=[3, 10]); ap.add_argument('--rows', type=int, default=256)
    ap.add_argument('--epochs', type=int, default=1); ap.add_argument('--rounds', type=int, default=2)
    ap.add_argument('--threads', type=int, default=2); ap.add_argument('--mode', default='fusion', choices=FusionCNN.modes)
    ap.add_argument('--device', default='cpu')
    ap.add_argument('--n-mels', type=int, default=64); ap.add_argument('--seconds', type=float, default=5.0)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    shape = study_mel(a.n_mels, a.seconds).shape
    cfg = replace(CORRECTED_CONFIG, epochs=a.epochs, val='none', progress=False, device=a.device)
    build = lambda **kw: FusionCNN(mode=a.mode, **kw)
    X, y, S = table(a.rows, shape)
    print(f"CPU: {cpu_model()}; {a.threads} threads; load average at start {os.getloadavg()[0]:.2f}; torch {torch.__version__}")
    print(f"FusionCNN mode={a.mode}, input {shape[0]} × {shape[1]}, batch {cfg.batch_size}, {a.rows} rows, {a.epochs} epoch(s), device {a.device}")
    StackedNets(build, replace(cfg, epochs=1)).fit(X[:64], y[:64], S[:64], [(0, None), (1, None)])   # warm-up
    NetModel(build, replace(cfg, epochs=1)).fit(X[:64], y[:64], S[:64])
    rows = []
    for n in a.members:
        paths = {'one at a time': lambda: [NetModel(build, replace(cfg, seed=s)).fit(X, y, S) for s in range(n)],
                 'stacked': lambda: StackedNets(build, cfg).fit(X, y, S, [(s, None) for s in range(n)])}
        wall, cpu = {k: [] for k in paths}, {k: [] for k in paths}
        for r in range(a.rounds):
            for k, f in paths.items():
                t, c = time.perf_counter(), time.process_time(); f()
                if a.device.startswith('cuda'): torch.cuda.synchronize()
                wall[k].append(time.perf_counter() - t); cpu[k].append(time.process_time() - c)
        sps = lambda ts: n * a.rows * a.epochs / min(ts)   # the fastest round: the least disturbed by other load
        rows.append(dict(members=n, **{f'{k} (wall)': round(sps(wall[k]), 1) for k in paths}, ratio_wall=round(sps(wall['stacked']) / sps(wall['one at a time']), 2),
                         **{f'{k} (CPU time)': round(sps(cpu[k]), 1) for k in paths}, ratio_cpu=round(sps(cpu['stacked']) / sps(cpu['one at a time']), 2)))
        print(rows[-1], flush=True)
    print(pd.DataFrame(rows).to_string(index=False))
    print(f"load average at end {os.getloadavg()[0]:.2f}")

if __name__ == '__main__': main()
