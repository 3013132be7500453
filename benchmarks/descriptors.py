"""Audio-descriptor benchmark: the cost of `build_store(..., descriptors=True)` per 30 s clip against the spectrogram alone.

    .venv/bin/python benchmarks/descriptors.py [--n 16] [--json out.json]

On the real 30 s MP3 previews of the data mirror (cycled to --n clips) and on stand-in clips (synthetic
stand-in audio rendered once and written as 44.1 kHz MP3 like a preview), it times, per clip:

- spectrogram    popnb.features.compute_chunk of one file: load_audio (decode, mono, soxr to 22.05 kHz) + melspec
                 (LOGMEL: 30 s, n_fft 2048, hop 512, 128 mels) — what a store pays per clip today
- + descriptors  the same compute_chunk with descriptors=True: the same decode, then audio_descriptors of that clip
- descriptors    audio_descriptors alone on the decoded clip, and its parts: loudness (pyloudnorm integrated + range),
                 STFT, rhythm (tempo, beats, onsets), key, spectral shape + harmonic/percussive split
- store          build_store over --n clips with and without descriptors, n_jobs=1, after a warm-up build

Every path runs on one core (one BLAS thread). Per-clip times are medians over clips, the paths interleaved
clip by clip; store times are wall time / clips. Prints one table; all numbers from one run.
"""
import argparse, json, os, sys, tempfile, time
from pathlib import Path
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault('CUDA_VISIBLE_DEVICES', '')

sys.path.insert(0, str(Path(__file__).resolve().parent))
from extract import clip_sets   # the same clips as the extraction benchmark: stand-in MP3s and the mirror's previews

def _t(fn) -> float:
    t0 = time.perf_counter(); fn(); return time.perf_counter() - t0

def parts(y:np.ndarray) -> dict:
    "Seconds of each part of audio_descriptors on one decoded 22.05 kHz clip."
    import scipy.fft
    import popnb.features as F
    w, melfb, chfb, freqs = F._desc_filters()
    h = F.DESC_NFFT//2
    def stft():
        fr = np.lib.stride_tricks.sliding_window_view(np.pad(y, (h, h)), F.DESC_NFFT)[::F.DESC_HOP]
        return np.ascontiguousarray(np.abs(scipy.fft.rfft(fr*w, axis=1)).T.astype(np.float32))
    S = stft(); M = melfb @ (S*S)
    D = np.log1p(10*M/M.max()); odf = np.concatenate([[0.0], np.maximum(0, np.diff(D, axis=1)).mean(axis=0)])
    return dict(loudness=_t(lambda: F._loudness_fast(y, F.DESC_SR)), stft=_t(stft),
                rhythm=_t(lambda: F._rhythm(odf, F.DESC_SR, F.DESC_HOP, len(y)/F.DESC_SR)),
                key=_t(lambda: F.key_from_chroma((chfb @ (S*S)).mean(axis=1))),
                spectral_hpss=_t(lambda: F._spectral_fast(S, np.ascontiguousarray(S.T), M, freqs, F.DESC_SR)))

def build(files, tmp, tag, descriptors) -> float:
    "Seconds per clip of build_store over `files`, n_jobs=1."
    import pandas as pd
    from popnb.features import build_store, LOGMEL
    df = pd.DataFrame(dict(track_key=[f"k{i}" for i in range(len(files))]))
    amap = {f"k{i}": f for i,f in enumerate(files)}
    t0 = time.perf_counter()
    st = build_store(df, 'local', LOGMEL, audio_map=amap, store_dir=tmp/f"spec-{tag}", progress=False, descriptors=descriptors)
    dt = time.perf_counter() - t0
    assert st.index.ok.all(), st.skipped
    if descriptors: assert (st.descriptors.descriptor_reason == '').all(), st.descriptors.descriptor_reason
    return dt/len(files)

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--n', type=int, default=16, help='clips per set')
    ap.add_argument('--json', default=None, help='also write the results here')
    a = ap.parse_args()
    from threadpoolctl import threadpool_limits
    threadpool_limits(1)
    from popnb.audio import load_audio
    from popnb.features import LOGMEL, compute_chunk, audio_descriptors
    spec = lambda f: compute_chunk([(0, 'file', str(f), '')], LOGMEL)
    both = lambda f: compute_chunk([(0, 'file', str(f), '')], LOGMEL, descriptors=True)
    res = dict(cpu=os.cpu_count(), load_avg_start=os.getloadavg(), n=a.n, sets={})
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for name, files in clip_sets(a.n, tmp).items():
            both(files[0]); spec(files[0])                     # warm: imports, filterbanks, numba's compiled beat tracker
            ys = {str(f): load_audio(f, sr=22050, duration=30.0) for f in set(files)}
            ts = dict(spectrogram=[], with_descriptors=[], descriptors_alone=[])
            ps = []
            for f in files:
                ts['spectrogram'].append(_t(lambda: spec(f)))
                ts['with_descriptors'].append(_t(lambda: both(f)))
                ts['descriptors_alone'].append(_t(lambda: audio_descriptors(ys[str(f)], 22050)))
                ps.append(parts(ys[str(f)]))
            r = {k: float(np.median(v)) for k,v in ts.items()}
            r['parts'] = {k: float(np.median([p[k] for p in ps])) for k in ps[0]}
            build(files[:2], tmp, f'warm{len(res["sets"])}', True)
            r['store'] = build(files, tmp, f'plain{len(res["sets"])}', False)
            r['store_descriptors'] = build(files, tmp, f'desc{len(res["sets"])}', True)
            res['sets'][name] = r
    res['load_avg_end'] = os.getloadavg()
    ms = lambda s: f"{1000*s:7.1f}"
    names = list(res['sets'])
    print(f"ms per 30 s clip, one core (load average {res['load_avg_start'][0]:.2f} at start, {res['load_avg_end'][0]:.2f} at end), {a.n} clips per set")
    print(f"{'':34s}" + ''.join(f"{n[:34]:>36s}" for n in names))
    rows = [('spectrogram (compute_chunk)', 'spectrogram'), ('spectrogram + descriptors', 'with_descriptors'),
            ('descriptors alone', 'descriptors_alone')]
    for label,k in rows: print(f"{label:34s}" + ''.join(f"{ms(res['sets'][n][k]):>36s}" for n in names))
    for k in res['sets'][names[0]]['parts']: print(f"{'  of which ' + k:34s}" + ''.join(f"{ms(res['sets'][n]['parts'][k]):>36s}" for n in names))
    print(f"{'build_store, n_jobs=1':34s}" + ''.join(f"{ms(res['sets'][n]['store']):>36s}" for n in names))
    print(f"{'build_store + descriptors':34s}" + ''.join(f"{ms(res['sets'][n]['store_descriptors']):>36s}" for n in names))
    print(f"{'ratio (store with / without)':34s}" + ''.join(f"{res['sets'][n]['store_descriptors']/res['sets'][n]['store']:>35.2f}×" for n in names))
    if a.json: Path(a.json).write_text(json.dumps(res, indent=1))

if __name__ == '__main__': main()
