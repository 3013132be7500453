"""The corrected network against the 2-D network it replaced: accuracy over seeds and compute, in one run.

    python benchmarks/corrected_net.py [--seeds 0 1 2] [--threads 1] [--tasks energy popularity]

Both networks are trained by the same popnb.train code on the study's spectrograms (stand-in audio,
64-band log-mel of 5 s clips: 64 × 108) for two tasks:

- energy: the positive control of 07_interpretation — the audio-only network (mode 'audio') predicts
  a track's Spotify energy × 100 from its spectrogram, on fold 0 of the seed-0 artist-grouped folds,
  8 epochs, one run per network seed;
- popularity: the fusion network (mode 'fusion') under the artist-grouped protocol of 04_grouped_audit,
  5 folds per seed (the folds and the network drawn from the seed), at most 20 epochs with early stopping
  on an inner artist split.

It prints, per task and network, the held-out MAE and R² of each seed, their mean and standard deviation
over seeds, the seconds per training run, and the multiply-adds per clip; then the ratios against the
named baseline, `FusionCNN2d` (the network before this change, kept here only as that baseline).
"""
import argparse, time
from dataclasses import replace
import numpy as np, pandas as pd, torch
from torch import nn
from popnb.core import ParameterError
from popnb.data import load_paper_dataset, grouped_folds
from popnb.features import build_store
from popnb.protocols import study_mel
from popnb.models import FusionCNN, count_macs
from popnb.train import NetModel, CORRECTED_CONFIG
from popnb.evaluate import regression_metrics

def _conv_block2d(cin, cout, pool=True):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
                         *([nn.MaxPool2d(2, ceil_mode=True)] if pool else []))

class FusionCNN2d(FusionCNN):
    "The baseline: popnb's corrected network until 2026-12 — a 2-D stack (1 → 16 → 32 → 64 → 128 channels, 3 × 3) on the log-mel."
    def __init__(self, metadata_dim=13, mode='fusion', n_mels=64, channels=(16, 32, 64, 128), dropout=0.3, **kw):
        super().__init__(metadata_dim, mode, n_mels, dropout=dropout, fuse_dropout=0.0, **kw)
        if mode in ('fusion', 'audio'):
            self.spec_norm = nn.BatchNorm2d(1)
            cs = (1, *channels)
            self.conv = nn.Sequential(*[_conv_block2d(a, b, pool=i < len(channels)-1) for i, (a, b) in enumerate(zip(cs[:-1], cs[1:]))])
            self.audio_fc = nn.Sequential(nn.Dropout(dropout), nn.Linear(2*channels[-1], 64), nn.ReLU(inplace=True))
    def forward(self, spec, meta):
        parts = []
        if self.mode in ('fusion', 'audio'):
            x = self.conv(self.spec_norm(spec.float()))
            parts.append(self.audio_fc(torch.cat([x.mean((2, 3)), x.amax((2, 3))], 1)))
        if self.mode in ('fusion', 'meta'): parts.append(self.meta_fc(self._prep_meta(meta.float())))
        return self.head(torch.cat(parts, 1)).squeeze(-1) + self.out_shift

NETS = {'FusionCNN2d (baseline)': FusionCNN2d, 'FusionCNN': FusionCNN}
TASKS = {'energy': dict(mode='audio', epochs=8), 'popularity': dict(mode='fusion', epochs=20)}

def run(cls, task, seed, df, S):
    t = TASKS[task]
    if task == 'energy': folds, y = grouped_folds(df, k=5, seed=0)[:1], df.energy.to_numpy(float) * 100
    else: folds, y = grouped_folds(df, k=5, seed=seed), df.popularity.to_numpy(float)
    P = np.full(len(df), np.nan); t0 = time.perf_counter()
    for tr, te in folds:
        m = NetModel(lambda **kw: cls(mode=t['mode'], n_mels=S.shape[1]), replace(CORRECTED_CONFIG, seed=seed, epochs=t['epochs'], progress=False), cls.__name__, (40, 16))
        m.fit(df.iloc[tr], y[tr], S=S[tr]); P[te] = m.predict(df.iloc[te], S=S[te])
    ok = np.isfinite(P)
    return dict(**{k: v for k, v in regression_metrics(y[ok], P[ok]).items() if k in ('mae', 'r2')}, s_per_run=(time.perf_counter() - t0) / len(folds))

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--seeds', nargs='+', type=int, default=[0, 1, 2])
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--tasks', nargs='+', default=list(TASKS), choices=list(TASKS))
    a = ap.parse_args()
    if len(a.seeds) < 2: raise ParameterError("a seed spread needs at least two seeds", where='--seeds')
    torch.set_num_threads(a.threads)
    df = load_paper_dataset(); mel = study_mel(64, 5.0)
    st = build_store(df, audio_source='synthetic', params=mel, progress=False)
    S = st.get(df.track_key)
    print(f"torch {torch.__version__}, {a.threads} thread(s); stand-in audio, log-mel {mel.shape[0]} × {mel.shape[1]}; seeds {a.seeds}")
    macs = {n: count_macs(c(n_mels=mel.n_mels), mel.shape) for n, c in NETS.items()}
    rows = []
    for task in a.tasks:
        for seed in a.seeds:
            for name, cls in NETS.items():   # interleaved: a change in machine load hits both networks alike
                r = run(cls, task, seed, df, S); rows.append(dict(task=task, network=name, seed=seed, **r))
                print(f"  {task:10s} {name:24s} seed {seed}: MAE {r['mae']:.3f}  R² {r['r2']:.4f}  {r['s_per_run']:.1f} s per run", flush=True)
    d = pd.DataFrame(rows)
    s = d.groupby(['task', 'network'], sort=False).agg(mae=('mae', 'mean'), mae_sd=('mae', 'std'), r2=('r2', 'mean'), r2_sd=('r2', 'std'),
                                                        s_per_run=('s_per_run', 'mean')).reset_index()
    s['macs_per_clip'] = s.network.map(macs)
    print('\n' + s.to_string(index=False, float_format=lambda v: f'{v:.4g}'))
    base, new = list(NETS)
    for task, g in s.groupby('task', sort=False):
        b, n = g.set_index('network').loc[base], g.set_index('network').loc[new]
        print(f"\n{task}: FusionCNN vs the baseline — R² {n.r2 - b.r2:+.4f} (seed sd: baseline {b.r2_sd:.4f}, FusionCNN {n.r2_sd:.4f}); "
              f"MAE {n.mae - b.mae:+.3f} (seed sd {b.mae_sd:.3f}, {n.mae_sd:.3f}); {b.s_per_run / n.s_per_run:.1f}× faster per run; "
              f"{b.macs_per_clip / n.macs_per_clip:.0f}× fewer multiply-adds per clip")
