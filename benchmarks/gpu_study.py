"""The full-resolution study (params/gpu.yaml) on a part that fits a few minutes, stage by stage, with a projected total (issue 32).

    python benchmarks/gpu_study.py --params params/gpu.yaml --budget 240 --out OUT/study.json [--quick]

What 04_grouped_audit's long cell runs (`protocol_predictions` of Table 4's models under the grouped and the paper
protocol), with 04's parameters under `--params` (`popnb.runner.notebook_values`: 128 × 1,292 log-mel, 25 epochs, 5 folds,
10 seeds in params/gpu.yaml), in stages, each timed, each in a child process of its own (so that a stage past the
budget is killed and the stages before it are kept):

1. `stores`: the tracks, the study's log-mel store (`build_store`: the workers render the stand-in audio, the
   spectrograms are made on the GPU by `melspec_torch`) and PaperCNN's 40 × 8 store;
2. `grouped, seed 0`: each of the four networks (the corrected network, audio-only, metadata-only, PaperCNN) on the
   first seed's 5 folds: on CUDA each network's runs train as one stacked model (`popnb.ensembles`, 5 members);
3. `grouped, every seed`: the corrected network on all of the study's seeds at once, retrained (10 seeds: 50 members
   in one stack, the size the study trains): its time, its peak GPU memory, and, when it is killed at the budget,
   how many epochs each member had reached (from its checkpoint) and the projected time;
4. `paper, seed 0`: the four networks under the paper protocol (one 80/20 split a seed);
5. `baselines, seed 0`: the grouped protocol's other models (CPU: ridge, gradient boosting, SVR, ...).

Each network stage records seconds, runs, members stacked, epochs trained (mean per run) and peak GPU memory. The
projection of 04's training at every seed: a stage measured at all seeds counts as measured; a seed-0 stage is scaled by
the ratio the corrected network showed between its seed-0 stack and its every-seed stack (linear in the seeds, an upper
bound, when that stage did not finish); the notebook's scoring, bootstraps and figures are not in it.
`--quick`: the CPU dry run (120 tracks, 16 × 86 log-mel, 2 epochs, 3 folds, seeds 0 and 1, stacked on the CPU).
"""
import argparse, json, os, signal, subprocess, sys, time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
STAGES = ('stores', 'grouped_seed0', 'grouped_all_seeds', 'paper_seed0', 'baselines_seed0')

def study(params, quick, epochs=None):
    "04's parameters under `params` (quick: shrunk for the CPU dry run; `epochs`: another maximum)."
    from popnb.runner import notebook_values
    v = notebook_values(REPO/'nbs'/'paper'/'04_grouped_audit.ipynb', params)
    if quick: v.update(n_mels=16, clip_seconds=2.0, epochs=2, k=3, seeds=[0, 1], rows=120)
    if epochs: v['epochs'] = epochs
    return v

def tracks(v):
    from popnb.data import load_dataset
    df = load_dataset(v['dataset'])
    if v.get('rows'): df = df[df.artist.isin(df.artist.drop_duplicates().sample(40, random_state=0))].head(v['rows']).reset_index(drop=True)
    return df

def _peak():
    import torch
    if not torch.cuda.is_available(): return None
    p = torch.cuda.max_memory_allocated() / 2**30; torch.cuda.reset_peak_memory_stats(); return round(p, 2)

def _runs_info(r):
    h = r.attrs.get('history')
    ep = h.groupby(['seed', 'fold']).epoch.max().mean() if h is not None and len(h) else None
    return dict(runs=int(r.groupby(['seed', 'fold']).ngroups), mean_epochs=None if ep is None else round(float(ep), 2))

def child(stage, a, log):
    "Run one stage here, appending a JSON line per step to `log`."
    import torch
    from popnb.features import build_store, study_mel
    from popnb.protocols import model_inputs
    from popnb.runs import protocol_predictions, stacks, Study, Execution
    from popnb.train import NETWORKS, STUDY_MODELS
    v = study(a.params, a.quick, a.epochs)
    mel = study_mel(v['n_mels'], v['clip_seconds'])
    dev = 'cuda' if torch.cuda.is_available() and not a.quick else 'cpu'
    nj = os.cpu_count() or 1
    def put(**rec):
        rec.update(stage=stage, device=dev, peak_gpu_gib=_peak())
        with open(log, 'a') as f: f.write(json.dumps(rec, default=str) + '\n')
        print(json.dumps(rec, default=str), flush=True)
    t = time.perf_counter(); df = tracks(v)
    if stage == 'stores':
        put(step='load tracks', seconds=round(time.perf_counter() - t, 2), tracks=len(df))
        for p in [mel, model_inputs('paper_cnn', mel)]:
            t = time.perf_counter(); st = build_store(df, v['audio_source'], p, n_jobs=nj, progress=False)
            put(step=f"store {p.shape[0]}×{p.shape[1]}", seconds=round(time.perf_counter() - t, 2), extractor=st.meta.get('extractor'),
                n_ok=st.meta.get('n_ok'), gib=round(st.X.nbytes / 2**30, 3))
        return
    proto = 'paper' if stage == 'paper_seed0' else 'grouped'
    seeds = v['seeds'] if stage == 'grouped_all_seeds' else v['seeds'][:1]
    models = (['fusion_cnn'] if stage == 'grouped_all_seeds' else [m for m in STUDY_MODELS if m not in NETWORKS] if stage == 'baselines_seed0'
              else list(NETWORKS))
    for m in models:
        t = time.perf_counter()
        st = Study(v['audio_source'], mel.n_mels, mel.seconds, v['epochs'], tuple(seeds), v['k'])
        r = protocol_predictions(df, [m], proto, st, how=Execution(refresh=stage == 'grouped_all_seeds', progress=False, stacked=True))
        put(step=f"{proto} {m}", model=m, protocol=proto, seeds=len(seeds), seconds=round(time.perf_counter() - t, 2),
            stacked=stacks(m) and m in NETWORKS, **_runs_info(r))

def checkpoint_progress(root, since):
    "Epochs reached by each member checkpoint written after `since` (a stage killed mid-way)."
    import torch
    eps = []
    for f in sorted((Path(root)/'data'/'interim'/'checkpoints').glob('*/member.pt')):
        if f.stat().st_mtime < since: continue
        try: eps.append(int(torch.load(f, map_location='cpu', weights_only=True)['epoch']))
        except Exception: pass
    return eps

def parent(a):
    from popnb.core import paths
    v = study(a.params, a.quick, a.epochs)
    out = Path(a.out); out.parent.mkdir(parents=True, exist_ok=True)
    log = out.with_suffix(".stages.jsonl"); log.unlink(missing_ok=True)
    res = dict(params=str(a.params), quick=a.quick, budget_s=a.budget, study={k: v[k] for k in ('n_mels', 'clip_seconds', 'epochs', 'seeds', 'k', 'audio_source')},
               root=str(paths().root), stages={})
    save = lambda: out.write_text(json.dumps(res, indent=1, default=str))
    t0 = time.perf_counter()
    for stage in a.stages:
        left = a.budget - (time.perf_counter() - t0)
        if left < 5: res['stages'][stage] = dict(status='not started: budget spent'); save(); continue
        ts, since = time.perf_counter(), time.time()
        p = subprocess.Popen([sys.executable, __file__, '--child', stage, '--log', str(log), '--params', str(a.params)] + (['--quick'] if a.quick else [])
                             + (['--epochs', str(a.epochs)] if a.epochs else []),
                             start_new_session=True)
        try: rc = p.wait(timeout=left); status = 'done' if rc == 0 else f'failed (exit {rc})'
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL); p.wait(); status = f'killed at the budget after {left:.0f} s'
        rec = dict(status=status, seconds=round(time.perf_counter() - ts, 1))
        if status.startswith('killed') and stage != 'stores':
            eps = checkpoint_progress(paths().root, since)
            rec.update(member_epochs=eps)
            if eps and stage == 'grouped_all_seeds':
                done = sum(eps) / len(eps)   # mean epochs reached; early stopping makes the full run shorter than this says
                rec['projected_s'] = round(rec['seconds'] * v['epochs'] / max(done, 0.5), 0)
        res['stages'][stage] = rec; save()
        print(f"== {stage}: {status} ({rec['seconds']} s)", flush=True)
    steps = [json.loads(l) for l in open(log)] if log.exists() else []
    res['steps'] = steps
    res['projection'] = project(steps, res['stages'], v); res['wall_s'] = round(time.perf_counter() - t0, 1)
    save(); table(res)

def project(steps, stages, v):
    "04's training at every seed, from the steps measured."
    n = len(v['seeds'])
    one = {(s['protocol'], s['model']): s['seconds'] for s in steps if s.get('model') and s.get('seeds') == 1}
    full = {(s['protocol'], s['model']): s['seconds'] for s in steps if s.get('model') and s.get('seeds') == n and n > 1}
    ref, proj = one.get(('grouped', 'fusion_cnn')), stages.get('grouped_all_seeds', {}).get('projected_s')
    killed = ('grouped', 'fusion_cnn') not in full and bool(proj) and n > 1
    if killed: full[('grouped', 'fusion_cnn')] = proj   # the every-seed stack killed at the budget: its projected time
    if ('grouped', 'fusion_cnn') in full and ref:
        scale, how = full[('grouped', 'fusion_cnn')] / ref, ('projected from the killed every-seed stage' if killed else 'measured') + ': the corrected network, every seed / seed 0'
    else: scale, how = n, 'linear in the seeds (an upper bound for stacked networks)'
    rows, total, missing = [], 0.0, []
    for proto, m in sorted(set(one) | set(full)):
        net, s = m in ('fusion_cnn', 'fusion_audio', 'fusion_meta', 'paper_cnn'), one.get((proto, m))
        if (proto, m) in full: est, src = full[(proto, m)], 'projected (killed at the budget)' if killed and (proto, m) == ('grouped', 'fusion_cnn') else 'measured'
        else: est, src = s * (scale if net else n), ('× ' + f'{scale:.2f}' if net else f'× {n} (CPU, linear)')
        rows.append(dict(protocol=proto, model=m, seed0_s=s, every_seed_s=round(est, 1), how=src)); total += est
    for proto, ms in (('grouped', 'all'), ('paper', 'networks')):
        if not any(r['protocol'] == proto for r in rows): missing.append(f'{proto} ({ms})')
    return dict(seeds=n, scale=round(scale, 3), scale_from=how, rows=rows, training_total_s=round(total, 1), not_measured=missing)

def table(res):
    print('\nstage table (seconds, this machine)')
    print(f"{'stage':22s} {'step':34s} {'seconds':>8s} {'runs':>5s} {'epochs':>6s} {'GPU GiB':>7s}")
    for s in res['steps']:
        print(f"{s['stage']:22s} {s['step']:34s} {s['seconds']:8.1f} {str(s.get('runs', '')):>5s} {str(s.get('mean_epochs', '')):>6s} {str(s.get('peak_gpu_gib', '')):>7s}")
    for k, st in res['stages'].items(): print(f"  {k}: {st['status']}" + (f", {st['seconds']} s" if 'seconds' in st else '') +
                                           (f", projected {st['projected_s']} s" if 'projected_s' in st else ''))
    p = res['projection']
    print(f"\nprojected training of 04 at {p['seeds']} seeds: {p['training_total_s']:.0f} s (networks scaled by {p['scale']}: {p['scale_from']})"
          + (f"; not measured: {', '.join(p['not_measured'])}" if p['not_measured'] else ''))

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--params', default=str(REPO/'params'/'gpu.yaml'))
    ap.add_argument('--budget', type=float, default=240, help='seconds for all stages; the stage running at the end is killed')
    ap.add_argument('--stages', nargs='+', default=list(STAGES), choices=STAGES)
    ap.add_argument('--out', default='study.json')
    ap.add_argument('--quick', action='store_true', help='the CPU dry run: tiny sizes')
    ap.add_argument('--epochs', type=int, default=None, help="another maximum of epochs than the study's (not the study then)")
    ap.add_argument('--child', default=None, help=argparse.SUPPRESS); ap.add_argument('--log', default=None, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child: child(a.child, a, a.log)
    else: parent(a)

if __name__ == '__main__': main()
