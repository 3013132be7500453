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
Decoders, per format (`--decoders R` repeats, 0 skips; `--only-decoders` runs just this): one real preview as
MP3, and made from it WAV, FLAC, OGG (soundfile) and M4A/AAC, Opus (PyAV) — load_audio (decode + mono + soxr to
22.05 kHz, 30 s) with decoder='sndfile' and with decoder='pyav', PyAV resampling inside the decoder (FFmpeg's
swresample) instead of soxr, and the largest difference between the decoders' outputs (at the best lag).
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

def decoder_formats(tmp:Path, seconds:float=30.0) -> dict:
    "A real preview in every format load_audio reads: MP3 (the original), WAV, FLAC, OGG (soundfile), M4A/AAC and Opus (PyAV)."
    import soundfile as sf
    from popnb.audio import load_audio
    from popnb.core import data_mirror
    from popnb.testing import encode_audio
    src = sorted((data_mirror()/'previews').glob('*.mp3'))[0]
    y = load_audio(src, sr=44100, mono=False, duration=seconds).T
    out = {'.mp3': src}
    for ext in ('.wav', '.flac', '.ogg'): sf.write(tmp/f"fmt{ext}", y, 44100); out[ext] = tmp/f"fmt{ext}"
    for ext in ('.m4a', '.opus'): out[ext] = encode_audio(src, tmp/f"fmt{ext}", seconds=seconds)
    return out

def _aligned_diff(a, b, span=22050, lags=400):
    "(lag in samples, largest difference) of b against a, at the lag that best aligns a 1 s stretch (resamplers differ in delay)."
    x = a[span:2*span]
    lag = max(range(-lags, lags + 1), key=lambda L: float(np.dot(x, b[span + L:2*span + L])))
    n = min(len(a), len(b) - lag) - span
    return lag, float(np.abs(a[span:n] - b[span + lag:n + lag]).max())

def decoder_bench(files:dict, repeat:int=7) -> dict:
    "Per format: ms of load_audio (decode + mono + soxr to 22.05 kHz, 30 s) with each decoder, PyAV resampling inside the decoder, and the largest difference."
    import av
    from popnb.core import AudioError
    from popnb.audio import load_audio
    def swr(f):   # PyAV mixing down and resampling inside the decoder (FFmpeg's swresample), no soxr
        with av.open(str(f)) as c:
            r, parts = av.AudioResampler(format='flt', layout='mono', rate=22050), []
            for fr in c.decode(audio=0): parts += [o.to_ndarray() for o in r.resample(fr)]
            parts += [o.to_ndarray() for o in r.resample(None)]
        return np.concatenate(parts, axis=1)[0][:661500]
    out = {}
    for ext, f in files.items():
        paths = dict(sndfile=lambda f=f: load_audio(f, sr=22050, duration=30.0, decoder='sndfile'),
                     pyav=lambda f=f: load_audio(f, sr=22050, duration=30.0, decoder='pyav'), pyav_swr=lambda f=f: swr(f))
        ys, ts = {}, {k: [] for k in paths}
        for k, fn in paths.items():
            try: ys[k] = fn()
            except AudioError as e: ys[k] = None; ts[k] = None
        for _ in range(repeat):               # interleaved, so a change in load hits every path alike
            for k, fn in paths.items():
                if ts[k] is not None: ts[k].append(_timeit(fn))
        r = {k: (float(np.median(v))*1000 if v else None) for k, v in ts.items()}
        if ys['sndfile'] is not None and ys['pyav'] is not None: r['lag'], r['max_diff'] = _aligned_diff(ys['sndfile'], ys['pyav'])
        if ys['pyav'] is not None: r['swr_lag'], r['swr_diff'] = _aligned_diff(ys['pyav'], ys['pyav_swr'])
        out[ext] = r
    return out

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
    ap.add_argument('--decoders', type=int, default=7, help='repeats of the per-format decoder comparison (0: skip it)')
    ap.add_argument('--only-decoders', action='store_true', help='run only the decoder comparison')
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
        if a.decoders: res['decoders'] = decoder_bench(decoder_formats(tmp), a.decoders)
        if a.only_decoders: return print_decoders(res)
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
    print_decoders(res)
    if a.json: Path(a.json).write_text(json.dumps(res, indent=1, default=str))

def print_decoders(res):
    "The decoder table: ms per 30 s clip of load_audio with each decoder, and which is faster."
    if not res.get('decoders'): return
    f = lambda v: f"{v:>9.1f}" if v is not None else f"{'n/a':>9}"
    print(f"\ndecoders (load_audio: decode + mono + soxr to 22.05 kHz, one 30 s real preview per format; load average {os.getloadavg()[0]:.2f})")
    print(f"  {'format':<8}{'sndfile':>9}{'pyav':>9}{'pyav+swr':>9}  {'faster':<8}{'max |sndfile - pyav|':>22}")
    for ext, r in res['decoders'].items():
        best = 'pyav' if r['sndfile'] is None or (r['pyav'] is not None and r['pyav'] < r['sndfile']) else 'sndfile'
        d = f"{r['max_diff']:.1e} (lag {r['lag']})" if 'max_diff' in r else 'n/a'
        print(f"  {ext:<8}{f(r['sndfile'])}{f(r['pyav'])}{f(r['pyav_swr'])}  {best:<8}{d:>22}")
    print("  pyav+swr: FFmpeg mixing down and resampling inside the decoder; its stereo downmix is (L+R)*0.707, not the mean, and its\n"
          f"  filter is another one: it differs from the soxr path by up to {max(r['swr_diff'] for r in res['decoders'].values()):.2f} (best lag), not float rounding")

if __name__ == '__main__': main()
