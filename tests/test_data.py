"popnb.data: fetching, the schema, validation errors, capture ids, splits, and a papermill run of 01_data."
import hashlib, http.server, json, os, subprocess, sys, threading, warnings
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

# --- any collection (issue 12 §2, data part) ---
def _as_gathered(df):
    "Rows of a tidy table in the columns gather_spotify writes, Spotify's closed audio features empty."
    return pd.DataFrame(dict(name=df.name, popularity=df.popularity, duration_ms=df.duration_ms, artist=df.artist,
                             artists_list=df.artists.map(','.join), release_date=df.release_date, artist_name=df.artist,
                             artist_popularity=df.artist_popularity, artist_followers=df.artist_followers, artist_genres=df.artist_genres.map(str),
                             isrc='USX', spotify_id='x', preview_url=None, **{c: np.nan for c in D.GATHERABLE_EMPTY if c != 'duration_ms'}))

def test_load_dataset_names():
    for name, n in (('updated', 1967), ('full', 2003)):
        df = D.load_dataset(name)
        assert len(df) == n and df.attrs['absent_features'] == ['key', 'mode'] and df.attrs['sha256'] == D.SOURCES[D.PAPER_TABLES[name]].sha256
    assert len(D.load_dataset('updated', 'drop')) == 1967 - 28
    with pytest.raises(ParameterError, match="expected one of"): D.load_dataset('latest')
    with pytest.raises(ParameterError, match="'keep' or 'drop'"): D.load_dataset('updated', 'dedupe')

def test_collection_as_gathered_today(tmp_path):
    paper = D.load_dataset('updated')
    _as_gathered(paper.head(25)).to_csv(tmp_path/'c.csv', index=False)
    with pytest.warns(UserWarning, match='absent or entirely empty'): df = D.load_dataset(tmp_path/'c.csv')
    assert df.track_key.tolist() == paper.track_key.head(25).tolist() and df.tempo.isna().all() and df.isrc.eq('USX').all()
    assert set(df.attrs['absent_features']) == set(D.GATHERABLE_EMPTY) - {'duration_ms'}
    assert df.attrs['sha256'] == D.sha256_file(tmp_path/'c.csv')
    # absent (not just empty) columns too
    _as_gathered(paper.head(5)).drop(columns=['tempo', 'valence', 'key']).to_csv(tmp_path/'fewer.csv', index=False)
    with pytest.warns(UserWarning): df = D.load_dataset(tmp_path/'fewer.csv')
    assert {'tempo', 'valence', 'key'} <= set(df.attrs['absent_features']) and df.valence.isna().all()
    # a tidy table saved and loaded again
    paper.head(25).to_csv(tmp_path/'tidy.csv', index=False)
    with pytest.warns(UserWarning, match=r"\['key', 'mode'\]"): back = D.load_dataset(tmp_path/'tidy.csv')
    assert back.attrs['absent_features'] == ['key', 'mode'] and back[D.META_COLS].equals(paper.head(25)[D.META_COLS])

@pytest.mark.parametrize('change,msg', [
    (lambda t: t.assign(tempo=[np.nan, 120.0, np.nan] + [100.0]*7), "column 'tempo': missing values on line(s) 2, 4"),
    (lambda t: t.rename(columns={'energy': 'enrgy'}).assign(energy_x=1), "'enrgy' (did you mean 'energy'?)"),
    (lambda t: t.rename(columns={'artist_popularity': 'artist_populariy'}), "'artist_populariy' (did you mean 'artist_popularity'?)"),
    (lambda t: t.assign(popularity=[np.nan] + [50]*9), "column 'popularity': missing values on line(s) 2"),
])
def test_collection_bad_columns(tmp_path, change, msg):
    t = _as_gathered(D.load_dataset('updated').head(10))
    change(t).to_csv(tmp_path/'bad.csv', index=False)
    with pytest.raises(DataError) as e, warnings.catch_warnings():
        warnings.simplefilter('ignore')           # the empty audio-feature columns are reported; the error is what is tested
        D.load_dataset(tmp_path/'bad.csv')
    assert msg in str(e.value)

def test_collection_bad_files(tmp_path):
    with pytest.raises(ParameterError, match='no such file'): D.load_dataset(tmp_path/'nope.csv')
    (tmp_path/'c.xlsx').write_text('x')
    with pytest.raises(ParameterError, match=r'\.csv or \.parquet'): D.load_dataset(tmp_path/'c.xlsx')
    (tmp_path/'c.parquet').write_bytes(b'PAR1 not really')
    with pytest.raises((ParameterError, DataError)): D.load_dataset(tmp_path/'c.parquet')
