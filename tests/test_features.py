"popnb.features: presets, melspec against librosa, the spectrogram store (sources, bad audio, resume after SIGKILL, processes, dask)."
import os, signal, subprocess, sys, time, textwrap, warnings
from dataclasses import replace
from pathlib import Path
import numpy as np, pandas as pd, pytest, librosa
from popnb.core import DataError, ParameterError
from popnb.audio import gather_previews, synthesize_clip, load_audio
from popnb.testing import LocalProviders
from popnb.features import (MelParams, PAPER_MEL, LOGMEL, melspec, build_store, SpecStore, resolve_audio_source,
                            compute_chunk, AudioInputs, Extraction)

ROOT = Path(__file__).resolve().parents[1]
P = replace(LOGMEL, seconds=1.0, n_mels=32, n_fft=512, hop_length=256)   # small and quick

def tracks(n=10):
    return pd.DataFrame(dict(track_key=[f"t{i:03d}" for i in range(n)], name=[f"Song {i}" for i in range(n)], artist='A',
                             tempo=np.linspace(70, 170, n), energy=np.linspace(0.1, 0.9, n), loudness=np.linspace(-15, -4, n),
                             danceability=0.6, acousticness=np.linspace(0.9, 0.0, n), key=pd.array([i % 12 for i in range(n)], dtype='Int64'),
                             mode=pd.array([pd.NA] * n, dtype='Int64')))

def test_paper_preset_shape_and_definition(mirror):
    assert PAPER_MEL.shape == (40, 8) and PAPER_MEL.length == 1967 and PAPER_MEL.sr == 44100
    assert (PAPER_MEL.n_fft, PAPER_MEL.hop_length, PAPER_MEL.power, PAPER_MEL.log, PAPER_MEL.center) == (512, 256, 2.0, False, True)
    y = load_audio(mirror/'previews'/'edm.mp3', sr=44100, duration=1967/44100, allow_silent=True)
    S = melspec(y, PAPER_MEL)
    assert S.shape == (40, 8) and S.dtype == np.float32
    # torchaudio.transforms.MelSpectrogram(44100, n_fft=512, hop_length=256, n_mels=40) written out:
    # periodic Hann, reflect-padded centred frames, |STFT|^2, HTK mel filters without normalisation
    yp = np.pad(y.astype(np.float64), 256, mode='reflect')
    w = 0.5 - 0.5*np.cos(2*np.pi*np.arange(512)/512)
    spec = np.abs(np.fft.rfft(np.stack([yp[i*256:i*256+512]*w for i in range(8)]), axis=1))**2
    hz2mel = lambda f: 2595*np.log10(1 + f/700); mel2hz = lambda m: 700*(10**(m/2595) - 1)
    f_pts = mel2hz(np.linspace(0, hz2mel(22050), 42)); freqs = np.linspace(0, 22050, 257)
    slopes = f_pts[None, :] - freqs[:, None]; fd = np.diff(f_pts)
    fb = np.maximum(0, np.minimum(-slopes[:, :-2]/fd[:-1], slopes[:, 2:]/fd[1:]))   # (257, 40)
    ref = (spec @ fb).T
    assert np.allclose(S, ref, rtol=2e-3, atol=1e-6*ref.max())

def test_melspec_matches_librosa():
    y = synthesize_clip({'tempo': 120.0}, seconds=2.0)
    for p in (replace(LOGMEL, seconds=2.0), replace(P, center=False, power=1.0, log=False, fmin=50.0, fmax=8000.0)):
        ref = librosa.feature.melspectrogram(y=y[:p.length], sr=p.sr, n_fft=p.n_fft, hop_length=p.hop_length, n_mels=p.n_mels, power=p.power,
                                             center=p.center, fmin=p.fmin, fmax=p.fmax)
        if p.log: ref = 10*np.log10(np.maximum(ref, p.amin))
        assert melspec(y, p).shape == ref.shape == p.shape
        assert np.allclose(melspec(y, p), ref, rtol=1e-3, atol=1e-3*np.abs(ref).max())
    assert melspec(y[:100], P).shape == P.shape            # short input is zero-padded to the clip length

@pytest.mark.parametrize('block', [1, 7, 128, 10_000])
def test_melspec_blocks_and_bands_change_nothing(block):
    "Any block size gives librosa's answer; so does a filterbank with empty filters (more mels than FFT bins can fill)."
    y = synthesize_clip({'tempo': 97.0}, seconds=3.0)
    for p in (replace(LOGMEL, seconds=3.0), replace(LOGMEL, seconds=3.0, n_fft=256, hop_length=128, n_mels=96, log=False)):
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')      # librosa warns about the empty filters
            ref = librosa.feature.melspectrogram(y=y[:p.length], sr=p.sr, n_fft=p.n_fft, hop_length=p.hop_length, n_mels=p.n_mels)
            got = melspec(y, p, block=block)
        if p.log: ref = 10*np.log10(np.maximum(ref, p.amin))
        assert np.allclose(got, ref, rtol=1e-3, atol=1e-3*np.abs(ref).max()), (p, block)

def test_store_synthetic_roundtrip(tmp_path):
    df = tracks(7)
    st = build_store(df, 'synthetic', P, store_dir=tmp_path, chunk_size=3, progress=False)
    assert st.X.shape == (7, *P.shape) and st.X.dtype == np.float16 and isinstance(st.X, np.memmap)
    assert st.index.ok.all() and st.audio_source == 'synthetic' and st.meta['audio_label'] == 'synthetic stand-in audio'
    assert st.meta['params'] == SpecStore(st.folder).meta['params'] and st.params == P
    ref = melspec(synthesize_clip(df.iloc[2], seconds=1.0), P)
    assert np.abs(st.get('t002') - ref).max() < 0.1
    assert st.get(['t001', 't004']).shape == (2, *P.shape)
    with pytest.raises(DataError, match='not in the store'): st.get(['nope'])
    # asking again reuses it; other parameters or a different seed give another store
    assert build_store(df, 'synthetic', P, store_dir=tmp_path, progress=False).folder == st.folder
    assert build_store(df, 'synthetic', replace(P, n_mels=16), store_dir=tmp_path, progress=False).folder != st.folder
    assert build_store(df, 'synthetic', P, store_dir=tmp_path, seed=1, progress=False).folder != st.folder
    nn = build_store(df, 'none', P, store_dir=tmp_path, progress=False)
    assert nn.audio_source == 'none' and np.allclose(nn.get('t000'), -100.0)
    # the options grouped (AudioInputs, Extraction) name the same stores as their keywords
    grouped = build_store(df, 'synthetic', P, audio=AudioInputs(seed=1),
                          run=Extraction(store_dir=tmp_path, progress=False))
    assert grouped.folder == build_store(df, 'synthetic', P, store_dir=tmp_path, seed=1, progress=False).folder
    again = build_store(df, 'synthetic', P, run=Extraction(store_dir=tmp_path), progress=False)   # keywords win
    assert again.folder == st.folder

def test_bad_parameters(tmp_path):
    with pytest.raises(ParameterError, match='audio_source'): build_store(tracks(2), 'spotify', P, store_dir=tmp_path)
    with pytest.raises(DataError, match='track_key'): build_store(tracks(2).drop(columns='track_key'), 'synthetic', P, store_dir=tmp_path)
    with pytest.raises(ParameterError, match='audio_map'): build_store(tracks(2), 'local', P, store_dir=tmp_path)
    with pytest.raises(ParameterError, match='n_jobs'): build_store(tracks(2), 'synthetic', P, n_jobs=0, store_dir=tmp_path)
    with pytest.raises(TypeError, match=r"\['n_job'\]"):   # a misspelt option
        build_store(tracks(2), 'synthetic', P, n_job=2, store_dir=tmp_path)

def test_local_bad_files_skipped(tmp_path, mirror):
    (tmp_path/'empty.mp3').write_bytes(b'')
    (tmp_path/'trunc.ogg').write_bytes(sorted((mirror/'audio-cc').glob('*.ogg'))[0].read_bytes()[:2000])
    amap = pd.DataFrame(dict(track_key=['t000', 't001', 't002', 't003'],
                             path=[str(mirror/'previews'/'rap.mp3'), 'empty.mp3', 'trunc.ogg', 'missing.wav']))
    amap.to_csv(tmp_path/'map.csv', index=False)
    st = build_store(tracks(5), 'local', P, audio_map=tmp_path/'map.csv', audio_dir=tmp_path, store_dir=tmp_path/'spec', progress=False)
    assert st.index.ok.tolist() == [True, False, False, False, False]
    r = st.index.set_index('track_key').reason
    assert 'empty' in r['t001'] and 'trunc.ogg' in r['t002'] and 'not found' in r['t003'] and 'audio_map' in r['t004']
    assert np.allclose(st.get('t001'), -100.0)                 # skipped rows hold the spectrogram of silence

def test_store_records_padding(tmp_path, mirror):
    "A real clip a little shorter than the window (within load_audio's coverage) is padded, and the index says by how much."
    import soundfile as sf
    y = load_audio(mirror/'previews'/'rap.mp3', sr=22050, duration=3.0)
    sf.write(tmp_path/'short.wav', y[:int(2.8*22050)], 22050)           # 2.8 s of a 3 s window: 93 % covered
    sf.write(tmp_path/'cut.wav', y[:int(1.0*22050)], 22050)             # 1 s of 3 s: too short
    amap = pd.DataFrame(dict(track_key=['t000', 't001', 't002'], path=[str(mirror/'previews'/'rap.mp3'), 'short.wav', 'cut.wav']))
    st = build_store(tracks(3), 'local', replace(P, seconds=3.0), audio_map=amap, audio_dir=tmp_path, store_dir=tmp_path/'spec', progress=False)
    ix = st.index.set_index('track_key')
    assert ix.ok.tolist() == [True, True, False] and 'too short' in ix.reason['t002']
    assert ix.padded_s['t000'] == 0 and abs(ix.padded_s['t001'] - 0.2) < 0.01

def test_previews_source_and_auto(tmp_path, mirror):
    files = sorted((mirror/'previews').glob('*.mp3'))
    cat = [dict(id=i + 1, title=f"Song {i}", artist='A', duration_ms=30000, file=f) for i, f in enumerate(files[:2])]
    df = tracks(3).assign(duration_ms=30000)
    with LocalProviders(cat) as lp:
        kw = dict(deezer_url=lp.deezer_url, itunes_url=lp.itunes_url, progress=False)
        prov = gather_previews(df, tmp_path/'audio', backoff=0.01, **kw)
        assert prov.status.tolist() == ['ok', 'ok', 'no_match']
        assert resolve_audio_source('auto', lp.deezer_url) == 'previews'
        st = build_store(df, 'auto', P, previews=prov, preview_dir=tmp_path/'audio', store_dir=tmp_path/'spec', **kw)
    assert st.audio_source == 'previews' and st.meta['audio_source_requested'] == 'auto'
    assert st.index.ok.tolist() == [True, True, False] and 'no preview (no_match' in st.index.reason[2]
    ref = melspec(load_audio(files[0], sr=P.sr, duration=1.0), P)
    assert np.abs(st.get('t000') - ref).max() < 0.1
    st2 = build_store(df, 'auto', P, store_dir=tmp_path/'spec', deezer_url='http://127.0.0.1:9', progress=False)
    assert st2.audio_source == 'synthetic' and st2.meta['audio_source_requested'] == 'auto'

def test_resume_after_sigkill(tmp_path):
    "Kill a building process mid-way; a second build resumes and gives the same array as one uninterrupted build."
    # the child computes each chunk slowly (so the kill lands mid-build, whatever the machine's speed), and both
    # processes use one BLAS thread: float16 stores are bit-identical only for the same summation order
    code = textwrap.dedent(f"""
        import sys, time; sys.path.insert(0, {str(ROOT)!r}); sys.path.insert(0, {str(Path(__file__).parent)!r})
        from threadpoolctl import threadpool_limits; threadpool_limits(1)
        from test_features import tracks, P
        import popnb.features as F
        _slow = F.compute_chunk
        F.compute_chunk = lambda *a, **k: (time.sleep(0.15), _slow(*a, **k))[1]
        F.build_store(tracks(40), 'synthetic', P, store_dir={str(tmp_path/'a')!r}, chunk_size=2, progress=False)
    """)
    from threadpoolctl import threadpool_limits
    import popnb.features as F
    with threadpool_limits(1):
        proc = subprocess.Popen([sys.executable, '-c', code])
        deadline, n_done = time.time() + 120, 0
        while time.time() < deadline and n_done < 6:
            try: n_done = int(F._done_rows(F.Journal(next((tmp_path/"a").glob("*.partial"))/"journal.jsonl"), 40)[0].sum())
            except (StopIteration, OSError): pass
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL); proc.wait()
        parts = list((tmp_path/'a').glob('*.partial'))
        assert parts, 'the build finished before it could be interrupted'
        n_done = int(F._done_rows(F.Journal(parts[0]/"journal.jsonl"), 40)[0].sum())
        assert 0 < n_done < 40
        resumed = build_store(tracks(40), 'synthetic', P, store_dir=tmp_path/'a', chunk_size=2, progress=False)
        straight = build_store(tracks(40), 'synthetic', P, store_dir=tmp_path/'b', chunk_size=7, progress=False)
    assert np.array_equal(np.asarray(resumed.X), np.asarray(straight.X))
    assert not list((tmp_path/'a').glob('*.partial')) and resumed.index.ok.all()

def test_processes_and_dask_agree(tmp_path):
    df = tracks(8)
    one = build_store(df, 'synthetic', P, store_dir=tmp_path/'1', chunk_size=2, progress=False)
    two = build_store(df, 'synthetic', P, store_dir=tmp_path/'2', chunk_size=2, n_jobs=2, progress=False)
    from distributed import Client, LocalCluster
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None) as lc, Client(lc) as c:
        dk = build_store(df, 'synthetic', P, store_dir=tmp_path/'3', chunk_size=2, client=c, progress=False)
    assert np.array_equal(np.asarray(one.X), np.asarray(two.X)) and np.array_equal(np.asarray(one.X), np.asarray(dk.X))

def test_compute_chunk_never_raises(tmp_path):
    rows, arr, ok, why = compute_chunk([(0, 'file', str(tmp_path/'nope.mp3'), ''), (1, 'missing', None, 'no preview'), (2, 'none', None, '')], P)
    assert rows == [0, 1, 2] and ok == [False, False, True] and 'nope.mp3' in why[0] and arr.shape == (3, *P.shape)

# --- audio descriptors (issue 12 §1) ---
from popnb.core import AudioError
from popnb.features import audio_descriptors, file_descriptors, key_from_chroma, DESCRIPTORS, MEASURED_FEATURES, LEARNED_FEATURES

SR = 22050
from popnb.testing import click_track, chords, MAJOR_PROG, MINOR_PROG   # signals with known tempo and key

def test_descriptors_documented():
    assert set(MEASURED_FEATURES) <= set(DESCRIPTORS) and len(LEARNED_FEATURES) == 7
    assert all(len(v) == 3 and all(v) for v in DESCRIPTORS.values())
    for f in LEARNED_FEATURES: assert f not in DESCRIPTORS          # learned scores: no descriptor claims to be one

@pytest.mark.parametrize('bpm', [80, 100, 140, 165])
def test_tempo_of_click_tracks(bpm):
    d = audio_descriptors(click_track(bpm), SR)
    assert abs(d['tempo'] - bpm) < 0.02*bpm and d['beat_regularity'] > 0.9 and abs(d['onset_rate'] - bpm/60) < 0.3

@pytest.mark.parametrize('sr', [22050, 48000])
def test_sine_is_minus_23_lufs(sr):
    t = np.arange(10*sr)/sr
    d = audio_descriptors((0.1*np.sin(2*np.pi*1000*t)).astype(np.float32), sr)
    assert abs(d['loudness'] + 23.0) < 0.1
    d6 = audio_descriptors((0.05*np.sin(2*np.pi*1000*t)).astype(np.float32), sr)
    assert abs(d['loudness'] - d6['loudness'] - 20*np.log10(2)) < 0.05     # half the amplitude: 6 dB less

@pytest.mark.parametrize('root,mode,key', [(60, 1, 0), (67, 1, 7), (57, 0, 9), (52, 0, 4)])
def test_key_of_chord_progressions(root, mode, key):
    d = audio_descriptors(chords(MAJOR_PROG if mode else MINOR_PROG, root), SR)
    assert (d['key'], d['mode']) == (key, mode) and d['key_strength'] > 0.6

def test_descriptor_bad_input(tmp_path):
    import soundfile as sf
    with pytest.raises(AudioError, match='silent'): audio_descriptors(np.zeros(5*SR, np.float32), SR)
    with pytest.raises(AudioError, match='too short for descriptors'): audio_descriptors(click_track(120, 1.5), SR)
    with pytest.raises(AudioError, match='not finite'): audio_descriptors(np.full(4*SR, np.inf, np.float32), SR)
    with pytest.raises(AudioError, match='mono'): audio_descriptors(np.zeros((2, 4*SR), np.float32), SR)
    assert key_from_chroma(np.ones(12))[0] is None
    sf.write(tmp_path/'c.flac', np.stack([click_track(90, 8.0)]*2, 1), SR)
    d = file_descriptors(tmp_path/'c.flac')
    assert round(d['duration_ms']) == 8000 and abs(d['tempo'] - 90) < 2
    (tmp_path/'c.txt').write_text('x'*500)
    with pytest.raises(AudioError, match='c.txt'): file_descriptors(tmp_path/'c.txt')

def test_store_with_descriptors(tmp_path):
    "Same spectrograms as without, descriptors per row, failures with the reason, resumable, existing store names unchanged."
    import soundfile as sf
    p = replace(P, seconds=4.0)
    df = tracks(6)
    plain = build_store(df, 'synthetic', p, store_dir=tmp_path/'s', progress=False)
    assert build_store(df, 'synthetic', p, store_dir=tmp_path/'s', progress=False).folder == plain.folder
    with pytest.raises(DataError, match='without descriptors'): plain.descriptors
    assert build_store(df, 'synthetic', p, store_dir=tmp_path/'d', chunk_size=2, stop_after=1, progress=False, descriptors=True) is None
    st = build_store(df, 'synthetic', p, store_dir=tmp_path/'d', chunk_size=2, progress=False, descriptors=True)
    assert st.folder.name != plain.folder.name and np.array_equal(np.asarray(st.X), np.asarray(plain.X))
    D = st.descriptors
    assert list(D.columns) == ['track_key', *DESCRIPTORS, 'descriptor_reason'] and (D.descriptor_reason == '').all()
    assert np.corrcoef(df.loudness, D.loudness)[0, 1] > 0.95 and st.meta['n_described'] == 6
    straight = build_store(df, 'synthetic', p, store_dir=tmp_path/'e', chunk_size=2, progress=False, descriptors=True)
    pd.testing.assert_frame_equal(D, straight.descriptors)
    # local files: silence and a missing file give reasons, the batch completes
    sf.write(tmp_path/'silent.wav', np.zeros(4*SR, 'float32'), SR); sf.write(tmp_path/'clicks.wav', click_track(120, 4.0), SR)
    amap = {'a': tmp_path/'clicks.wav', 'b': tmp_path/'silent.wav', 'c': tmp_path/'gone.wav'}
    lo = build_store(pd.DataFrame(dict(track_key=list('abc'))), 'local', p, audio_map=amap, store_dir=tmp_path/'l', progress=False,
                     descriptors=True, allow_silent=True)
    r = lo.descriptors.set_index('track_key').descriptor_reason
    assert r['a'] == '' and 'silent' in r['b'] and 'file not found' in r['c']
    assert lo.index.ok.tolist() == [True, True, False]       # the silent clip has a spectrogram (allow_silent), not descriptors
    rows, arr, ok, why, desc = compute_chunk([(0, 'none', None, ''), (1, 'missing', None, 'no preview')], p, descriptors=True)
    assert ok == [True, False] and 'audio_source=none' in desc[0] and desc[1] == 'no preview'

def test_store_key_follows_the_code(tmp_path, monkeypatch):
    "An edited stand-in generator (or spectrogram) names another store: the cache misses; unchanged code finds the same store."
    import popnb.features as F
    k0 = F.store_code('synthetic')
    assert F.store_code('synthetic') == k0 and F.store_code('previews') == F.store_code('local')
    s0 = build_store(tracks(4), 'synthetic', params=P, store_dir=tmp_path, progress=False)
    assert build_store(tracks(4), 'synthetic', params=P, store_dir=tmp_path, progress=False).folder == s0.folder
    def edited(features, seconds=30.0, sr=22050, seed=0): return 0.5*synthesize_clip(features, seconds, sr, seed)
    monkeypatch.setattr(F, 'synthesize_clip', edited)
    assert F.store_code('synthetic') != k0 and F.store_code('previews') == F.store_code('local')
    s1 = build_store(tracks(4), 'synthetic', params=P, store_dir=tmp_path, progress=False)
    assert s1.folder != s0.folder and not np.array_equal(s1.get('t001'), s0.get('t001'))
    k1 = F.store_code('none')
    monkeypatch.setattr(F, 'melspec', lambda y, p=LOGMEL, block=128: melspec(y, p, block))   # an edited spectrogram
    assert F.store_code('none') != k1
