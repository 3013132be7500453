"popnb.cli: every command's help, argument errors (exit 2), a tiny trained bundle, prediction on real and broken files (exit 1), formats, mismatched bundles, the console script."
import argparse, json, io, os, subprocess, sys
from pathlib import Path
import numpy as np, pandas as pd, pytest, torch
from popnb.core import set_threads, ParameterError
from popnb.cli import main
from popnb.predict import predict_files, metadata_table, PREDICT_COLS, ARTIST_CAVEAT
from popnb.data import META_COLS
from popnb.train import load_predictor

set_threads(1)
COMMANDS = ['data', 'previews', 'extract', 'train', 'reproduce', 'predict']
ARTIST = ['--artist-popularity', '80', '--artist-followers', '2500000']

def run(capsys, *args):
    rc = main([str(a) for a in args]); o = capsys.readouterr()
    return rc, o.out, o.err

@pytest.mark.parametrize('cmd', [None, *COMMANDS])
def test_help(capsys, cmd):
    rc, out, _ = run(capsys, *([cmd] if cmd else []), '--help')
    assert rc == 0 and 'example:' in out and 'usage: popnb' in out

@pytest.mark.parametrize('args', [[], ['nope'], ['train', '--model', 'resnet'], ['train', '--epochs', 'x'], ['predict'],
                                  ['extract', '--audio-source', 'radio'], ['predict', 'a.mp3', '--format', 'xml'],
                                  ['train', '--mod', 'paper_cnn'],   # no abbreviations
                                  ['previews', '--token', 'abc']])    # no credentials as options
def test_bad_arguments(capsys, args):
    assert run(capsys, *args)[0] == 2

def test_parameter_errors_exit_2(capsys):
    rc, _, err = run(capsys, 'reproduce', '-p', 'smoek', 'true')
    assert rc == 2 and "did you mean 'smoke'" in err
    assert run(capsys, 'reproduce', '--only', '99_nothing')[0] == 2
    assert run(capsys, 'data', '--files', 'spotify.csv')[0] == 2
    rc, _, err = run(capsys, 'extract', '--n-mels', '0')
    assert rc == 2 and '--n-mels' in err

def test_predict_without_checkpoint(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv('POPNB_ROOT', str(tmp_path))
    rc, _, err = run(capsys, 'predict', tmp_path/'a.mp3', *ARTIST)
    assert rc == 2 and 'popnb train' in err and 'no trained model' in err
    rc, _, err = run(capsys, 'predict', tmp_path/'a.mp3', '--model', tmp_path/'missing.pt')
    assert rc == 2 and 'popnb train' in err

@pytest.fixture(scope='module')
def mirror_env(tmp_path_factory):
    m = Path(os.environ.get('POPNB_DATA_MIRROR') or Path(__file__).resolve().parents[1].parent/'shared'/'data')
    if not m.is_dir(): pytest.skip('no data mirror: set POPNB_DATA_MIRROR')
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv('POPNB_DATA_MIRROR', str(m.resolve()))
        yield m.resolve()

@pytest.fixture(scope='module')
def bundle(mirror_env, tmp_path_factory):
    "paper_cnn trained one epoch on 48 tracks of the paper's 40x8 synthetic spectrograms."
    d = tmp_path_factory.mktemp('bundle')
    rc = main(['train', '--model', 'paper_cnn', '--audio-source', 'synthetic', '--rows', '48', '--epochs', '1',
               '--store-dir', str(d/'spec'), '--out', str(d/'paper_cnn.pt')])
    assert rc == 0
    return d/'paper_cnn.pt'

@pytest.fixture(scope='module')
def files(mirror_env, tmp_path_factory):
    import soundfile as sf
    from popnb.audio import load_audio
    d = tmp_path_factory.mktemp('audio')
    ogg = sorted((mirror_env/'audio-cc').glob('*.ogg'))[0]
    y = load_audio(ogg, sr=48000, duration=3)
    sf.write(d/'stereo_48k.flac', np.stack([y, 0.5*y], 1), 48000)
    sf.write(d/'mono_8k.wav', load_audio(ogg, sr=8000, duration=2), 8000)
    (d/'empty.wav').write_bytes(b'')
    (d/'corrupt.mp3').write_bytes(os.urandom(4000))
    good = [*sorted((mirror_env/'previews').glob('*.mp3'))[:2], ogg, d/'stereo_48k.flac', d/'mono_8k.wav']
    return good, [d/'empty.wav', d/'corrupt.mp3']

def test_bundle_contents(bundle):
    p = load_predictor(bundle, device='cpu')
    assert (p.name, p.spec_shape, p.audio_source, p.uses_audio, p.data['n_tracks']) == ('paper_cnn', (40, 8), 'synthetic', True, 48)
    assert p.data['sha256'] == 'd847e1ca0439f282d88b426d0111eaf8015913c0aac48843431c57fb5f1b22e8'
    assert set(p.medians) == set(META_COLS) and all(np.isfinite(list(p.medians.values())))
    assert p.params.n_samples == 1967 and p.config.epochs == 1

def test_predict_good_and_bad_files(capsys, bundle, files):
    good, bad = files
    rc, out, err = run(capsys, 'predict', *good, *bad, '--model', bundle, *ARTIST, '--fill-missing', '--format', 'json', '-q')
    assert rc == 1
    r = pd.DataFrame(json.loads(out))
    assert list(r.columns) == PREDICT_COLS and len(r) == len(good) + len(bad)
    ok = r.iloc[:len(good)]
    assert (ok.status == 'ok').all() and ok.popularity.between(0, 100).all() and (ok.error == '').all()
    assert (ok.model == 'paper_cnn').all() and (ok.audio_source == 'synthetic').all() and (ok.checkpoint == str(bundle)).all()
    assert all('tempo' in f + d for f, d in zip(ok.filled, ok.from_descriptors)) and not any('artist' in c for f in ok.filled for c in f)
    assert all(u == ['artist_popularity', 'artist_followers'] for u in ok.from_user)      # real lists in JSON
    assert (ok.low <= ok.popularity).all() and (ok.popularity <= ok.high).all() and (ok.coverage == 0.9).all()
    assert ok.audio_used.all() and not r.iloc[len(good):].audio_used.any()              # a file that failed was not used
    errs = r.iloc[len(good):]
    assert (errs.status == 'error').all() and errs.popularity.isna().all()
    assert 'empty' in errs.error.iloc[0] and errs.error.iloc[1].startswith('not an audio file FFmpeg can read (')
    assert '--fill-missing' not in ' '.join(errs.error) and 'Errno' not in ' '.join(errs.error)         # one clean line, no unrelated hint
    assert err.count('corrupt.mp3') == 1 and 'Illegal Audio-MPEG-Header' not in err and '2 of 7 file(s) failed' in err
    assert 'empty.wav' in err and 'corrupt.mp3' in err and '2 of 7' in err
    assert 'synthetic stand-in' in err and 'the number comes from the other inputs' in err

def test_csv_and_features_table(capsys, bundle, files, tmp_path):
    good, _ = files
    from popnb.data import load_paper_dataset
    f = load_paper_dataset()[META_COLS].head(3)
    f.assign(file=[Path(g).name for g in good[:3]]).to_csv(tmp_path/'by_name.csv', index=False)
    rc, out, _ = run(capsys, 'predict', *good[:3], '--model', bundle, '--features', tmp_path/'by_name.csv', '--format', 'csv', '-q')
    assert rc == 0
    t = pd.read_csv(io.StringIO(out))
    assert list(t.columns) == PREDICT_COLS and (t.status == 'ok').all() and t.filled.isna().all()
    # by order, and the same numbers as by name
    f.to_csv(tmp_path/'by_order.csv', index=False)
    rc, out2, _ = run(capsys, 'predict', *good[:3], '--model', bundle, '--features', tmp_path/'by_order.csv', '--format', 'csv', '-q')
    assert rc == 0 and pd.read_csv(io.StringIO(out2)).popularity.tolist() == t.popularity.tolist()
    # a file with no row, and a row with an impossible value, fail alone
    g = f.assign(file=[Path(x).name for x in good[:3]]); g.loc[1, 'energy'] = 3.0
    g.iloc[:2].to_csv(tmp_path/'partial.csv', index=False)
    rc, out, _ = run(capsys, 'predict', *good[:3], '--model', bundle, '--features', tmp_path/'partial.csv', '--format', 'json', '-q')
    r = json.loads(out)
    assert rc == 1 and [x['status'] for x in r] == ['ok', 'error', 'error']
    assert 'energy=3 is outside' in r[1]['error'] and 'no row for this file' in r[2]['error']
    # misspelled column, wrong row count: argument errors
    f.rename(columns={'tempo': 'tempp'}).to_csv(tmp_path/'typo.csv', index=False)
    rc, _, err = run(capsys, 'predict', *good[:3], '--model', bundle, '--features', tmp_path/'typo.csv')
    assert rc == 2 and "did you mean 'tempo'" in err
    assert run(capsys, 'predict', *good[:2], '--model', bundle, '--features', tmp_path/'by_order.csv')[0] == 2

def test_missing_metadata_is_not_guessed(capsys, bundle, files):
    rc, _, err = run(capsys, 'predict', files[0][0], '--model', bundle)
    assert rc == 2 and '--artist-popularity' in err and '--fill-missing' in err and 'tempo' not in err
    rc, _, err = run(capsys, 'predict', files[0][0], '--model', bundle, *ARTIST, '--no-descriptors')
    assert rc == 2 and '--fill-missing' in err and 'tempo' in err
    rc, _, err = run(capsys, 'predict', files[0][0], '--model', bundle, '--artist-popularity', '150', '--fill-missing')
    assert rc == 2 and 'artist_popularity=150' in err

def test_metadata_table():
    med = {c: 1.0 for c in META_COLS}
    feats = pd.DataFrame({'file': ['b.mp3'], 'tempo': [120.0]})
    t = metadata_table(['a.mp3', 'b.mp3'], med, features=feats, values={'artist_popularity': 70}, fill_missing=True)
    assert t.at[1, 'tempo'] == 120.0 and t.at[0, 'tempo'] == 1.0 and (t.artist_popularity == 70).all()
    assert 'no row' in t.at[0, 'error'] and t.at[1, 'error'] == '' and 'tempo' not in t.at[1, 'filled'].split()

def test_mismatched_bundle(capsys, bundle, files, tmp_path):
    b = torch.load(bundle, weights_only=True)
    torch.save({**b, 'mel': {**b['mel'], 'n_mels': 64}}, tmp_path/'shape.pt')
    rc, _, err = run(capsys, 'predict', files[0][0], '--model', tmp_path/'shape.pt', *ARTIST, '--fill-missing')
    assert rc == 2 and 'spec_shape' in err and 'n_mels=64' in err
    torch.save({**b, 'model': 'fusion_cnn'}, tmp_path/'weights.pt')
    rc, _, err = run(capsys, 'predict', files[0][0], '--model', tmp_path/'weights.pt', *ARTIST, '--fill-missing')
    assert rc == 2 and 'weights do not fit the fusion_cnn network' in err
    (tmp_path/'junk.pt').write_bytes(b'junk')
    rc, _, err = run(capsys, 'predict', files[0][0], '--model', tmp_path/'junk.pt', *ARTIST, '--fill-missing')
    assert rc == 2 and 'not a readable predictor bundle' in err
    from dataclasses import replace
    p = load_predictor(bundle)
    with pytest.raises(ParameterError, match='n_mels=64'): predict_files(files[0][:1], bundle, fill_missing=True, params=replace(p.params, n_mels=64), progress=False)

def test_meta_only_bundle(capsys, mirror_env, files, tmp_path):
    "A metadata-only network needs no store, is fed silence, and still reports broken files."
    rc = main(['train', '--model', 'fusion_meta', '--rows', '60', '--epochs', '1', '--out', str(tmp_path/'m.pt')])
    assert rc == 0 and load_predictor(tmp_path/'m.pt').uses_audio is False
    capsys.readouterr()
    rc, out, err = run(capsys, 'predict', files[0][0], files[1][0], '--model', tmp_path/'m.pt', *ARTIST, '--fill-missing', '--format', 'json', '-q')
    r = json.loads(out)
    assert rc == 1 and r[0]['status'] == 'ok' and r[0]['audio_used'] is False and r[0]['audio_source'] == 'none' and 'does not use the audio' in err

def test_console_script(bundle, files):
    env = dict(os.environ, POPNB_THREADS='1')
    r = subprocess.run([sys.executable, '-m', 'popnb.cli', 'predict', str(files[0][0]), str(files[1][0]), '--model', str(bundle),
                        *ARTIST, '--fill-missing', '--format', 'csv', '-q'], capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 1, r.stderr
    t = pd.read_csv(io.StringIO(r.stdout))
    assert t.status.tolist() == ['ok', 'error']
    r = subprocess.run([sys.executable, '-m', 'popnb.cli', 'train', '--help'], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and 'example:' in r.stdout
    exe = Path(sys.executable).parent/'popnb'
    if exe.is_file():
        r = subprocess.run([str(exe), 'predict', '--help'], capture_output=True, text=True, timeout=120)
        assert r.returncode == 0 and 'usage: popnb predict' in r.stdout

def test_previews_and_extract(capsys, mirror_env, tmp_path):
    "previews against popnb's look-alike provider server: two tracks found, one reported as no match; extract of a subset."
    from popnb.testing import LocalProviders
    from popnb.data import load_paper_dataset
    sub = load_paper_dataset().sample(3, random_state=0).sort_index()
    cat = [dict(id=i+1, title=r.name, artist=r.artist, duration_ms=r.duration_ms, file=mirror_env/'previews'/f)
           for i,(r,f) in enumerate(zip(sub.iloc[:2].itertuples(), ['rock.mp3', 'soul.mp3']))]
    with LocalProviders(cat) as srv:
        rc, out, _ = run(capsys, 'previews', '--limit', 3, '--out', tmp_path/'audio', '--deezer-url', srv.deezer_url, '--itunes-url', srv.itunes_url)
    assert rc == 0 and 'no_match' in out
    assert len(list((tmp_path/'audio').glob('*.mp3'))) == 2
    rc, out, _ = run(capsys, 'extract', '--audio-source', 'synthetic', '--preset', 'paper', '--limit', 16, '--store-dir', tmp_path/'spec')
    assert rc == 0 and '16 × (40, 8)' in out

def test_predict_from_audio_alone(capsys, bundle, files, tmp_path):
    "popnb predict song --artist-popularity P --artist-followers F: measured inputs from descriptors, learned scores from medians, each flagged."
    import soundfile as sf
    from popnb.predict import MEDIAN_OK
    good, bad = files
    song = good[0]
    rc, out, err = run(capsys, 'predict', song, '--model', bundle, '--artist-popularity', '35', '--artist-followers', '12000', '--format', 'json', '-q')
    assert rc == 0, err
    r = json.loads(out)[0]
    assert r['status'] == 'ok' and 0 <= r['popularity'] <= 100
    assert r['from_user'] == ['artist_popularity', 'artist_followers']
    assert r['from_descriptors'] == ['loudness', 'tempo']                                 # a 30 s preview: not the track's length
    assert set(r['filled']) == set(MEDIAN_OK) | {'duration_ms'} and r['notes'][0].startswith('duration: the file is a 30')
    assert r['inputs']['duration_ms'] == load_predictor(bundle, device='cpu').medians['duration_ms']
    assert r['extrapolation'] and 'artist popularity 35: below every training artist' in r['outside'][0]
    assert 'stand-in' in r['caveat'] and 'stand-in' in err
    # the artist's values are today's, not the release day's: the row says so, and so does the note on stderr
    assert r['caveat'].endswith(ARTIST_CAVEAT) and "today's values, not the release day's" in err and 'after every release' in err
    # a user value wins over the measurement
    rc, out, _ = run(capsys, 'predict', song, '--model', bundle, '--artist-popularity', '35', '--artist-followers', '12000', '--tempo', '99', '--format', 'json', '-q')
    r = json.loads(out)[0]
    assert rc == 0 and 'tempo' in r['from_user'] and 'tempo' not in r['from_descriptors'] and r['inputs']['tempo'] == 99.0
    # a silent file: no descriptors, the reason given, the batch goes on
    sf.write(tmp_path/'silent.wav', np.zeros(5*22050, 'float32'), 22050)
    rc, out, _ = run(capsys, 'predict', song, tmp_path/'silent.wav', *bad, '--model', bundle, *ARTIST, '--format', 'json', '-q')
    r = json.loads(out)
    assert rc == 1 and [x['status'] for x in r] == ['ok', 'error', 'error', 'error']
    assert 'silent' in r[1]['error'] and 'empty' in r[2]['error']

def test_bundle_inputs_nothing_supplies():
    "A bundle input that is neither given, nor a descriptor, nor a learned score is named with the reason."
    from popnb.features import DESCRIPTORS
    med = {c: 1.0 for c in META_COLS}
    with pytest.raises(ParameterError, match=r"mystery \(not a descriptor popnb computes from audio\)"):
        metadata_table(['a.mp3'], med, values={'artist_popularity': 50, 'artist_followers': 10}, described=[{}], cols=[*META_COLS, 'mystery'])
    with pytest.raises(ParameterError, match=r"artist_followers \(give it as --artist-followers, and not measurable from audio\)"):
        metadata_table(['a.mp3'], med, values={'artist_popularity': 50}, described=[{}], cols=META_COLS)
    # a descriptors bundle (its inputs are descriptors): all measured
    d = {k: 0.5 for k in DESCRIPTORS} | {'tempo': 120.0, 'loudness': -9.0, 'duration_ms': 200000.0, 'key': 3, 'mode': 1}
    t = metadata_table(['a.mp3'], {}, values={'artist_popularity': 50, 'artist_followers': 10}, described=[d], cols=['artist_popularity', 'artist_followers', 'tempo', 'key', 'spectral_centroid'])
    assert t.at[0, 'error'] == '' and t.at[0, 'from_descriptors'] == 'tempo key spectral_centroid' and t.at[0, 'filled'] == ''
    # descriptors that failed: the gap names the reason
    t = metadata_table(['a.mp3'], med, values={'artist_popularity': 50, 'artist_followers': 10}, described=['silent: digital silence'])
    assert 'no descriptors: silent' in t.at[0, 'error']

def test_dataset_collection(capsys, mirror_env, tmp_path):
    "--dataset takes a collection file; one without Spotify's audio features cannot train the paper's 13-input networks, and says why."
    from popnb.data import load_dataset, GATHERABLE_EMPTY
    df = load_dataset('updated').head(30)
    raw = pd.DataFrame(dict(name=df.name, popularity=df.popularity, duration_ms=df.duration_ms, artist=df.artist, artists_list=df.artists.map(','.join),
                            release_date=df.release_date, artist_popularity=df.artist_popularity, artist_followers=df.artist_followers,
                            artist_genres=df.artist_genres.map(str), **{c: np.nan for c in GATHERABLE_EMPTY if c != 'duration_ms'}))
    raw.to_csv(tmp_path/'collection.csv', index=False)
    rc, _, err = run(capsys, 'train', '--model', 'fusion_meta', '--dataset', tmp_path/'collection.csv', '--epochs', '1', '--out', tmp_path/'m.pt')
    assert rc == 2 and 'has no' in err and 'tempo' in err and 'descriptors' in err
    rc, _, err = run(capsys, 'train', '--dataset', tmp_path/'nope.csv')
    assert rc == 2 and 'no such file' in err

def test_previews_keep_a_collections_isrcs(capsys, mirror_env, tmp_path, monkeypatch):
    "popnb previews --dataset FILE looks tracks up by the collection's own ISRCs (the capture's only fill gaps)."
    import popnb.audio
    from popnb.data import load_dataset
    df = load_dataset('updated').head(4)
    raw = pd.DataFrame(dict(name=df.name, popularity=df.popularity, duration_ms=df.duration_ms, artist=df.artist, artists_list=df.artists.map(','.join),
                            release_date=df.release_date, artist_popularity=df.artist_popularity, artist_followers=df.artist_followers,
                            artist_genres=df.artist_genres.map(str), isrc=['USAAA0000001', None, 'USAAA0000003', None]))
    raw.to_csv(tmp_path/'c.csv', index=False)
    seen = {}
    def fake(tracks, *a, **k):
        seen['isrc'] = tracks.isrc.tolist()
        return pd.DataFrame(dict(track_key=tracks.track_key, provider='deezer', provider_id='1', url='', match_score=1.0, bytes=1, sha256='',
                                 status='ok', reason='', file='x.mp3'))
    monkeypatch.setattr(popnb.audio, 'gather_previews', fake)
    monkeypatch.setattr(popnb.audio, 'match_stats', lambda prov: pd.DataFrame({'tracks': [len(prov)]}, index=pd.Index(['ok'], name='status')))
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        rc, _, err = run(capsys, 'previews', '--dataset', tmp_path/'c.csv', '--out', tmp_path/'audio')
    assert rc == 0, err
    assert seen['isrc'][0] == 'USAAA0000001' and seen['isrc'][2] == 'USAAA0000003'

def test_streamed_rows_resume_and_jobs(capsys, bundle, files, tmp_path):
    "predict --out rows.csv|rows.jsonl: a corrupt file is an error row, the others go on; --resume after an interrupted run; --n-jobs 2 (the console script) gives the rows of --n-jobs 1."
    good, bad = files
    audio = [good[0], good[3], bad[1], good[4], good[0]]    # a preview, a FLAC, the corrupt file, a WAV, the preview again
    opts = ['--model', bundle, *ARTIST, '--fill-missing', '-q']
    rc, _, err = run(capsys, 'predict', *audio, *opts, '--out', tmp_path/'one.csv')
    assert rc == 1 and 'corrupt.mp3' in err, err
    one = pd.read_csv(tmp_path/'one.csv', keep_default_na=False)
    assert list(one.columns) == PREDICT_COLS and one.file.tolist() == [str(f) for f in audio]
    assert one.status.tolist() == ['ok', 'ok', 'error', 'ok', 'ok'] and one.error.iloc[2].startswith('not an audio file FFmpeg can read')
    r = subprocess.run([sys.executable, '-m', 'popnb.cli', 'predict', *map(str, audio), *map(str, opts), '--out', str(tmp_path/'two.csv'), '--n-jobs', '2'],
                       capture_output=True, text=True, env=dict(os.environ, POPNB_THREADS='1'), timeout=300)
    assert r.returncode == 1, r.stderr
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path/'two.csv', keep_default_na=False), one)
    # an interrupted run: its first two rows and part of the third; --resume predicts the rest, once each
    lines = (tmp_path/'one.csv').read_text().splitlines(keepends=True)
    (tmp_path/'part.csv').write_text(''.join(lines[:3]) + lines[3][:20])
    rc, _, err = run(capsys, 'predict', *audio[:4], *opts, '--out', tmp_path/'part.csv', '--resume')
    assert rc == 1 and 'resuming: 2 file(s)' in err, err
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path/'part.csv', keep_default_na=False), one.iloc[:4])
    rc, _, _ = run(capsys, 'predict', *audio[:2], *opts, '--out', tmp_path/'part.csv', '--resume')   # nothing left to do
    assert rc == 0 and len(pd.read_csv(tmp_path/'part.csv')) == 4
    # JSON lines by the suffix, the same rows
    rc, _, _ = run(capsys, 'predict', *audio[:3], *opts, '--out', tmp_path/'rows.jsonl')
    j = pd.read_json(tmp_path/'rows.jsonl', lines=True)
    assert rc == 1 and j.file.tolist() == one.file.iloc[:3].tolist()
    assert np.allclose(j.popularity, one.popularity.iloc[:3].replace('', np.nan).astype(float), equal_nan=True)
    rc, _, err = run(capsys, 'predict', audio[0], *opts, '--resume')
    assert rc == 2 and '--out FILE.csv' in err

def test_cli_networks_are_the_registrys():
    "`popnb train --model` offers exactly the study's networks of popnb.train's registry, read only when needed: `popnb --help` imports no torch."
    from popnb.cli import parser
    from popnb.train import NETWORKS
    train = next(a for a in parser()._actions if isinstance(a, argparse._SubParsersAction)).choices['train']
    assert tuple(next(a for a in train._actions if a.dest == 'model').choices) == NETWORKS
    code = ("import sys; from popnb.cli import main; rcs = [main(['--help']), main(['predict', '--help']), main(['data', '--help'])]; "
            "print(rcs, 'torch' in sys.modules)")
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.splitlines()[-1] == '[0, 0, 0] False', r.stdout[-500:] + r.stderr[-2000:]
