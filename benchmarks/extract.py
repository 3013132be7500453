"""Spectrogram extraction benchmark: popnb's extractor vs the naive librosa path vs decode alone.

    .venv/bin/python benchmarks/extract.py [--n 32] [--store-n 128] [--mem 16,64,256] [--json out.json]

On the same clips — stand-in clips (synthetic stand-in audio, rendered once and written as 44.1 kHz MP3
like a preview) and the real 30 s MP3 previews of the data mirror (cycled to --n clips) — it times, per clip:

- decode       soundfile decode only (no resampling)
- load         popnb.audio.load_audio: decode + mono + soxr to 22.05 kHz + crop/pad to 30 s
- popnb        load + popnb.features.melspec (LOGMEL: 30 s, n_fft 2048, hop 512, 128 mels, dB)
- naive        librosa.load(sr=22050) + librosa.feature.melspectrogram + power_to_db, per file
- store n_jobs=1 / n_jobs=2   popnb.features.build_store end to end (memmap store, index, provenance,
               checkpoints; --store-n clips, default 4 × --n, after a warm-up build)

and the peak anonymous memory (RssAnon, sampled) of a build_store process as the clip count grows.
Every path runs on one core (one BLAS thread; `n_jobs=2` uses two processes). Per-clip times are medians over clips, the four paths interleaved clip by clip; store times are
wall time / clips. Prints one table; all numbers from one run.
"""
import argparse, json, os, subprocess, sys, tempfile, threading, time
from pathlib import Path
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault('CUDA_VISIBLE_DEVICES', '')

def rss_anon_kb() -> int:
    for line in open('/proc/self/status'):
        if line.startswith('RssAnon:'): return int(line.split()[1])
    return 0

class PeakAnon:
    "Sample RssAnon every 10 ms in a thread; .peak in MiB."
    def __enter__(self):
        self.peak, self._stop = rss_anon_kb(), False
        def run():
            while not self._stop: self.peak = max(self.peak, rss_anon_kb()); time.sleep(0.01)
        self._t = threading.Thread(target=run, daemon=True); self._t.start(); return self
    def __exit__(self, *a): self._stop = True; self._t.join(); self.peak = max(self.peak, rss_anon_kb())/1024

def clip_sets(n:int, tmp:Path) -> dict:
    "n stand-in MP3 clips and n real previews (cycled)."
    import soundfile as sf, pandas as pd
    from popnb.audio import synthesize_clip
    from popnb.core import data_mirror
    mirror = data_mirror()
    if mirror is None: sys.exit('no data mirror: set POPNB_DATA_MIRROR')
    previews = sorted((mirror/'previews').glob('*.mp3'))
    rng = np.random.default_rng(0)
    stand = []
    for i in range(min(n, 8)):   # 8 distinct stand-in clips, cycled (rendering is not what is timed)
        f = dict(tempo=float(rng.uniform(70, 170)), energy=float(rng.uniform()), loudness=float(rng.uniform(-14, -4)),
                 danceability=float(rng.uniform()), acousticness=float(rng.uniform()), valence=float(rng.uniform()))
        p = tmp/f"standin{i}.mp3"
        try: sf.write(p, synthesize_clip(f, 30.0, 44100, seed=i), 44100, format='MP3')
        except Exception: p = p.with_suffix('.wav'); sf.write(p, synthesize_clip(f, 30.0, 44100, seed=i), 44100)
        stand.append(p)
    return {'stand-in (synthetic, MP3 44.1 kHz)': [stand[i % len(stand)] for i in range(n)],
            'real previews (MP3 44.1 kHz stereo)': [previews[i % len(previews)] for i in range(n)]}

def time_interleaved(fns:dict, files, repeat=2) -> dict:
    "Median seconds per clip of each path, the paths interleaved clip by clip (fair under a fluctuating machine load)."
    for fn in fns.values(): fn(files[0])      # warm caches (filterbank, imports)
    ts = {k: [] for k in fns}
    for _ in range(repeat):
        for f in files:
            for k,fn in fns.items():
                t0 = time.perf_counter(); fn(f); ts[k].append(time.perf_counter() - t0)
    return {k: float(np.median(v)) for k,v in ts.items()}

def dsp_floor(f) -> float:
    "Seconds of the two steps no extractor of a 22.05 kHz, n_fft 2048 log-mel can skip: the resampling and the real FFT of every frame."
    import soxr, scipy.fft
    from popnb.audio import load_audio
    from popnb.features import LOGMEL, _frames, _window
    y44 = load_audio(f, sr=44100, duration=30.0); y22 = soxr.resample(y44, 44100, 22050)
    fr = np.ascontiguousarray(_frames(y22, LOGMEL))*_window(LOGMEL.n_fft)
    t = lambda fn: min(_timeit(fn) for _ in range(5))
    return t(lambda: soxr.resample(y44, 44100, 22050, quality='HQ')) + t(lambda: scipy.fft.rfft(fr, axis=1))

def _timeit(fn) -> float:
    t0 = time.perf_counter(); fn(); return time.perf_counter() - t0

def build(files, n_jobs, tmp, tag):
    "Seconds per clip of build_store over `files` (the per-process one-time costs — imports, provenance — paid before timing)."
    import pandas as pd
    from popnb.features import build_store, LOGMEL
    df = pd.DataFrame(dict(track_key=[f"k{i}" for i in range(len(files))]))
    amap = {f"k{i}": f for i,f in enumerate(files)}
    t0 = time.perf_counter()
    st = build_store(df, 'local', LOGMEL, n_jobs=n_jobs, audio_map=amap, store_dir=tmp/f"spec-{tag}-{n_jobs}", progress=False)
    dt = time.perf_counter() - t0
    assert st.index.ok.all(), st.skipped
    return dt/len(files)

def mem_child(n:int, store_dir:str):
    "Run in a subprocess: build a synthetic 30 s log-mel store of n tracks; print peak RssAnon (MiB)."
    import pandas as pd
    from popnb.features import build_store, LOGMEL
    rng = np.random.default_rng(n)
    df = pd.DataFrame(dict(track_key=[f"m{i}" for i in range(n)], tempo=rng.uniform(70, 170, n), energy=rng.uniform(0, 1, n),
                           loudness=rng.uniform(-14, -4, n)))
    import popnb.audio, scipy.signal, librosa  # imports before measuring
    base = rss_anon_kb()/1024
    with PeakAnon() as pk: build_store(df, 'synthetic', LOGMEL, store_dir=store_dir, chunk_size=16, progress=False)
    print(json.dumps(dict(n=n, base_mib=round(base, 1), peak_mib=round(pk.peak, 1))))

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--n', type=int, default=32, help='clips per set')
    ap.add_argument('--store-n', type=int, default=None, help='clips per build_store timing (default 4 × --n)')
    ap.add_argument('--mem', default='16,64,256', help='clip counts for the memory curve')
    ap.add_argument('--json', default=None, help='also write the results here')
    ap.add_argument('--mem-child', type=int, default=None, help=argparse.SUPPRESS)
    ap.add_argument('--store-dir', default=None, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.mem_child: return mem_child(a.mem_child, a.store_dir)
    import soundfile as sf, librosa
    from threadpoolctl import threadpool_limits
    threadpool_limits(1)   # per core: one BLAS thread for every path
    from popnb.audio import load_audio
    from popnb.features import melspec, LOGMEL
    decode = lambda f: sf.read(f, dtype='float32')
    load = lambda f: load_audio(f, sr=22050, duration=30.0)
    ours = lambda f: melspec(load_audio(f, sr=22050, duration=30.0), LOGMEL)
    def naive(f):
        y,_ = librosa.load(f, sr=22050)
        return librosa.power_to_db(librosa.feature.melspectrogram(y=y, sr=22050, n_fft=2048, hop_length=512, n_mels=128))
    res = dict(cpu=os.cpu_count(), load_avg_start=os.getloadavg(), n=a.n, sets={})
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for name, files in clip_sets(a.n, tmp).items():
            r = time_interleaved(dict(decode=decode, load=load, popnb=ours, naive=naive), files)
            r['floor'] = dsp_floor(files[0])
            build(files[:2], 1, tmp, 'warm')   # one-time costs of the first store (provenance's package scan, tqdm)
            many = [files[i % len(files)] for i in range(a.store_n or 4*a.n)]
            r['store_1'] = build(many, 1, tmp, abs(hash(name)) % 1000)
            r['store_2'] = build(many, 2, tmp, abs(hash(name)) % 1000)
            res['sets'][name] = r
        mem = []
        for n in [int(x) for x in a.mem.split(',')]:
            out = subprocess.run([sys.executable, __file__, '--mem-child', str(n), '--store-dir', str(tmp/f"mem{n}")], capture_output=True, text=True)
            mem.append(json.loads(out.stdout.strip().splitlines()[-1]) if out.returncode == 0 else dict(n=n, error=out.stderr[-300:]))
        res['memory'] = mem
    res['load_avg_end'] = os.getloadavg()
    print(f"\nclips per set: {a.n} × 30 s; {res['cpu']} CPUs; load average at start {res['load_avg_start'][0]:.2f}, at end {res['load_avg_end'][0]:.2f}")
    for name, r in res['sets'].items():
        cps = {k: 1/v for k,v in r.items()}
        print(f"\n{name}")
        print(f"  {'path':<44}{'ms/clip':>9}{'clips/s':>9}")
        for k,lbl in [('decode','decode alone (soundfile)'), ('load','decode + resample (popnb load_audio)'), ('popnb','popnb extractor (load_audio + melspec)'),
                      ('naive','naive (librosa.load + melspectrogram)'), ('store_1','popnb build_store, n_jobs=1'), ('store_2','popnb build_store, n_jobs=2')]:
            print(f"  {lbl:<44}{r[k]*1000:>9.1f}{cps[k]:>9.2f}")
        print(f"  extraction / decode+resample: {r['popnb']/r['load']:.2f}×   floor of the DSP after decoding "
              f"(resample + FFT alone): {r['floor']*1000:.1f} ms = {(r['decode']+r['floor'])/r['decode']:.2f}× decode")
        for what, got, target, ok in [('speed-up vs naive', r['naive']/r['popnb'], '>= 2', r['naive']/r['popnb'] >= 2),
                                      ('extraction / decode alone', r['popnb']/r['decode'], '<= 1.3', r['popnb']/r['decode'] <= 1.3),
                                      ('n_jobs=2 / n_jobs=1', r['store_1']/r['store_2'], '>= 1.8', r['store_1']/r['store_2'] >= 1.8)]:
            print(f"  {what:<28}{got:>6.2f}×   target {target}×: {'met' if ok else 'NOT met'}")
    print("\nmemory of a build_store process (synthetic, 30 s log-mel), peak anonymous RSS:")
    for m in res['memory']: print(f"  {m.get('n'):>5} clips: " + (f"{m['peak_mib']:.0f} MiB (after imports {m['base_mib']:.0f} MiB)" if 'peak_mib' in m else m['error']))
    if a.json: Path(a.json).write_text(json.dumps(res, indent=1, default=str))

if __name__ == '__main__': main()
