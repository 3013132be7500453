"popnb.data: fetching, the schema, validation errors, capture ids, splits, and a papermill run of 01_data."
import hashlib, http.server, json, os, subprocess, sys, threading
from pathlib import Path
import numpy as np, pandas as pd, pytest
import papermill as pm
from popnb import data as D
from popnb.core import ChecksumError, DataError, DownloadError, ParameterError

@pytest.fixture(autouse=True)
def _mirror(mirror, monkeypatch): monkeypatch.setenv('POPNB_DATA_MIRROR', str(mirror))

@pytest.fixture
def raw(): return pd.read_csv(D.fetch_file('spotify_data_updated.csv'))

def test_python_c_prints_1967(root):
    r = subprocess.run([sys.executable, '-c', 'import popnb.data as d; print(len(d.load_paper_dataset()))'],
                       cwd=root, capture_output=True, text=True, check=True)
    assert r.stdout.strip() == '1967'

def test_versions_and_schema():
    u, f, p = (D.load_paper_dataset(v) for v in ('updated', 'full', 'predicted'))
    assert (len(u), len(f), len(p)) == (1967, 2003, 1967)
    assert list(u.track_key) == list(p.track_key)              # the same key for the same row
    assert u.track_key.is_unique and set(D.SCHEMA) <= set(u.columns)
    assert u.artists.map(type).eq(list).all() and u.artist_genres.map(type).eq(list).all()
    assert u.year.between(1950, 2025).all() and u.key.isna().all()
    assert len(D.load_paper_dataset(duplicates='drop')) == 1967 - 28

def test_facts():
    f = D.dataset_facts(D.load_paper_dataset())
    assert (f['rows'], f['artists'], f['rows_reusing_an_earlier_rows_file']) == (1967, 98, 447)
    assert round(f['share_popular'], 4) == 0.9583

@pytest.mark.parametrize('change,msg', [
    (lambda d: d.rename(columns={'popularity': 'populrity'}), "'popularity' (found 'populrity'?)"),
    (lambda d: d.drop(columns=['tempo']), "missing column(s): 'tempo'"),
    (lambda d: d.assign(danceability=d.danceability.where(d.index != 0, -0.1)), "'danceability': values outside [0, 1] on line(s) 2"),
    (lambda d: d.assign(popularity=d.popularity.where(d.index != 5, 120)), "values outside [0, 100] on line(s) 7"),
    (lambda d: d.assign(artist_followers=d.artist_followers.where(d.index != 1, -5)), "'artist_followers': values outside >= 0"),
    (lambda d: d.assign(valence=d.valence.where(d.index != 2, np.nan)), "'valence': missing values on line(s) 4"),
    (lambda d: d.assign(loudness=d.loudness.astype(object).where(d.index != 3, 'loud')), "expected numbers, got e.g. 'loud'"),
    (lambda d: d.assign(release_date=d.release_date.where(d.index != 4, '25/08/2014')), "unparseable release dates on line(s) 6"),
    (lambda d: d.iloc[:0], "no rows"),
])
def test_bad_tables(raw, change, msg):
    with pytest.raises(DataError, match=None) as e: D.tidy(change(raw.copy()), 'bad.csv')
    assert msg in str(e.value)

def test_bad_parameters():
    with pytest.raises(ParameterError, match='version'): D.load_paper_dataset('v2')
    with pytest.raises(ParameterError, match='duplicates'): D.load_paper_dataset(duplicates='first')
    with pytest.raises(DataError, match="did you mean 'spotify_data.csv'"): D.fetch_file('spotify_dat.csv')

class _Srv(http.server.BaseHTTPRequestHandler):
    body, mode = b'', 'ok'
    def log_message(self, *a): pass
    def do_GET(self):
        if _Srv.mode == '500': self.send_response(500); self.end_headers(); return
        self.send_response(200); self.send_header('Content-Length', str(len(_Srv.body))); self.end_headers()
        self.wfile.write(_Srv.body if _Srv.mode == 'ok' else _Srv.body[:10])

@pytest.fixture
def server():
    s = http.server.ThreadingHTTPServer(('127.0.0.1', 0), _Srv)
    threading.Thread(target=s.serve_forever, daemon=True).start()
    yield f'http://127.0.0.1:{s.server_address[1]}'
    s.shutdown()

def test_fetch_resolution_order(tmp_path, monkeypatch, mirror, server):
    monkeypatch.setenv('POPNB_ROOT', str(tmp_path))
    name = 'songs_popularity.csv'
    _Srv.body, _Srv.mode = (mirror/'paper'/name).read_bytes(), 'ok'
    monkeypatch.delenv('POPNB_DATA_MIRROR')
    p = D.fetch_file(name, base_url=server)                        # 3. download
    assert p == tmp_path/'data/raw/paper'/name and D.sha256_file(p) == D.SOURCES[name].sha256
    _Srv.mode = '500'
    assert D.fetch_file(name, base_url=server) == p                # 1. data/raw, no network needed
    p.write_bytes(b'tampered')
    with pytest.raises(ChecksumError, match=name): D.fetch_file(name)
    p.unlink()
    monkeypatch.setenv('POPNB_DATA_MIRROR', str(mirror))
    assert D.sha256_file(D.fetch_file(name, base_url=server)) == D.SOURCES[name].sha256   # 2. mirror

def test_interrupted_download_leaves_nothing(tmp_path, monkeypatch, server):
    monkeypatch.setenv('POPNB_ROOT', str(tmp_path)); monkeypatch.delenv('POPNB_DATA_MIRROR')
    _Srv.body, _Srv.mode = b'x' * 5000, 'truncate'
    with pytest.raises(DownloadError, match='POPNB_DATA_MIRROR'): D.fetch_file('songs_popularity.csv', base_url=server, retries=1, backoff=0.01)
    assert not any((tmp_path/'data/raw/paper').glob('*'))

def test_capture_ids():
    m = D.attach_capture_ids(D.load_paper_dataset())
    assert m.spotify_id.notna().sum() > 500 and m.isrc.notna().sum() > 300
    assert m.spotify_id.dropna().str.fullmatch(r'[0-9A-Za-z]{22}').all()

def test_splits():
    df = D.load_paper_dataset()
    tr, te = D.paper_split(df, 3)
    assert len(np.intersect1d(tr, te)) == 0 and len(tr) + len(te) == len(df)
    for tr, te in D.grouped_folds(df, 5, 2):
        assert not set(df.artist.iloc[tr]) & set(df.artist.iloc[te])
    with pytest.raises(ParameterError): D.paper_split(df, test_size=1.5)

def test_papermill_01_data(root, kernel_name, tmp_path):
    out = tmp_path/'01_data.ipynb'
    pm.execute_notebook(root/'nbs/01_data.ipynb', out, parameters=dict(version='full', seed=1), kernel_name=kernel_name, cwd=root/'nbs', progress_bar=False)
    nb = json.loads(out.read_text())
    assert nb['metadata']['papermill']['parameters'] == {'version': 'full', 'seed': 1}
    with pytest.raises(pm.PapermillExecutionError, match="did you mean 'seed'"):
        pm.execute_notebook(root/'nbs/01_data.ipynb', tmp_path/'bad.ipynb', parameters=dict(sed=1), kernel_name=kernel_name, cwd=root/'nbs', progress_bar=False)
