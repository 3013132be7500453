"""The CUDA checks of benchmarks/gpu_check.sh (issue 32): each prints its figures and adds them to one JSON file.

    python benchmarks/gpu_tests.py --device cuda --out OUT/tests.json [--only stacked melspec bundle] [--quick]

- `stacked`: 05c_ensembles' test on `--device`: three members with different seeds and rows (smoke table, 120 rows,
  16 × 24 spectrograms), trained as one stack of 3 and each as a stack of 1, in the corrected network's three modes,
  patience 1 (members stop at different epochs). Three precisions: float32 with TF32 off and cuDNN deterministic (the
  notebook's tolerances must hold: weights < 1e-5, predictions and validation MAE < 1e-4), float32 as torch runs by
  default (TF32 convolutions on Ampere and later), and float16 autocast with per-member loss scaling (TrainConfig.amp:
  what the study runs). For the last two the noise floor is printed beside: the first member trained alone twice. Those
  two pass when every member trains the same epochs and steps as alone and its predictions are within
  `--fp16-tol` popularity points (a judgement, not the notebook's tolerance).
- `melspec`: `melspec_torch` on the device against numpy's `melspec` on four 30 s stand-in clips at the study's
  full-resolution log-mel (128 × 1,292): at most one float16 step apart, as 03_features tests on the CPU.
- `bundle`: `popnb train` on the device (fusion_cnn, synthetic audio, `--rows`, 2 epochs) writes a predictor bundle; a
  process that sees no GPU (CUDA_VISIBLE_DEVICES='') loads it and predicts a WAV with `popnb predict --device cpu`,
  and its raw predictions for 64 stored rows equal the device's within `--bundle-tol` points.
"""
import argparse, json, math, os, subprocess, sys, tempfile, time, traceback
from dataclasses import replace
from pathlib import Path
import numpy as np, pandas as pd, torch

ROOT = Path(__file__).resolve().parents[1]

def _save(out, res):
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(json.dumps(res, indent=1, default=float))

def _smoke(n=120, n_mels=16, frames=24, seed=0):
    "05c_ensembles' smoke table."
    from popnb.data import META_COLS
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.random((n, len(META_COLS))) * 50, columns=META_COLS).assign(artist=[f'a{i % 40}' for i in range(n)])
    S = rng.normal(size=(n, n_mels, frames)).astype(np.float16)
    y = (X[META_COLS[-2]].to_numpy() + 10 * S[:, :4].mean((1, 2)) + rng.normal(0, 3, n)).astype(np.float32)
    return X, y, S

def _diff(a, b, X, S, i=0, j=0):
    "Member i of stack a against member j of stack b: epochs, steps and the largest weight, prediction and val-MAE differences."
    wa, wb = a.nets_[i].state_dict(), b.nets_[j].state_dict()
    w = max((v.float() - wb[k].float()).abs().max().item() for k, v in wa.items() if v.is_floating_point())
    p = float(np.abs(a.predict(X, S)[i] - b.predict(X, S)[j]).max())
    ha, hb = a.history_[i], b.history_[j]
    same_ep = ha.epoch.tolist() == hb.epoch.tolist()
    vm = float(np.abs(ha.val_mae.to_numpy() - hb.val_mae.to_numpy()).max()) if same_ep else float('nan')
    return dict(epochs=len(ha), epochs_alone=len(hb), same_epochs=same_ep, same_steps=a.steps_[i] == b.steps_[j],
                weights=w, predictions=p, val_mae=vm)

def check_stacked(dev, quick, fp16_tol):
    from popnb.data import META_COLS
    from popnb.models import FusionCNN
    from popnb.train import CORRECTED_CONFIG
    from popnb.ensembles import StackedNets
    X, y, S = _smoke()
    folds = [np.flatnonzero(X.artist.str[1:].astype(int) % 4 != f) for f in range(3)]
    folds[2] = folds[2][:70]
    members = [(s, f) for s, f in zip((0, 1, 2), folds)]
    base = replace(CORRECTED_CONFIG, epochs=5, batch_size=16, lr=3e-3, patience=1, progress=False, device=dev)
    build = lambda mode: (lambda **kw: FusionCNN(mode=mode, channels=(8, 16), meta_hidden=16, **kw))
    cuda = dev.startswith('cuda')
    # (name, config, TF32 and determinism flags); on a CPU amp is inert, so only the exact case runs there
    cases = [('float32, TF32 off, deterministic', replace(base, amp=False), False, True)]
    if cuda: cases += [('float32, torch defaults', replace(base, amp=False), None, None), ('float16 autocast (amp)', replace(base, amp=True), None, None)]
    modes = ('fusion',) if quick else FusionCNN.modes
    out = {}
    for name, cfg, tf32, det in cases:
        saved = (torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark)
        try:
            if tf32 is not None: torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = tf32
            if det is not None: torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = det, False
            t0 = time.perf_counter(); rows = []
            for mode in modes:
                stack = StackedNets(build(mode), cfg).fit(X, y, S, members)
                alone = [StackedNets(build(mode), cfg).fit(X, y, S, [mb]) for mb in members]
                for i, a in enumerate(alone): rows.append(dict(mode=mode, member=i, **_diff(stack, a, X, S, i, 0)))
                again = StackedNets(build(mode), cfg).fit(X, y, S, [members[0]])   # the noise floor: alone, twice
                rows.append(dict(mode=mode, member='alone twice', **_diff(again, alone[0], X, S)))
            d = pd.DataFrame(rows); m = d[d.member != 'alone twice']; floor = d[d.member == 'alone twice']
            same = bool(m.same_epochs.all() and m.same_steps.all())
            if det: ok = same and m.weights.max() < 1e-5 and m.predictions.max() < 1e-4 and m.val_mae.max() < 1e-4
            else: ok = same and m.predictions.max() < fp16_tol
            early = bool((m.epochs < cfg.epochs).any() and (m.epochs == cfg.epochs).any())
            out[name] = dict(ok=bool(ok), seconds=round(time.perf_counter() - t0, 2), same_epochs_and_steps=same,
                             early_and_full_members=early, max_weights=float(m.weights.max()), max_predictions=float(m.predictions.max()),
                             max_val_mae=float(m.val_mae.max()), floor_predictions=float(floor.predictions.max()),
                             floor_weights=float(floor.weights.max()), rows=d.to_dict('records'))
            print(f"stacked vs alone, {name}: {'ok' if ok else 'FAILED'}; same epochs and steps {same}; largest difference weights "
                  f"{m.weights.max():.1e}, predictions {m.predictions.max():.1e}, val MAE {m.val_mae.max():.1e} popularity points; "
                  f"alone twice: predictions {floor.predictions.max():.1e} ({out[name]['seconds']} s)", flush=True)
            print(d.to_string(index=False), flush=True)
        finally:
            (torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark) = saved
    return dict(ok=all(v['ok'] for v in out.values()), cases=out)

def check_melspec(dev, quick):
    from popnb.audio import synthesize_clip
    from popnb.data import load_dataset
    from popnb.features import melspec, melspec_torch, study_mel, _synth_features
    p = study_mel(16, 2.0) if quick else study_mel(128, 30.0)
    df = load_dataset('updated').head(4)
    Y = np.stack([synthesize_clip(_synth_features(r), seconds=p.length / p.sr, sr=p.sr, seed=0)[:p.length] for r in df.to_dict('records')])
    t = time.perf_counter(); ref = np.stack([melspec(c, p) for c in Y]); t_np = time.perf_counter() - t
    melspec_torch(Y[:1], p, dev)   # warm-up (cuFFT plans)
    t = time.perf_counter(); got = melspec_torch(Y, p, dev); t_dev = time.perf_counter() - t
    a, b = ref.astype(np.float16).astype(np.float32), got.astype(np.float16).astype(np.float32)
    step = np.spacing(np.maximum(np.abs(ref.astype(np.float16)), np.float16(1))).astype(np.float32)
    ok = bool((np.abs(a - b) <= step).all())
    r = dict(ok=ok, shape=list(got.shape), max_abs_db=float(np.abs(ref - got).max()), max_abs_db_float16=float(np.abs(a - b).max()),
             ms_per_clip_numpy=round(1e3 * t_np / len(Y), 2), ms_per_clip_device=round(1e3 * t_dev / len(Y), 2))
    print(f"melspec_torch on {dev} vs numpy melspec, {p.shape[0]} × {p.shape[1]}: {'ok' if ok else 'FAILED'}; largest difference "
          f"{r['max_abs_db']:.2e} dB ({r['max_abs_db_float16']:.2e} dB as float16); {r['ms_per_clip_device']} ms a clip on {dev}, "
          f"{r['ms_per_clip_numpy']} ms with numpy", flush=True)
    return r

def _popnb(args, env=None, timeout=600):
    r = subprocess.run([sys.executable, '-m', 'popnb.cli', *args], capture_output=True, text=True, env=env, timeout=timeout)
    if r.returncode != 0: raise RuntimeError(f"popnb {' '.join(args)}: exit {r.returncode}\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}")
    return r

def check_bundle(dev, quick, rows, n_jobs, tol, workdir):
    import soundfile as sf
    from popnb.audio import synthesize_clip
    from popnb.data import load_dataset
    from popnb.features import _synth_features
    wd = Path(workdir); wd.mkdir(parents=True, exist_ok=True)
    bundle, wav = wd/'fusion_cnn_trained_on_device.pt', wd/'clip.wav'
    size = ['--n-mels', '16', '--seconds', '2'] if quick else []   # the default: the 30 s, 128-band log-mel
    t = time.perf_counter()
    r = _popnb(['train', '--model', 'fusion_cnn', '--audio-source', 'synthetic', '--rows', str(rows), '--epochs', '2',
                '--device', dev, '--n-jobs', str(n_jobs), '--out', str(bundle), *size])
    t_train = time.perf_counter() - t
    print(r.stdout.strip(), flush=True)
    row = load_dataset('updated').iloc[0].to_dict()
    sf.write(wav, synthesize_clip(_synth_features(row), seconds=30.0, sr=22050, seed=0), 22050)
    # a process that sees no GPU: the bundle's CUDA training leaves nothing that needs one
    cpu_env = {**os.environ, 'CUDA_VISIBLE_DEVICES': '', 'POPNB_DEVICE': 'cpu'}
    ask = [str(wav), '--model', str(bundle), '--artist-popularity', '60', '--artist-followers', '50000', '--fill-missing', '--format', 'json', '-q']
    on_cpu = json.loads(_popnb(['predict', *ask, '--device', 'cpu'], cpu_env).stdout)
    on_dev = json.loads(_popnb(['predict', *ask, '--device', dev]).stdout)
    # raw predictions of 64 random rows: the bundle on the device against it in a CPU-only process
    code = ("import sys, json, numpy as np; from popnb.train import load_predictor; pr = load_predictor(sys.argv[1], device=sys.argv[2]);"
            "rng = np.random.default_rng(0); M = rng.random((64, 13)).astype(np.float32) * 50; S = rng.normal(size=(64, *pr.spec_shape)).astype(np.float32) * 20 - 40;"
            "print(json.dumps(dict(device=str(next(pr.net.parameters()).device), cuda=__import__('torch').cuda.is_available(), p=pr.predict(M, S).tolist())))")
    raw = {d: json.loads(subprocess.run([sys.executable, '-c', code, str(bundle), d], capture_output=True, text=True, check=True,
                                        env=cpu_env if d == 'cpu' else None).stdout.strip().splitlines()[-1]) for d in ('cpu', dev)}
    diff = float(np.abs(np.array(raw['cpu']['p']) - np.array(raw[dev]['p'])).max())
    pc, pd_ = on_cpu[0]['popularity'], on_dev[0]['popularity']
    ok = bool(on_cpu[0]['status'] == 'ok' and not raw['cpu']['cuda'] and raw['cpu']['device'] == 'cpu' and diff < tol
              and abs(pc - pd_) < tol)
    res = dict(ok=ok, train_seconds=round(t_train, 1), rows=rows, predict_cpu=pc, predict_device=pd_, raw_max_diff=diff,
               cpu_process_saw_cuda=raw['cpu']['cuda'], bundle_bytes=bundle.stat().st_size)
    print(f"bundle trained on {dev} ({t_train:.1f} s), predicted in a process without a GPU: {'ok' if ok else 'FAILED'}; "
          f"popnb predict gives {pc} on cpu and {pd_} on {dev}; raw predictions of 64 rows differ by at most {diff:.2e}", flush=True)
    return res

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    ap.add_argument('--out', default=None, help='JSON file of the results')
    ap.add_argument('--only', nargs='+', default=['stacked', 'melspec', 'bundle'], choices=['stacked', 'melspec', 'bundle'])
    ap.add_argument('--quick', action='store_true', help='tiny sizes (the CPU dry run): fusion mode only, 16-band 2 s log-mel')
    ap.add_argument('--rows', type=int, default=200, help='tracks the bundle is trained on')
    ap.add_argument('--n-jobs', type=int, default=os.cpu_count() or 1, help='processes rendering its stand-in audio')
    ap.add_argument('--fp16-tol', type=float, default=0.5, help='popularity points a stacked member may differ from alone (float16, TF32)')
    ap.add_argument('--bundle-tol', type=float, default=0.05, help='popularity points the bundle on the device may differ from on a CPU')
    ap.add_argument('--workdir', default=None, help='where the bundle and the WAV go (a temporary folder by default)')
    a = ap.parse_args()
    res = dict(device=a.device, torch=torch.__version__, cuda=torch.version.cuda,
               gpu=torch.cuda.get_device_name(0) if a.device.startswith('cuda') else None)
    print(f"torch {torch.__version__} (CUDA {torch.version.cuda}); device {a.device}" + (f": {res['gpu']}" if res['gpu'] else ''), flush=True)
    wd = a.workdir or tempfile.mkdtemp(prefix='gpu_tests_')
    for name in a.only:
        try:
            res[name] = dict(stacked=lambda: check_stacked(a.device, a.quick, a.fp16_tol), melspec=lambda: check_melspec(a.device, a.quick),
                             bundle=lambda: check_bundle(a.device, a.quick, a.rows, a.n_jobs, a.bundle_tol, wd))[name]()
        except Exception as e:
            traceback.print_exc(); res[name] = dict(ok=False, error=f"{type(e).__name__}: {e}"[:4000])
            print(f"{name}: FAILED with {type(e).__name__}", flush=True)
        _save(a.out, res)
    res['ok'] = all(res[n].get('ok') for n in a.only); _save(a.out, res)
    print(f"gpu_tests: {'all ok' if res['ok'] else 'FAILURES: ' + ', '.join(n for n in a.only if not res[n].get('ok'))}")
    return 0 if res['ok'] else 1

if __name__ == '__main__': sys.exit(main())
