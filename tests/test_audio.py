"popnb.audio: decoding (libsndfile and PyAV) and its bad-input cases against real files, cut and short audio, stand-in audio, matching."
import io
from pathlib import Path
import numpy as np, pandas as pd, pytest, soundfile as sf
from popnb.core import AudioError, data_mirror
from popnb.audio import (DECODERS, load_audio, load_many, synthesize_clip, match_score, relax_title, search_queries, sniff_ext,
                         failure_cause)
from popnb.testing import encode_audio

# ---------------------------------------------------------------- decoding

def test_load_real_formats(mirror):
    mp3 = mirror/'previews'/'rock.mp3'
    y = load_audio(mp3, sr=22050)
    assert y.dtype == np.float32 and y.ndim == 1 and abs(len(y) - 30*22050) < 2205
    st = load_audio(mp3, sr=44100, mono=False, offset=1.0, duration=0.5)
    assert st.shape == (2, 22050)
    ogg = sorted((mirror/'audio-cc').glob('*.ogg'))[0]
    assert load_audio(ogg, sr=16000, duration=2.0).shape == (32000,)

@pytest.fixture(scope='module')
def formats(tmp_path_factory):
    "One real 10 s excerpt of a preview in every format load_audio reads: MP3 (the original), WAV, FLAC, OGG, M4A/AAC, Opus."
    mirror = data_mirror()
    if mirror is None: pytest.skip('no data mirror: set POPNB_DATA_MIRROR')
    d = tmp_path_factory.mktemp('formats')
    src = mirror/'previews'/'soul.mp3'
    y = load_audio(src, sr=44100, mono=False, duration=10.0).T
    sf.write(d/'a.wav', y, 44100); sf.write(d/'a.flac', y, 44100); sf.write(d/'a.ogg', y, 44100)
    encode_audio(src, d/'a.m4a', seconds=10); encode_audio(src, d/'a.opus', seconds=10)
    return {'.mp3': src, **{p.suffix: p for p in sorted(d.iterdir())}}

def test_every_format_on_a_plain_pip_install(formats):
    "MP3, OGG, FLAC, WAV, M4A/AAC and Opus all decode to the same music, without a system ffmpeg."
    ref = load_audio(formats['.wav'], duration=8.0)
    for ext, p in formats.items():
        info = {}
        y = load_audio(p, sr=22050, duration=8.0, info=info)
        assert y.shape == (176400,), ext
        assert info['decoder'] == DECODERS.get(ext, 'pyav'), ext
        x = ref[22050:88200]
        lag = max(range(-1200, 1201, 4), key=lambda L: float(np.dot(x, y[22050 + L:88200 + L])))   # AAC/Opus priming shifts by < 50 ms
        assert np.corrcoef(x, y[22050 + lag:88200 + lag])[0, 1] > 0.9, ext
    assert sniff_ext(formats['.opus'].read_bytes()[:80]) == '.opus' and sniff_ext(formats['.m4a'].read_bytes()[:16]) == '.m4a'

def test_both_decoders_agree_on_mp3(mirror):
    "PyAV and libsndfile decode the real MP3 preview to the same samples, within float rounding."
    p = mirror/'previews'/'edm.mp3'
    a, b = load_audio(p, decoder='pyav', mono=False, sr=44100), load_audio(p, decoder='sndfile', mono=False, sr=44100)
    assert a.shape == b.shape and np.abs(a - b).max() < 1e-4
    a, b = load_audio(p, decoder='pyav', offset=7.0, duration=2.0), load_audio(p, decoder='sndfile', offset=7.0, duration=2.0)
    assert np.abs(a - b).max() < 1e-3           # seeking lands on the same sample

def test_flac_wav_any_rate(tmp_path):
    x = 0.3*np.sin(2*np.pi*440*np.arange(48000)/48000).astype('float32')
    sf.write(tmp_path/'a.flac', np.stack([x, x], 1), 48000)
    sf.write(tmp_path/'a.wav', x, 8000)
    assert load_audio(tmp_path/'a.flac', sr=22050).shape == (22050,)
    assert load_audio(tmp_path/'a.wav', sr=16000).shape == (96000,)   # 6 s at 8 kHz -> 16 kHz

def test_crop_pad_and_coverage_policy(tmp_path):
    x = 0.5*np.ones(22050, 'float32')
    sf.write(tmp_path/'one.wav', x, 22050)
    info = {}
    y = load_audio(tmp_path/'one.wav', duration=1.05, info=info)       # 95 % of the window: padded, and says so
    assert y.shape == (23152,) and y[:22050].min() > 0.4 and np.abs(y[22100:]).max() == 0 and info['padded_s'] == pytest.approx(0.05, abs=1e-3)
    with pytest.raises(AudioError, match=r'too short: 1\.0 s of a 3\.0 s window'): load_audio(tmp_path/'one.wav', duration=3.0)
    assert load_audio(tmp_path/'one.wav', duration=3.0, coverage=0.3).shape == (66150,)   # a looser policy, by parameter
    assert load_audio(tmp_path/'one.wav', offset=0.5, duration=0.25).shape == (5512,)
    with pytest.raises(AudioError, match='too short'): load_audio(tmp_path/'one.wav', offset=2.0)

@pytest.mark.parametrize('name,data,reason', [
    ('empty.mp3', b'', 'empty file'),
    ('text.ogg', b'hello world, I am not audio' * 30, 'not a readable audio file'),
    ('page.mp3', b'<!doctype html><html>' + b'x' * 2000, 'not a readable audio file'),
    ('junk.wav', b'RIFF\x00\x00\x00\x00WAVEjunk' + b'\x01' * 50, 'not a readable audio file'),
    ('x.m4a', b'\x00\x00\x00\x18ftypM4A ' + b'\x00' * 200, 'not a readable audio file'),
])
def test_bad_files_raise_typed_error(tmp_path, name, data, reason):
    (tmp_path/name).write_bytes(data)
    with pytest.raises(AudioError, match=reason) as e: load_audio(tmp_path/name)
    assert name in str(e.value) and isinstance(e.value, ValueError)

# ---------------------------------------------------------------- cut and short audio, from real files

@pytest.mark.parametrize('decoder', ['pyav', 'sndfile'])
def test_cut_mp3_is_truncated_not_padded(tmp_path, mirror, decoder):
    "A real preview cut mid-stream: its Info frame still says 30 s, it decodes 4.4 s -> an error naming the file, not 25.6 s of zeros."
    b = (mirror/'previews'/'edm.mp3').read_bytes()
    (tmp_path/'cut.mp3').write_bytes(b[:int(len(b)*0.152)])
    with pytest.raises(AudioError, match=r'cut\.mp3: truncated: 4\.4 s of the 30\.0 s the header declares'):
        load_audio(tmp_path/'cut.mp3', duration=30.0, decoder=decoder)
    with pytest.raises(AudioError, match='truncated'): load_audio(tmp_path/'cut.mp3', decoder=decoder)
    assert load_audio(tmp_path/'cut.mp3', duration=2.0, decoder=decoder).shape == (44100,)   # the part that is there is usable
    (tmp_path/'head.mp3').write_bytes(b[:600])                  # only the header
    with pytest.raises(AudioError, match='head.mp3'): load_audio(tmp_path/'head.mp3', decoder=decoder)

def test_cut_ogg_and_m4a(tmp_path, mirror, formats):
    ogg = sorted((mirror/'audio-cc').glob('*.ogg'))[0].read_bytes()
    (tmp_path/'cut.ogg').write_bytes(ogg[:3000])
    with pytest.raises(AudioError, match='cut.ogg'): load_audio(tmp_path/'cut.ogg')
    m4a = formats['.m4a'].read_bytes()                          # AAC in MP4, index first as iTunes serves it
    (tmp_path/'cut.m4a').write_bytes(m4a[:len(m4a)*4//10])
    with pytest.raises(AudioError, match=r'cut\.m4a: truncated: \d\.\d s of the 10\.0 s the header declares'): load_audio(tmp_path/'cut.m4a')

def test_short_real_clip_is_too_short(tmp_path, mirror):
    "A whole 3 s clip cut from a real recording is 'too short' for a 30 s window; the 5.3 s real trumpet solo too."
    clip = load_audio(mirror/'previews'/'rock.mp3', sr=44100, mono=False, offset=5.0, duration=3.0)
    sf.write(tmp_path/'clip3.flac', clip.T, 44100)
    with pytest.raises(AudioError, match=r'clip3\.flac: too short: 3\.0 s of a 30\.0 s window'): load_audio(tmp_path/'clip3.flac', duration=30.0)
    assert load_audio(tmp_path/'clip3.flac', duration=3.0).shape == (66150,)
    trumpet = [p for p in (mirror/'audio-cc').glob('*.ogg') if 'trumpet' in p.name][0]
    with pytest.raises(AudioError, match=r'too short: 5\.3 s of a 30\.0 s window'): load_audio(trumpet, duration=30.0)

def test_silent_and_short(tmp_path):
    sf.write(tmp_path/'s.wav', np.zeros(44100, 'float32'), 44100)
    sf.write(tmp_path/'hiss.wav', np.full(44100, 1e-5, 'float32'), 44100)
    sf.write(tmp_path/'tick.wav', np.ones(200, 'float32')*.2, 44100)
    with pytest.raises(AudioError, match='silent'): load_audio(tmp_path/'s.wav')
    with pytest.raises(AudioError, match='silent'): load_audio(tmp_path/'hiss.wav')
    assert load_audio(tmp_path/'s.wav', allow_silent=True).shape == (22050,)
    with pytest.raises(AudioError, match='too short'): load_audio(tmp_path/'tick.wav')

def test_load_many_never_fails_and_reports_padding(tmp_path, mirror):
    (tmp_path/'bad.mp3').write_bytes(b'nope')
    b = (mirror/'previews'/'edm.mp3').read_bytes(); (tmp_path/'cut.mp3').write_bytes(b[:int(len(b)*0.152)])
    trumpet = [p for p in (mirror/'audio-cc').glob('*.ogg') if 'trumpet' in p.name][0]
    files = [mirror/'previews'/'soul.mp3', tmp_path/'bad.mp3', tmp_path/'missing.wav', tmp_path/'cut.mp3', trumpet]
    ys, rep = load_many(files, keys=['a', 'b', 'c', 'd', 'e'], duration=5.5)
    assert rep.ok.tolist() == [True, False, False, False, True] and ys[1] is None and ys[0].shape == (121275,)
    assert 'not a readable' in rep.reason[1] and 'not found' in rep.reason[2] and 'truncated: 4.4 s' in rep.reason[3]
    assert rep.padded_s[0] == 0 and 0.1 < rep.padded_s[4] < 0.2 and rep.seconds[4] == pytest.approx(5.333, abs=0.01)

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

# ---------------------------------------------------------------- matching and queries

def test_match_score_rejects_other_tracks():
    assert match_score('Love Me Harder', 'Ariana Grande', 236133, 'Love Me Again', 'RAYE', 186000) < 0.8
    assert match_score('Sacrifice', 'The Weeknd', 188918, 'Sacrifice', 'Bebe Rexha', 158000) < 0.8
    assert match_score('Sacrifice', 'The Weeknd', 188918, 'Sacrifice', 'The Weeknd', 188000) > 0.95
    assert match_score('Beyoncé', 'X', None, 'Beyonce', 'x', None) > 0.95

@pytest.mark.parametrize('title,relaxed', [
    ('Yesterday - Remastered 2009', 'Yesterday'), ('Hard to Say I\'m Sorry (feat. Peter Cetera)', "Hard to Say I'm Sorry"),
    ('Love of My Life (Live In Argentina / June 1979 / South American Single)', 'Love of My Life'),
    ('Señorita [feat. Camila Cabello]', 'Señorita'), ('Where Are You Baby? (7" Version)', 'Where Are You Baby?'), ('Joke', 'Joke')])
def test_relaxed_titles(title, relaxed):
    assert relax_title(title) == relaxed

def test_queries_survive_quotes():
    (_, strict), (_, relaxed) = search_queries(dict(name='Where Are You Baby? (7" Version)', artist='Betty Boo & Friends'))
    assert strict == 'artist:"Betty Boo & Friends" track:"Where Are You Baby? (7 Version)"' and strict.count('"') == 4
    assert relaxed == 'artist:"Betty Boo" track:"Where Are You Baby?"'

@pytest.mark.parametrize('status,reason,cause', [
    ('error', 'deezer: x: gave up after 5 attempts; last: Deezer refused: Quota limit exceeded (code 4)', 'quota (Deezer code 4)'),
    ('error', 'itunes: x: gave up after 5 attempts; last: iTunes throttled the request (HTTP 403)', 'throttled (iTunes 403)'),
    ('bad_audio', 'deezer: u (mp3): truncated: 4.4 s of the 30.0 s the header declares', 'truncated'),
    ('error', 'deezer: download: u: 1000 bytes received, Content-Length says 2000', 'truncated'),
    ('no_match', "best candidate 'A' by 'B' scores 0.50 < 0.8", 'below threshold'), ('ok', '', '')])
def test_failure_causes(status, reason, cause):
    assert failure_cause(status, reason) == cause
