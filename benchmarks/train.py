"""Training-step throughput of PaperCNN and FusionCNN, and the share of step time spent loading data.

    python benchmarks/train.py [--devices cpu cuda] [--batches 32 128] [--steps 20] [--threads 2] [--frames 431]

For each network, device and batch size it times `steps` training steps (after 3 warm-up steps) with
the same code path as popnb.train (popnb.train.Batches gathering float16 rows from an in-memory
N × n_mels × frames array and converting them per batch; forward, loss, backward, optimiser step;
mixed precision on CUDA for the fusion network). Prints one table row per case.
"""
import argparse, time
import numpy as np, torch
from torch import nn
from popnb.models import PaperCNN, FusionCNN
from popnb.train import Batches

def sync(dev):
    if dev.startswith('cuda'): torch.cuda.synchronize()

def bench(name, build, shape, amp, dev, bs, steps, n=2048):
    rng = np.random.default_rng(0)
    spec = rng.random((n, *shape), dtype=np.float32).astype(np.float16)
    meta = rng.random((n, 13), dtype=np.float32); y = rng.random(n, dtype=np.float32) * 100
    b = Batches(meta, spec, y, dev)
    torch.manual_seed(0); net = build().to(dev); opt = torch.optim.Adam(net.parameters(), 1e-3)
    amp = amp and dev.startswith('cuda'); scaler = torch.amp.GradScaler('cuda', enabled=amp)
    load = total = 0.0
    for i in range(steps + 3):
        idx = rng.integers(0, n, bs)
        sync(dev); t0 = time.perf_counter()
        s, m, yb = b.get(idx); sync(dev); t1 = time.perf_counter()
        with torch.autocast('cuda', dtype=torch.float16, enabled=amp): p = net(s, m)
        loss = nn.functional.mse_loss(p.float(), yb)
        opt.zero_grad(set_to_none=True); scaler.scale(loss).backward(); scaler.step(opt); scaler.update()
        sync(dev); t2 = time.perf_counter()
        if i >= 3: load += t1 - t0; total += t2 - t0
    return dict(model=name, device=dev, input='x'.join(map(str, shape)), batch=bs, samples_per_s=steps*bs/total,
                ms_per_step=1e3*total/steps, load_share=load/total)

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--devices', nargs='+', default=['cpu'] + (['cuda'] if torch.cuda.is_available() else []))
    ap.add_argument('--batches', nargs='+', type=int, default=[32, 128])
    ap.add_argument('--steps', type=int, default=20)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--frames', type=int, default=431, help='frames of the log-mel input of the fusion network (431 = 10 s at 22.05 kHz, hop 512)')
    ap.add_argument('--n-mels', type=int, default=128)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    cases = [('PaperCNN', PaperCNN, (40, 8), False), ('FusionCNN', FusionCNN, (a.n_mels, a.frames), True)]
    print(f"torch {torch.__version__}, {a.threads} CPU threads" + (f", {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else ''))
    print(f"{'model':10s} {'device':6s} {'input':>8s} {'batch':>5s} {'samples/s':>10s} {'ms/step':>8s} {'load %':>7s}")
    for dev in a.devices:
        for name, build, shape, amp in cases:
            for bs in a.batches:
                r = bench(name, build, shape, amp, dev, bs, a.steps)
                print(f"{r['model']:10s} {r['device']:6s} {r['input']:>8s} {r['batch']:5d} {r['samples_per_s']:10.1f} {r['ms_per_step']:8.1f} {100*r['load_share']:6.1f}%", flush=True)
