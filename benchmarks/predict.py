"""`popnb predict` on a catalogue: files per second of today's path (the baseline), one job and two jobs, and peak RSS.

    POPNB_DATA_MIRROR=../shared/data python benchmarks/predict.py [--n 1000] [--rounds 4] [--rss 100 1000] [--model BUNDLE]

The catalogue is made in a temporary folder: copies of the real 30 s previews of the data mirror and of
30 s synthetic stand-in clips (FLAC), alternating. The bundle is a `fusion_cnn` on the 30 s, 128-band
log-mel (the command line's default preset), trained one epoch on 48 synthetic tracks (or `--model`).

The three paths run interleaved, block by block (the machine is shared): `baseline` is the path before
issue 22 §4, kept here verbatim in spirit — every file decoded for its descriptors first, described by
`audio_descriptors` (pyloudnorm's meter, scipy's median filters: the code the store still uses), then
decoded again by `file_melspec`, one file at a time, in this process; `jobs1` and `jobs2` are
`iter_predictions` with `n_jobs=1` (in this process) and `n_jobs=2` (two forked worker processes, each
decoding, describing and predicting whole batches): one decode a file and `audio_descriptors` (the fast pass, the reference's numbers). Every path has one thread per
process. Peak RSS is measured in fresh processes running `popnb predict --out rows.csv` on the first
100 and on all the files.
"""
import argparse, os, resource, shutil, subprocess, sys, tempfile, time
from pathlib import Path
os.environ.setdefault('POPNB_THREADS', '1')
import numpy as np, pandas as pd

ARTIST = dict(artist_popularity=80, artist_followers=2.5e6)

def make_catalogue(d:Path, n:int, n_standins:int=8) -> list:
    "n audio files in `d`: copies of the mirror's previews and of rendered stand-in clips, alternating."
    import soundfile as sf
    from popnb.audio import synthesize_clip
    from popnb.data import load_paper_dataset
    mirror = Path(os.environ['POPNB_DATA_MIRROR'])
    src = sorted((mirror/'previews').glob('*.mp3'))
    df = load_paper_dataset().head(n_standins)
    for i,(_,r) in enumerate(df.iterrows()):
        f = d/f'standin_{i}.flac'; sf.write(f, synthesize_clip({k: r.get(k) for k in ('tempo','key','mode','energy','loudness','danceability','acousticness','instrumentalness','speechiness','valence','liveness')}, seconds=30.0, sr=22050, seed=i), 22050)
        src.append(f)
    out = []
    for j in range(n):
        s = src[j % len(src)]; f = d/'catalogue'/f'{j:05d}_{s.name}'
        f.parent.mkdir(exist_ok=True); shutil.copyfile(s, f); out.append(f)
    return out

def train_bundle(d:Path) -> Path:
    from popnb.cli import main
    out = d/'fusion_cnn.pt'
    assert main(['train', '--model', 'fusion_cnn', '--audio-source', 'synthetic', '--rows', '48', '--epochs', '1',
                 '--store-dir', str(d/'spec'), '--out', str(out)]) == 0
    return out

def old_file_descriptors(path) -> dict:
    "`file_descriptors` as it was before issue 22 §4: the whole file decoded at 22.05 kHz, described by `audio_descriptors`."
    from popnb.core import AudioError
    from popnb.audio import load_audio
    from popnb.features import DESC_SR, _file_ms, audio_descriptors
    y = load_audio(path, sr=DESC_SR, allow_silent=True)
    ms = _file_ms(path)
    if ms is None: ms = 1000*len(y)/DESC_SR
    try: return audio_descriptors(y, DESC_SR, duration_ms=ms)
    except AudioError as e: raise AudioError(e.what, where=str(path)) from None

def baseline(files:list, pr, batch_size:int=32) -> list:
    "The path before issue 22 §4: the old file_descriptors for every file, then file_melspec decoding again, batch by batch, in this process."
    from popnb.core import AudioError
    from popnb.predict import metadata_table
    from popnb.features import file_melspec
    files = [str(f) for f in files]
    described = []
    for f in files:
        try: described.append(old_file_descriptors(f))
        except AudioError as e: described.append(e.what)
    meta = metadata_table(files, pr.medians, values=ARTIST, fill_missing=True, required=pr.uses_meta,
                          described=described, cols=pr.meta_cols)
    M = meta[list(pr.meta_cols)].to_numpy(dtype=np.float32)
    pops = [np.nan]*len(files)
    for s in range(0, len(files), batch_size):
        idx, specs = [], []
        for j in range(s, min(s + batch_size, len(files))):
            try: sp = file_melspec(files[j], pr.params); idx.append(j); specs.append(sp)
            except AudioError: pass
        if idx:
            for j,v in zip(idx, np.clip(pr.predict(M[idx], np.stack(specs)), 0, 100)): pops[j] = round(float(v), 2)
    return pops

def new_path(files:list, pr, n_jobs:int) -> list:
    from popnb.predict import iter_predictions
    rows = iter_predictions(files, pr, values=ARTIST, fill_missing=True, n_jobs=n_jobs, progress=False)
    return [r['popularity'] for b in rows for r in b]

def cpu_seconds() -> float:
    "User + system CPU seconds of this process and of its children that have ended (the pool's workers, once shut down)."
    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime

def peak_rss(files:list, bundle:Path, d:Path) -> float:
    "Peak RSS (MiB) of `popnb predict --out rows.csv` on `files` in a fresh process (one job)."
    code = ("import resource, sys; from popnb.cli import main; rc = main(sys.argv[1:]); "
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)")
    out = d/f'rss_{len(files)}.csv'
    r = subprocess.run([sys.executable, '-c', code, 'predict', *map(str, files), '--model', str(bundle), '--artist-popularity', '80',
                        '--artist-followers', '2500000', '--fill-missing', '-q', '--out', str(out)], capture_output=True, text=True)
    assert r.returncode in (0, 1), r.stderr[-2000:]
    assert len(pd.read_csv(out)) == len(files)
    return int(r.stdout.split()[-1])/1024

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--n', type=int, default=1000, help='files timed per path')
    ap.add_argument('--rounds', type=int, default=4, help='interleaved blocks (the files are cut into this many)')
    ap.add_argument('--rss', type=int, nargs='*', default=[100, 1000], help='file counts of the peak-RSS runs')
    ap.add_argument('--model', default=None, help='a predictor bundle (default: a fusion_cnn trained here on 48 synthetic tracks)')
    a = ap.parse_args()
    from popnb.core import set_threads
    from popnb.train import load_predictor
    set_threads(1)
    cpu = next((l.split(':', 1)[1].strip() for l in open('/proc/cpuinfo') if l.startswith('model name')), '?')
    print(f"CPU: {cpu}, {os.cpu_count()} cores; load average {os.getloadavg()}", flush=True)
    with tempfile.TemporaryDirectory() as td:
        d = Path(td)
        files = make_catalogue(d, max([a.n, *a.rss]))
        bundle = Path(a.model) if a.model else train_bundle(d)
        pr = load_predictor(bundle, device='cpu')
        print(f"bundle {bundle.name}: {pr.name}, spectrogram {pr.params.shape} at {pr.params.sr} Hz; {a.n} files timed", flush=True)
        new_path(files[:4], pr, 1); baseline(files[:4], pr)   # warm: imports, numba, filterbanks
        paths = dict(baseline=lambda f: baseline(f, pr), jobs1=lambda f: new_path(f, pr, 1), jobs2=lambda f: new_path(f, pr, 2))
        secs, cpu, got = {k: 0.0 for k in paths}, {k: 0.0 for k in paths}, {k: [] for k in paths}
        blocks = np.array_split(np.arange(a.n), a.rounds)
        for i,b in enumerate(blocks):
            order = list(paths)[i % 3:] + list(paths)[:i % 3]      # rotate who goes first
            for k in order:
                c, t = cpu_seconds(), time.perf_counter(); got[k] += paths[k]([files[j] for j in b])
                secs[k] += time.perf_counter() - t; cpu[k] += cpu_seconds() - c
            print(f"block {i+1}/{len(blocks)}: " + ', '.join(f"{k} {len(b)*(i+1)/secs[k]:.2f} files/s" for k in paths) + f"; load {os.getloadavg()[0]:.2f}", flush=True)
        fps = {k: a.n/secs[k] for k in paths}
        same = np.allclose(np.array(got['jobs1'], float), np.array(got['jobs2'], float), equal_nan=True)
        diff = np.nanmax(np.abs(np.array(got['jobs1'], float) - np.array(got['baseline'], float)))
        cps = {k: a.n/cpu[k] for k in paths}
        print(f"\nfiles/s over {a.n} files (wall clock): baseline {fps['baseline']:.2f}, one job {fps['jobs1']:.2f}, two jobs {fps['jobs2']:.2f}")
        print(f"files per CPU-second (this process and its workers): baseline {cps['baseline']:.2f}, one job {cps['jobs1']:.2f}, two jobs {cps['jobs2']:.2f}")
        print(f"CPU: one job / baseline {cps['jobs1']/cps['baseline']:.2f}x; two jobs use {cps['jobs1']/cps['jobs2']:.2f}x the CPU per file of one "
              f"(two free cores would give about {2*cps['jobs2']/cps['jobs1']:.2f}x one job's files/s)")
        print(f"wall clock: one job / baseline {fps['jobs1']/fps['baseline']:.2f}x (target >= 1.5)")
        print(f"wall clock: two jobs / one job {fps['jobs2']/fps['jobs1']:.2f}x (target >= 1.8)")
        print(f"two jobs' predictions equal one job's: {same}; largest difference from the baseline's: {diff:.2f} popularity points")
        for n in a.rss: print(f"peak RSS, popnb predict --out rows.csv, {n} files, one job: {peak_rss(files[:n], bundle, d):.0f} MiB", flush=True)
        print(f"load average at the end {os.getloadavg()}")

if __name__ == '__main__': main()
