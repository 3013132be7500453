"""Training-step throughput of PaperCNN and FusionCNN, float32 against bfloat16 autocast, and the share of step time spent loading data.

    python benchmarks/train.py [--devices cpu cuda] [--batches 32 64 128] [--steps 20] [--threads 2] [--profile]
    python benchmarks/train.py --compare --threads 2 --steps 60 --rounds 3

For each network, input, device, batch size and precision it times `steps` training steps (after 3 warm-up
steps) with the code path of popnb.train: popnb.train.Batches gathers float16 rows of an in-memory
N × n_mels × frames array and converts them per batch; forward and loss under popnb.train's autocast
(float16 on CUDA with gradient scaling; bfloat16 on a CPU when asked, `TrainConfig.cpu_bf16`), backward,
then the optimiser step popnb.train uses (fused Adam/AdamW). Prints one row per case, then the ratios
against the named baselines in this run:

- batch 128 against batch 32 of the same network (larger batches should not be slower per sample);
- bfloat16 against float32 of the same case (AVX-512 BF16 / AMX CPUs, and CUDA's float16);
- FusionCNN against FusionCNN2d, the 2-D network it replaced (benchmarks/corrected_net.py);
- PaperCNN with the fused Adam step against the loop of per-parameter kernels it had before.

`--compare` times today's way of training against the new one, interleaved round by round in one run, at the
study's inputs (PaperCNN 40 × 8 at batch 32, FusionCNN 64 × 108 at batch 64), on `--threads` cores:
- before (the named baseline): one run at a time with every core as a torch thread, the network in contiguous memory;
- after: one run per core in forked processes with one thread each (popnb.train.train_jobs/map_jobs), PaperCNN in
  channels-last memory format (popnb.train._to_device); the figure is the processes' summed samples/s while they run side by side.

`--profile` adds torch.profiler's most expensive operators for FusionCNN2d at batches 32 and 128: the
reason its larger batches were slower.
"""
import argparse, contextlib, sys, time
from dataclasses import replace
from pathlib import Path
import numpy as np, torch
from torch import nn
from popnb.models import PaperCNN, FusionCNN
from popnb.train import Batches, CORRECTED_CONFIG, PAPER_CONFIG, autocast_for
sys.path.insert(0, str(Path(__file__).parent))
from corrected_net import FusionCNN2d

def sync(dev):
    if dev.startswith('cuda'): torch.cuda.synchronize()

def bench(build, shape, cfg, dev, bs, steps, fused=True, n=1024):
    rng = np.random.default_rng(0)
    spec = rng.random((n, *shape), dtype=np.float32).astype(np.float16)
    meta = rng.random((n, 13), dtype=np.float32); y = rng.random(n, dtype=np.float32) * 100
    b = Batches(meta, spec, y, dev)
    torch.manual_seed(0); net = build().to(dev)
    Opt = torch.optim.AdamW if cfg.optimizer == 'adamw' else torch.optim.Adam
    opt = Opt(net.parameters(), 1e-3, fused=fused, foreach=None if fused else False)
    scaler = torch.amp.GradScaler('cuda', enabled=cfg.amp and dev.startswith('cuda'))
    load = total = 0.0
    for i in range(steps + 3):
        idx = rng.integers(0, n, bs)
        sync(dev); t0 = time.perf_counter()
        s, m, yb = b.get(idx); sync(dev); t1 = time.perf_counter()
        with autocast_for(cfg, dev): p = net(s, m)
        loss = nn.functional.mse_loss(p.float(), yb)
        opt.zero_grad(set_to_none=True); scaler.scale(loss).backward(); scaler.step(opt); scaler.update()
        sync(dev); t2 = time.perf_counter()
        if i >= 3: load += t1 - t0; total += t2 - t0
    return steps * bs / total, load / total

def _timed_steps(build, shape, cfg, bs, steps, threads, channels_last):
    "samples/s of `steps` training steps of one run with `threads` torch threads (3 warm-up steps first)."
    torch.set_num_threads(threads)
    from popnb.train import _to_device
    rng = np.random.default_rng(0); n = 1024
    b = Batches(rng.random((n, 13), dtype=np.float32), rng.random((n, *shape), dtype=np.float32).astype(np.float16), rng.random(n, dtype=np.float32) * 100)
    torch.manual_seed(0); net = _to_device(build(), 'cpu') if channels_last else build()
    opt = (torch.optim.AdamW if cfg.optimizer == 'adamw' else torch.optim.Adam)(net.parameters(), 1e-3, fused=True)
    for i in range(steps + 3):
        if i == 3: t0 = time.perf_counter()
        s, m, yb = b.get(rng.integers(0, n, bs))
        loss = nn.functional.mse_loss(net(s, m).float(), yb); opt.zero_grad(set_to_none=True); loss.backward(); opt.step()
    return steps * bs / (time.perf_counter() - t0)

def _side_by_side(build, shape, cfg, bs, steps, procs):
    "Summed samples/s of `procs` forked runs with one thread each, started together."
    import multiprocessing as mp
    ctx = mp.get_context('fork'); q = ctx.Queue()
    ps = [ctx.Process(target=lambda: q.put(_timed_steps(build, shape, cfg, bs, steps, 1, True))) for _ in range(procs)]
    for p in ps: p.start()
    out = [q.get() for _ in ps]
    for p in ps: p.join()
    return sum(out)

def compare(threads, steps, rounds=3):
    "Today's training (one run, `threads` threads, contiguous) against the new (one run per core, channels-last), interleaved."
    cases = [('PaperCNN', lambda: PaperCNN(), (40, 8), PAPER_CONFIG, 32), ('FusionCNN', lambda: FusionCNN(n_mels=64), (64, 108), CORRECTED_CONFIG, 64)]
    R = {}
    for r in range(rounds):
        for name, build, shape, cfg, bs in cases:
            R.setdefault((name, 'before'), []).append(_timed_steps(build, shape, cfg, bs, steps, threads, False))
            R.setdefault((name, 'after'), []).append(_side_by_side(build, shape, cfg, bs, steps, threads))
    print(f"\ntoday's training (baseline: one run, {threads} threads, contiguous) against the new ({threads} runs side by side, one thread each, channels-last PaperCNN); median of {rounds} interleaved rounds")
    print(f"{'network':10s} {'input':>7s} {'batch':>5s} {'before samples/s':>17s} {'after samples/s':>16s} {'ratio':>6s}")
    for name, build, shape, cfg, bs in cases:
        b, a = np.median(R[(name, 'before')]), np.median(R[(name, 'after')])
        print(f"{name:10s} {'×'.join(map(str, shape)):>7s} {bs:5d} {b:17.0f} {a:16.0f} {a / b:6.2f}")

def profile(bs, steps=8):
    from torch.profiler import profile as prof, ProfilerActivity
    net = FusionCNN2d(n_mels=64); opt = torch.optim.AdamW(net.parameters(), 1e-3, fused=True)
    x, m, y = torch.randn(bs, 1, 64, 108), torch.randn(bs, 13), torch.randn(bs)
    def step():
        loss = nn.functional.huber_loss(net(x, m), y); opt.zero_grad(); loss.backward(); opt.step()
    for _ in range(3): step()
    with prof(activities=[ProfilerActivity.CPU]) as p:
        for _ in range(steps): step()
    ka = sorted(p.key_averages(), key=lambda e: -e.self_cpu_time_total); tot = sum(e.self_cpu_time_total for e in ka)
    print(f"\nFusionCNN2d 64×108, batch {bs}: {tot / 1e3 / (steps * bs):.3f} ms per sample; top operators (share of self time)")
    for e in ka[:6]: print(f"  {e.key:42s} {e.self_cpu_time_total / 1e3 / (steps * bs):.3f} ms/sample  {100 * e.self_cpu_time_total / tot:4.1f} %")

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--devices', nargs='+', default=['cpu'] + (['cuda'] if torch.cuda.is_available() else []))
    ap.add_argument('--batches', nargs='+', type=int, default=[32, 64, 128])
    ap.add_argument('--steps', type=int, default=20)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--profile', action='store_true')
    ap.add_argument('--compare', action='store_true', help="only today's training against the new, interleaved")
    ap.add_argument('--rounds', type=int, default=3)
    a = ap.parse_args()
    if a.compare:
        import os, subprocess
        cpu = subprocess.run(['lscpu'], capture_output=True, text=True).stdout
        model = next((l.split(':', 1)[1].strip() for l in cpu.splitlines() if l.startswith('Model name')), '?')
        print(f"torch {torch.__version__}; CPU: {model}; load average at start: {os.getloadavg()[0]:.2f}")
        compare(a.threads, a.steps, a.rounds); sys.exit()
    torch.set_num_threads(a.threads)
    C, P = CORRECTED_CONFIG, PAPER_CONFIG
    cases = [('PaperCNN', lambda: PaperCNN(), (40, 8), P, True), ('PaperCNN, Adam not fused', lambda: PaperCNN(), (40, 8), P, False),
             ('FusionCNN2d (baseline)', lambda: FusionCNN2d(n_mels=64), (64, 108), C, True),
             ('FusionCNN', lambda: FusionCNN(n_mels=64), (64, 108), C, True), ('FusionCNN', lambda: FusionCNN(n_mels=128), (128, 1292), C, True)]
    print(f"torch {torch.__version__}, {a.threads} CPU threads" + (f", {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else ''))
    print(f"{'model':26s} {'device':6s} {'input':>9s} {'batch':>5s} {'precision':>9s} {'samples/s':>10s} {'load %':>7s}")
    R = {}
    for dev in a.devices:
        for name, build, shape, cfg, fused in cases:
            for bs in a.batches:
                precs = [('float32', replace(cfg, amp=False, cpu_bf16=False))]
                if fused and name != 'FusionCNN2d (baseline)':
                    precs.append(('float16', replace(cfg, amp=True)) if dev.startswith('cuda') else ('bfloat16', replace(cfg, cpu_bf16=True)))
                for prec, c in precs:
                    steps = max(3, a.steps // 4) if shape[1] > 1000 and dev == 'cpu' else a.steps
                    sps, share = bench(build, shape, c, dev, bs, steps, fused)
                    R[(name, dev, shape, bs, prec)] = sps
                    print(f"{name:26s} {dev:6s} {'×'.join(map(str, shape)):>9s} {bs:5d} {prec:>9s} {sps:10.1f} {100 * share:6.1f}%", flush=True)
    print('\nratios (same run)')
    for (name, dev, shape, bs, prec), v in R.items():
        lab = f"{name}, {dev}, {'×'.join(map(str, shape))}"
        if bs == max(a.batches) and (name, dev, shape, min(a.batches), prec) in R and prec == 'float32':
            print(f"  {lab}: batch {bs} / batch {min(a.batches)} = {v / R[(name, dev, shape, min(a.batches), prec)]:.2f}")
        if prec != 'float32' and (name, dev, shape, bs, 'float32') in R:
            print(f"  {lab}, batch {bs}: {prec} / float32 = {v / R[(name, dev, shape, bs, 'float32')]:.2f}")
        if name == 'FusionCNN' and shape == (64, 108) and prec == 'float32' and ('FusionCNN2d (baseline)', dev, shape, bs, prec) in R:
            print(f"  FusionCNN / FusionCNN2d (baseline), {dev}, 64×108, batch {bs}: {v / R[('FusionCNN2d (baseline)', dev, shape, bs, prec)]:.1f}")
        if name == 'PaperCNN' and prec == 'float32' and ('PaperCNN, Adam not fused', dev, shape, bs, prec) in R:
            print(f"  PaperCNN fused Adam / not fused, {dev}, batch {bs}: {v / R[('PaperCNN, Adam not fused', dev, shape, bs, prec)]:.2f}")
    if a.profile:
        for bs in (32, 128): profile(bs)
