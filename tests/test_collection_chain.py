"""A collection gathered today, end to end on this machine: gather_spotify against a local server replaying the capture's
real Spotify answers (audio-features closed: 403) -> gather_previews against popnb.testing.LocalProviders (the recorded
provider bodies, real recordings as previews) -> the collection CSV -> papermill nbs/paper/04_grouped_audit.ipynb with
dataset=<that file>, feature_set=descriptors, audio_source=previews, smoke=true: its tables for the new collection,
labelled with the collection's sha256 and the feature source."""
import http.server, json, os, sqlite3, subprocess, sys, threading, time, warnings
from pathlib import Path
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
PAPER = ROOT/'nbs'/'paper'

def _spotify_fixture():
    "Artist objects from the authors' database and the capture's real top-track answers, keyed by artist id (as 01_data serves them)."
    from popnb.data import fetch_file, _parse_list
    con = sqlite3.connect(f"file:{fetch_file('db.sqlite3')}?mode=ro", uri=True)
    arts = {sid: dict(id=sid, name=n, popularity=p, followers={'total': f}, genres=_parse_list(g), type='artist')
            for n, f, g, p, sid in con.execute('select name, followers, genres, popularity, spotify_id from spotifier_artist')}
    con.close()
    tops = {}
    for i in range(16):
        for it in json.loads(fetch_file(f'spotify_tracks{i}.json').read_text())['items']:
            for a in it['track']['artists']:
                if a['id'] in arts: tops.setdefault(a['id'], []).append(it['track'])
    return arts, tops

class _Spotify(http.server.BaseHTTPRequestHandler):
    "Spotify's Web API as a new app sees it today: token, artists, top tracks; audio-features 403."
    arts, tops = {}, {}
    def log_message(self, *a): pass
    def _send(self, code, obj):
        b = json.dumps(obj).encode(); self.send_response(code)
        self.send_header('Content-Type', 'application/json'); self.send_header('Content-Length', str(len(b))); self.end_headers(); self.wfile.write(b)
    def do_POST(self):
        self.rfile.read(int(self.headers.get('Content-Length', 0)))
        self._send(200, {'access_token': 'tok', 'token_type': 'Bearer', 'expires_in': 3600})
    def do_GET(self):
        p = self.path.split('?')[0].strip('/').split('/')
        if p[:2] == ['v1', 'artists'] and len(p) == 3: return self._send(200, _Spotify.arts[p[2]])
        if p[:2] == ['v1', 'artists'] and p[3:] == ['top-tracks']: return self._send(200, {'tracks': _Spotify.tops.get(p[2], [])[:10]})
        if p[:2] == ['v1', 'audio-features']: return self._send(403, {'error': {'status': 403, 'message': 'Forbidden'}})
        self._send(404, {'error': {'status': 404, 'message': 'not found'}})

@pytest.fixture
def spotify(mirror, monkeypatch):
    monkeypatch.setenv('POPNB_DATA_MIRROR', str(mirror))
    _Spotify.arts, _Spotify.tops = _spotify_fixture()
    srv = http.server.ThreadingHTTPServer(('127.0.0.1', 0), _Spotify); srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    monkeypatch.setenv('SPOTIPY_CLIENT_ID', 'test-id'); monkeypatch.setenv('SPOTIPY_CLIENT_SECRET', 'test-value')
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown(); srv.server_close()

def test_collection_chain(spotify, mirror, tmp_path, monkeypatch):
    from popnb.core import sha256_file
    from popnb.data import spotify_client, gather_spotify, load_dataset
    from popnb.audio import gather_previews
    from popnb.report import SMOKE_TRACKS
    from popnb.testing import LocalProviders
    t0 = time.monotonic()
    root = tmp_path/'root'                       # the project root of the run: its data/raw/audio is where the store finds previews
    (root/'data'/'raw'/'audio').mkdir(parents=True)
    monkeypatch.setenv('POPNB_ROOT', str(root))
    # 1. Spotify: six artists' top tracks; audio-features refused, so its 11 columns are empty
    sp = spotify_client(api_url=spotify + '/v1/', token_url=spotify + '/api/token', backoff=0.01)
    ids = sorted(_Spotify.tops, key=lambda i: -len(_Spotify.tops[i]))[:6]
    coll = tmp_path/'collection.csv'
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter('always')
        gather_spotify(ids, sp=sp, out=coll)
    assert any('audio-features' in str(x.message) for x in w)
    raw = pd.read_csv(coll)
    assert raw.danceability.isna().all() and raw.isrc.notna().all() and raw.artist.nunique() == 6
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        df = load_dataset(str(coll))
    assert 'danceability' in df.attrs['absent_features']
    # 2. previews of the tracks a smoke run keeps, from the recorded provider bodies with real recordings behind them
    sub = df.groupby('artist', sort=False).head(SMOKE_TRACKS).reset_index(drop=True)
    recordings = sorted((mirror/'previews').glob('*.mp3')) + sorted((mirror/'audio-cc').glob('*.ogg'))
    cat = [dict(id=i + 1, title=r.name, artist=r.artist, duration_ms=r.duration_ms, isrc=r.isrc, file=recordings[i % len(recordings)])
           for i, r in enumerate(sub.itertuples())]
    with LocalProviders(cat) as srv:
        prov = gather_previews(sub, root/'data'/'raw'/'audio', deezer_url=srv.deezer_url, itunes_url=srv.itunes_url,
                               rates={'deezer': (1000, 1.0), 'itunes': (1000, 1.0)}, progress=False)
    assert (prov.status == 'ok').all(), prov[prov.status != 'ok'][['track_key', 'status', 'reason']]
    t1 = time.monotonic()
    # 3. the paper notebook on that collection, its inputs measured from the previews
    smoke = tmp_path/'smoke'
    env = {**os.environ, 'POPNB_SMOKE_ROOT': str(smoke), 'POPNB_THREADS': '1', 'MPLBACKEND': 'Agg',
           'PATH': str(Path(sys.executable).parent) + os.pathsep + os.environ.get('PATH', '')}
    r = subprocess.run([str(Path(sys.executable).parent/'papermill'), str(PAPER/'04_grouped_audit.ipynb'), str(tmp_path/'out.ipynb'),
                        '-k', 'python3', '--cwd', str(PAPER), '-p', 'dataset', str(coll), '-p', 'feature_set', 'descriptors',
                        '-p', 'audio_source', 'previews', '-p', 'smoke', 'True', '--no-progress-bar'],
                       env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    t2 = time.monotonic()
    arts = json.loads((smoke/'figures'/'manifest.json').read_text())['artefacts']
    sha = sha256_file(coll)[:12]
    for t in ('T4_grouped_protocol', 'T4_grouped_summary', 'T4_protocol_leakage', 'T4_threshold_sweep'):
        a = arts[f'table/{t}']
        assert a['audio_source'] == 'previews', t
        assert 'descriptors from previews' in a['caption'] and f'collection.csv (sha256 {sha})' in a['caption'], (t, a['caption'])
        assert a['params']['dataset'] == str(coll) and a['params']['feature_set'] == 'descriptors', t
        assert 'descriptors from previews' in (smoke/'figures'/'tables'/f'{t}.md').read_text(), t
    t4 = pd.read_csv(smoke/'figures'/'tables'/'T4_grouped_summary.csv')
    assert {'fusion_cnn', 'ridge', 'hgb_all', 'hgb_audio', 'paper_cnn'} <= set(t4.model)
    assert t4.mae.notna().sum() >= 10
    out = (tmp_path/'out.ipynb').read_text()
    scored = pd.read_csv(smoke/'figures'/'tables'/'T4_grouped_protocol.csv').query("metric == 'mae'").n.max()
    assert 0.7 * len(sub) <= scored <= len(sub)        # tracks whose descriptors failed are left out, and said so
    assert f'{scored} tracks of 6 artists scored' in out and 'without descriptors' in out
    print(f"chain: gather {t1 - t0:.1f} s, notebook {t2 - t1:.1f} s")

def test_collection_refused_under_spotify(spotify, tmp_path):
    "The paper's 13 inputs cannot be had from a collection gathered today: the notebook stops at its first run, saying what to use."
    from popnb.data import spotify_client, gather_spotify
    sp = spotify_client(api_url=spotify + '/v1/', token_url=spotify + '/api/token', backoff=0.01)
    coll = tmp_path/'collection.csv'
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        gather_spotify(sorted(_Spotify.tops, key=lambda i: -len(_Spotify.tops[i]))[:6], sp=sp, out=coll)
    env = {**os.environ, 'POPNB_SMOKE_ROOT': str(tmp_path/'smoke'), 'POPNB_ROOT': str(tmp_path/'root'), 'POPNB_THREADS': '1', 'MPLBACKEND': 'Agg',
           'PATH': str(Path(sys.executable).parent) + os.pathsep + os.environ.get('PATH', '')}
    r = subprocess.run([str(Path(sys.executable).parent/'papermill'), str(PAPER/'04_grouped_audit.ipynb'), str(tmp_path/'out.ipynb'),
                        '-k', 'python3', '--cwd', str(PAPER), '-p', 'dataset', str(coll), '-p', 'audio_source', 'none', '-p', 'smoke', 'True',
                        '--no-progress-bar'], env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode != 0 and "use feature_set='descriptors'" in r.stderr + r.stdout
