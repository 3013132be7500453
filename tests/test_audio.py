"popnb.audio: decoding and its bad-input cases, stand-in audio, and the preview gatherer end to end against a local HTTP server."
import io, time
from pathlib import Path
import numpy as np, pandas as pd, pytest, requests, soundfile as sf
from popnb.core import AudioError, DownloadError, ParameterError, RateLimiter, http_get, sha256_file
from popnb.audio import (load_audio, load_many, synthesize_clip, gather_previews, preview_path, LocalProviders,
                         match_score, audio_key, provider_available)

# ---------------------------------------------------------------- decoding

def test_load_real_formats(mirror):
    mp3 = mirror/'previews'/'rock.mp3'
    y = load_audio(mp3, sr=22050)
    assert y.dtype == np.float32 and y.ndim == 1 and abs(len(y) - 30*22050) < 2205
    st = load_audio(mp3, sr=44100, mono=False, offset=1.0, duration=0.5)
    assert st.shape == (2, 22050)
    ogg = sorted((mirror/'audio-cc').glob('*.ogg'))[0]
    assert load_audio(ogg, sr=16000, duration=2.0).shape == (32000,)

def test_flac_wav_any_rate(tmp_path):
    x = 0.3*np.sin(2*np.pi*440*np.arange(48000)/48000).astype('float32')
    sf.write(tmp_path/'a.flac', np.stack([x, x], 1), 48000)
    sf.write(tmp_path/'a.wav', x, 8000)
    assert load_audio(tmp_path/'a.flac', sr=22050).shape == (22050,)
    assert load_audio(tmp_path/'a.wav', sr=16000).shape == (96000,)   # 6 s at 8 kHz -> 16 kHz

def test_crop_and_pad_policy(tmp_path):
    x = 0.5*np.ones(22050, 'float32')
    sf.write(tmp_path/'one.wav', x, 22050)
    y = load_audio(tmp_path/'one.wav', duration=3.0)
    assert y.shape == (66150,) and y[:22050].min() > 0.4 and np.abs(y[22100:]).max() == 0
    assert load_audio(tmp_path/'one.wav', offset=0.5, duration=0.25).shape == (5512,)
    with pytest.raises(AudioError, match='too short'): load_audio(tmp_path/'one.wav', offset=2.0)

@pytest.mark.parametrize('name,data,reason', [
    ('empty.mp3', b'', 'empty file'),
    ('text.ogg', b'hello world, I am not audio' * 30, 'not a readable audio file'),
    ('page.mp3', b'<!doctype html><html>' + b'x' * 2000, 'not a readable audio file'),
    ('junk.wav', b'RIFF\x00\x00\x00\x00WAVEjunk' + b'\x01' * 50, 'not a readable audio file'),
])
def test_bad_files_raise_typed_error(tmp_path, name, data, reason):
    (tmp_path/name).write_bytes(data)
    with pytest.raises(AudioError, match=reason) as e: load_audio(tmp_path/name)
    assert name in str(e.value) and isinstance(e.value, ValueError)

def test_truncated_files(tmp_path, mirror):
    b = (mirror/'previews'/'edm.mp3').read_bytes()
    (tmp_path/'cut.mp3').write_bytes(b[:len(b)//10])          # a download that stopped at 10 %
    y = load_audio(tmp_path/'cut.mp3', duration=30.0)           # what is there decodes; the rest is zero-padded
    assert y.shape == (661500,) and np.abs(y[-22050:]).max() == 0
    (tmp_path/'head.mp3').write_bytes(b[:600])                  # only the header
    with pytest.raises(AudioError, match='head.mp3'): load_audio(tmp_path/'head.mp3')
    ogg = sorted((mirror/'audio-cc').glob('*.ogg'))[0].read_bytes()
    (tmp_path/'cut.ogg').write_bytes(ogg[:3000])
    with pytest.raises(AudioError, match='cut.ogg'): load_audio(tmp_path/'cut.ogg')

def test_silent_and_short(tmp_path):
    sf.write(tmp_path/'s.wav', np.zeros(44100, 'float32'), 44100)
    sf.write(tmp_path/'hiss.wav', np.full(44100, 1e-5, 'float32'), 44100)
    sf.write(tmp_path/'tick.wav', np.ones(200, 'float32')*.2, 44100)
    with pytest.raises(AudioError, match='silent'): load_audio(tmp_path/'s.wav')
    with pytest.raises(AudioError, match='silent'): load_audio(tmp_path/'hiss.wav')
    assert load_audio(tmp_path/'s.wav', allow_silent=True).shape == (22050,)
    with pytest.raises(AudioError, match='too short'): load_audio(tmp_path/'tick.wav')

def test_m4a_without_ffmpeg_names_the_file(tmp_path):
    (tmp_path/'x.m4a').write_bytes(b'\x00\x00\x00\x18ftypM4A ' + b'\x00' * 200)
    with pytest.raises(AudioError, match='x.m4a'): load_audio(tmp_path/'x.m4a')

def test_load_many_never_fails(tmp_path, mirror):
    (tmp_path/'bad.mp3').write_bytes(b'nope')
    files = [mirror/'previews'/'soul.mp3', tmp_path/'bad.mp3', tmp_path/'missing.wav']
    ys, rep = load_many(files, keys=['a', 'b', 'c'], duration=1.0)
    assert rep.ok.tolist() == [True, False, False] and ys[1] is None and ys[0].shape == (22050,)
    assert 'not a readable' in rep.reason[1] and 'not found' in rep.reason[2]

# ---------------------------------------------------------------- stand-in audio

def test_synthesize_deterministic_and_driven_by_features():
    f = dict(tempo=100.0, key=2, mode=0, energy=0.5, loudness=-8.0, danceability=0.5, acousticness=0.5)
    a = synthesize_clip(f, seconds=3.0, sr=22050, seed=1)
    assert a.dtype == np.float32 and a.shape == (66150,) and np.array_equal(a, synthesize_clip(f, 3.0, 22050, 1))
    assert not np.array_equal(a, synthesize_clip(f, 3.0, 22050, 2))
    spec = lambda y: np.abs(np.fft.rfft(y))
    bright, dull = synthesize_clip({**f, 'energy': 0.95, 'acousticness': 0.0}, 3.0), synthesize_clip({**f, 'energy': 0.1, 'acousticness': 0.95}, 3.0)
    centroid = lambda y: float((spec(y)*np.arange(len(spec(y)))).sum()/spec(y).sum())
    assert centroid(bright) > 1.5*centroid(dull)
    loud, quiet = synthesize_clip({**f, 'loudness': -4.0}, 3.0), synthesize_clip({**f, 'loudness': -20.0}, 3.0)
    assert np.sqrt((loud**2).mean()) > 3*np.sqrt((quiet**2).mean())
    assert synthesize_clip(pd.Series({'tempo': np.nan, 'key': pd.NA}), 0.2).shape == (4410,)

# ---------------------------------------------------------------- gathering previews

def catalog(m):
    p = sorted((m/'previews').glob('*.mp3')); c = sorted((m/'audio-cc').glob('*.ogg'))
    return [dict(id=1, title='Neon Rain', artist='Vela Nord', duration_ms=30000, file=p[0], isrc='QZABC2300001'),
            dict(id=2, title='Concrete Psalm', artist='MC Orbit', duration_ms=30000, file=p[1]),
            dict(id=3, title='Iron Horse', artist='The Gravel Kings', duration_ms=30000, file=p[2]),
            dict(id=4, title='Slow Honey (feat. Kai)', artist='Ada Bloom', duration_ms=30000, file=p[3]),
            dict(id=5, title='Sweet Waltz', artist='Setuniman', duration_ms=49200, file=c[0])]

def wanted():
    return pd.DataFrame(dict(track_key=['k1', 'k2', 'k3', 'k4', 'k5'],
                             name=['Neon Rain', 'Concrete Psalm', 'Iron Horse', 'Slow Honey', 'Love Me Harder'],
                             artist=['Vela Nord', 'MC Orbit', 'The Gravel Kings', 'Ada Bloom', 'Ariana Grande'],
                             duration_ms=[30000, 30500, 30000, 29000, 236133], isrc=['QZABC2300001', None, None, None, None]))

FAST = dict(backoff=0.05, timeout=1.0, progress=False, rates={'deezer': (1000, 1.0), 'itunes': (1000, 1.0)})

def test_gather_end_to_end_with_faults(tmp_path, mirror):
    cat = catalog(mirror)
    faults = {'/deezer/search': ['429', '500', 'timeout'], '/files/2': ['truncate'], '/files/3': ['500', '500']}
    with LocalProviders(cat, faults=faults, slow=2.0, retry_after=0.3) as dz, LocalProviders(cat[4:]) as it:
        prov = gather_previews(wanted(), tmp_path, deezer_url=dz.deezer_url, itunes_url=it.itunes_url, **FAST)
        assert prov.status.tolist() == ['ok', 'ok', 'ok', 'ok', 'no_match']
        assert (prov.provider[:4] == 'deezer').all()
        r = prov.set_index('track_key')
        assert r.loc['k5', 'url'] == '' and r.loc['k5', 'bytes'] == 0 and 'scores' in r.loc['k5', 'reason']
        files = preview_path(prov, tmp_path)
        assert sorted(files) == ['k1', 'k2', 'k3', 'k4']                      # never another track's audio for k5
        for i, k in enumerate(['k1', 'k2', 'k3', 'k4']):
            assert sha256_file(files[k]) == sha256_file(cat[i]['file']) == r.loc[k, 'sha256']
            assert files[k].name == audio_key(k) + '.mp3'                       # hash-named, never from the title
        assert (r.loc[['k1', 'k2'], 'match_score'] >= 0.8).all()
        assert not list(tmp_path.glob('*.part')) and not list(tmp_path.glob('.*.part'))
        # 429 (with Retry-After 0.3 s), 500 and a 2 s stall were all retried on the first search
        t = [ts for ts, p in dz.log if p == '/deezer/search']
        assert t[1] - t[0] >= 0.3
        # resumable: a second run asks the providers for nothing it already has
        n = len(dz.log)
        again = gather_previews(wanted(), tmp_path, deezer_url=dz.deezer_url, itunes_url=it.itunes_url, **FAST)
        assert again.status.tolist()[:4] == ['cached'] * 4
        assert not [p for _, p in dz.log[n:] if p.startswith('/files')]
        # a cached file that changed on disk is fetched again
        files['k2'].write_bytes(b'garbage')
        third = gather_previews(wanted(), tmp_path, deezer_url=dz.deezer_url, itunes_url=it.itunes_url, **FAST)
        assert third.set_index('track_key').loc['k2', 'status'] == 'ok'
        assert sha256_file(files['k2']) == sha256_file(cat[1]['file'])
    saved = pd.read_csv(tmp_path/'provenance.csv')
    assert list(saved.columns)[:9] == ['track_key', 'provider', 'provider_id', 'url', 'match_score', 'bytes', 'sha256', 'status', 'reason']

def test_gather_resumes_after_sigkill(tmp_path, mirror):
    "A gatherer killed mid-run keeps the tracks it finished: the rerun asks the providers for none of them."
    import signal, subprocess, sys, time
    from popnb.core import Journal
    cat = catalog(mirror)
    with LocalProviders(cat, faults={'/files/3': ['timeout']}, slow=60.0) as dz, LocalProviders(cat[4:]) as it:
        code = (f"import io, pandas as pd; from popnb.audio import gather_previews\n"
                f"df = pd.read_json(io.StringIO({wanted().to_json()!r}))\n"
                f"gather_previews(df, {str(tmp_path)!r}, deezer_url={dz.deezer_url!r}, itunes_url={it.itunes_url!r}, timeout=30, progress=False)")
        proc = subprocess.Popen([sys.executable, '-c', code])
        journal, deadline = Journal(tmp_path/'provenance.journal.jsonl'), time.time() + 60
        while time.time() < deadline and len(journal.records()) < 2: time.sleep(0.05)
        while time.time() < deadline and not any(p == '/files/3' for _, p in dz.log): time.sleep(0.05)
        proc.send_signal(signal.SIGKILL); proc.wait()
        assert [r['track_key'] for r in journal.records()] == ['k1', 'k2'] and not (tmp_path/'provenance.csv').exists()
        n = len(dz.log)
        prov = gather_previews(wanted(), tmp_path, deezer_url=dz.deezer_url, itunes_url=it.itunes_url, **FAST)
    assert prov.status.tolist() == ['cached', 'cached', 'ok', 'ok', 'no_match']
    assert not [p for _, p in dz.log[n:] if p in ('/files/1', '/files/2')]
    assert not journal.path.exists() and (tmp_path/'provenance.csv').is_file()

def test_second_provider_and_non_audio(tmp_path, mirror):
    cat = catalog(mirror)
    # Deezer knows only other songs (non-matching results); iTunes has the track; a third track's file is an HTML page
    with LocalProviders(cat[:1], faults={'/files/1': ['html'] * 10}) as dz, LocalProviders(cat) as it:
        df = wanted().iloc[[0, 2]].assign(isrc=None)
        prov = gather_previews(df, tmp_path, deezer_url=dz.deezer_url, itunes_url=it.itunes_url, retries=1, **FAST)
    r = prov.set_index('track_key')
    assert r.loc['k3', 'provider'] == 'itunes' and r.loc['k3', 'status'] == 'ok'
    # k1: Deezer served a web page instead of audio, so iTunes was asked and served the real file
    assert r.loc['k1', 'status'] == 'ok' and r.loc['k1', 'provider'] == 'itunes'

def test_gather_errors_are_counted_not_fatal(tmp_path, mirror):
    cat = catalog(mirror)
    with LocalProviders(cat, faults={'/deezer/search': ['500'] * 20}) as dz:
        prov = gather_previews(wanted().iloc[[1]], tmp_path, providers=('deezer',), deezer_url=dz.deezer_url, retries=2, **FAST)
    assert prov.status.tolist() == ['error'] and 'HTTP 500' in prov.reason[0] and 'gave up after 3 attempts' in prov.reason[0]
    with pytest.raises(ParameterError, match='spotify'): gather_previews(wanted(), tmp_path, providers=('spotify',))
    with pytest.raises(ParameterError, match='name'): gather_previews(wanted().drop(columns='name'), tmp_path)

def test_http_get_truncation_and_timeout(mirror):
    with LocalProviders(catalog(mirror), faults={'/files/1': ['truncate', 'truncate'], '/files/2': ['timeout'] * 5}, slow=1.0) as lp, requests.Session() as s:
        r = http_get(s, lp.url + '/files/1', backoff=0.01)
        assert len(r.content) == (mirror/'previews'/'edm.mp3').stat().st_size
        t0 = time.monotonic()
        with pytest.raises(DownloadError, match='timed out'): http_get(s, lp.url + '/files/2', timeout=0.3, retries=1, backoff=0.01)
        assert time.monotonic() - t0 < 3

def test_rate_limit_respected(mirror):
    with LocalProviders(catalog(mirror)) as lp, requests.Session() as s:
        rl = RateLimiter(5, 0.5)
        for _ in range(12): http_get(s, lp.deezer_url + '/search', params={'q': 'x'}, limiter=rl)
        t = [ts for ts, _ in lp.log]
        assert all(t[i + 5] - t[i] >= 0.5 - 0.01 for i in range(len(t) - 5))
        assert provider_available(lp.deezer_url) and not provider_available('http://127.0.0.1:9', timeout=0.3)

def test_match_score_rejects_other_tracks():
    assert match_score('Love Me Harder', 'Ariana Grande', 236133, 'Love Me Again', 'RAYE', 186000) < 0.8
    assert match_score('Sacrifice', 'The Weeknd', 188918, 'Sacrifice', 'Bebe Rexha', 158000) < 0.8
    assert match_score('Sacrifice', 'The Weeknd', 188918, 'Sacrifice', 'The Weeknd', 188000) > 0.95
    assert match_score('Beyoncé', 'X', None, 'Beyonce', 'x', None) > 0.95
