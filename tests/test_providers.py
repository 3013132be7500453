"""The preview gatherer against the providers' REAL recorded answers (popnb.testing.LocalProviders replays them): errors inside HTTP 200,
both forms of Deezer's 'no data', strict then relaxed searches, iTunes' music videos, AAC previews and 403 throttling, signed URLs that
expire, cut downloads, reruns."""
import signal, subprocess, sys, time
import numpy as np, pandas as pd, pytest, requests
from popnb.core import DownloadError, Journal, ParameterError, RateLimiter, RetryPolicy, http_get, sha256_file
from popnb.audio import (DEEZER_ERRORS, audio_key, deezer_candidates, gather_previews, itunes_candidates, load_audio, match_stats,
                         preview_path, provider_available, resolve_preview, PreviewSources, _deezer_get)
from popnb.testing import LocalProviders, recorded_bodies

FAST = dict(backoff=0.05, retries=2, timeout=2.0, progress=False, rates={'deezer': (1000, 1.0), 'itunes': (1000, 1.0)})

def want(*rows):
    "Wanted tracks: (key, name, artist, duration_ms, isrc)."
    return pd.DataFrame(rows, columns=['track_key', 'name', 'artist', 'duration_ms', 'isrc'])

HBFS = ('k1', 'Harder Better Faster Stronger', 'Daft Punk', 224000, 'GBDUW0000059')      # recorded track object 04
DWAS = ('k2', 'Die With A Smile', 'Lady Gaga', 251000, 'USUM72409273')                   # 05: a signed preview URL
JOKE = ('k3', 'Joke', 'Lou Doillon', 200000, None)                                         # search answer 01
QUEEN = ('k4', 'Bohemian Rhapsody', 'Queen', 358483, None)                                 # iTunes 09, the music video's duration
NOBODY = ('k5', 'Love Me Harder', 'Ariana Grande', 236133, None)                           # nothing anywhere

def gather(lp, df, d, **kw): return gather_previews(df, d, deezer_url=lp.deezer_url, itunes_url=lp.itunes_url, **{**FAST, **kw})

def test_the_recordings_are_served_as_recorded(mirror):
    B = recorded_bodies()
    with LocalProviders() as lp, requests.Session() as s:
        r = s.get(lp.deezer_url + '/track/-1')
        assert r.status_code == 200 and r.content == B['06_deezer_error_800_http200.json'][1]
        r = s.get(lp.itunes_url + '/search', params={'term': 'nothing at all'})
        assert r.content == B['11_itunes_empty.json'][1]
        j = s.get(lp.deezer_url + '/track/3135556').json()
        ref = __import__('json').loads(B['04_deezer_track_3135556.json'][1])
        assert {k: v for k, v in j.items() if k != 'preview'} == {k: v for k, v in ref.items() if k != 'preview'}   # only the preview URL rewritten
        assert j['preview'].endswith(ref['preview'].split('dzcdn.net', 1)[1])

# ---------------------------------------------------------------- Deezer: errors inside HTTP 200

def test_quota_in_200_is_backed_off_and_retried(tmp_path, mirror):
    with LocalProviders(faults={'/deezer/track/isrc:GBDUW0000059': ['quota', 'quota']}) as lp:
        prov = gather(lp, want(HBFS), tmp_path)
        t = [ts for ts, p, _ in lp.log if p.startswith('/deezer/track/isrc:')]
    assert prov.status.tolist() == ['ok'] and prov.provider_id[0] == '3135556'
    assert len(t) == 3 and t[1] - t[0] >= 0.05 and t[2] - t[1] >= 0.1           # backoff 0.05 s, doubled

def test_quota_slows_the_providers_limiter(mirror):
    with LocalProviders(faults={'/deezer/search': ['quota']}) as lp, requests.Session() as s:
        rl = RateLimiter(50, 5.0)
        j = _deezer_get(s, lp.deezer_url + '/search', {'q': 'artist:"Lou Doillon" track:"Joke"'}, limiter=rl, backoff=0.01)
        assert j['data'][0]['title'] == 'The joke' and rl.period == 10.0

def test_quota_exhausted_is_error_never_no_match_and_rerun_retries(tmp_path, mirror):
    "Deezer refuses until the retries are spent; iTunes has nothing: the track is `error` (with the reason), not `no_match`."
    with LocalProviders(faults={'/deezer/search': ['quota'] * 3}) as lp:
        prov = gather(lp, want(JOKE), tmp_path)
    assert prov.status.tolist() == ['error'] and 'Quota limit exceeded (code 4)' in prov.reason[0] and 'gave up after 3 attempts' in prov.reason[0]
    assert match_stats(prov).cause.tolist() == ['quota (Deezer code 4)'] and preview_path(prov, tmp_path) == {}
    with LocalProviders() as lp:                                               # the next run asks again, and gets it
        again = gather(lp, want(JOKE), tmp_path)
    assert again.status.tolist() == ['ok'] and again.provider_id[0] == '623719262'

class _R:
    "A response-like object carrying a Deezer error body, for codes nobody recorded."
    def __init__(self, code, status=200):
        self.status_code, self.url, self.headers = status, 'https://api.deezer.com/x', {}
        self.content = ('{"error":{"type":"Exception","message":"m%d","code":%d}}' % (code, code)).encode()
    def json(self): return __import__('json').loads(self.content)

class _S:
    def __init__(self, code, n=99): self.code, self.n, self.calls = code, n, 0
    def get(self, url, params=None, timeout=None): self.calls += 1; return _R(self.code)

@pytest.mark.parametrize('code', sorted(DEEZER_ERRORS))
def test_every_deezer_error_code_in_a_200_body(code):
    s = _S(code)
    if code == 800: assert _deezer_get(s, 'https://api.deezer.com/x', backoff=0.001) is None; return
    with pytest.raises(DownloadError) as e: _deezer_get(s, 'https://api.deezer.com/x', retries=2, backoff=0.001)
    if code in (4, 700): assert s.calls == 3 and f'(code {code})' in str(e.value)               # refusals: retried
    else: assert s.calls == 1 and f'Deezer error {code} ({DEEZER_ERRORS[code]})' in str(e.value)

# ---------------------------------------------------------------- Deezer: ISRC misses, strict and relaxed search

@pytest.mark.parametrize('status', [200, 404])
def test_isrc_miss_in_either_form_falls_back_to_search(tmp_path, mirror, status):
    with LocalProviders(no_data_status=status) as lp:
        prov = gather(lp, want(('k3', 'Joke', 'Lou Doillon', 200000, 'FR0000000001')), tmp_path)
        r = requests.get(lp.deezer_url + '/track/isrc:FR0000000001')
    assert r.status_code == status and r.json()['error']['code'] == 800
    assert prov.status.tolist() == ['ok'] and prov.provider_id[0] == '623719262'
    assert prov['query'][0] == 'deezer isrc:FR0000000001 (no data) | deezer strict artist:"Lou Doillon" track:"Joke" (1)'

def test_relaxed_query_when_strict_finds_nothing(tmp_path, mirror):
    with LocalProviders() as lp:
        prov = gather(lp, want(('k3', 'Joke (Live at the Olympia) - Remastered 2011', 'Lou Doillon', 200000, None)), tmp_path)
        qs = [q['q'] for _, p, q in lp.log if p == '/deezer/search']
    assert qs == ['artist:"Lou Doillon" track:"Joke (Live at the Olympia) - Remastered 2011"', 'artist:"Lou Doillon" track:"Joke"']
    assert prov.status.tolist() == ['ok']
    assert 'strict artist:"Lou Doillon" track:"Joke (Live at the Olympia) - Remastered 2011" (0)' in prov['query'][0]
    assert prov['query'][0].endswith('relaxed artist:"Lou Doillon" track:"Joke" (1)')

def test_options_given_grouped_or_as_keywords(tmp_path, mirror):
    "PreviewSources and RetryPolicy given whole ask the same as their fields given as keywords."
    with LocalProviders() as lp:
        loose = gather(lp, want(JOKE, NOBODY), tmp_path/'a')
        whole = gather_previews(want(JOKE, NOBODY), tmp_path/'b', progress=False,
                                sources=PreviewSources(deezer_url=lp.deezer_url, itunes_url=lp.itunes_url,
                                                       rates=FAST['rates']),
                                policy=RetryPolicy(timeout=2.0, retries=2, backoff=0.05))
        strict = gather(lp, want(JOKE), tmp_path/'c', sources=PreviewSources(threshold=0.99))   # keywords win
    assert whole.drop(columns='url_expires').equals(loose.drop(columns='url_expires'))
    assert whole.status.tolist() == ['ok', 'no_match'] and strict.status.tolist() == ['no_match']

def test_search_survives_quotes(mirror):
    with LocalProviders() as lp, requests.Session() as s:
        c = deezer_candidates(s, dict(name='"Joke"', artist='Lou "the voice" Doillon'), lp.deezer_url)
        qs = [q['q'] for _, p, q in lp.log if p == '/deezer/search']
    assert all(q.count('"') == 4 for q in qs) and qs[0] == 'artist:"Lou the voice Doillon" track:"Joke"'
    assert c == []            # no recording answers that artist: an empty answer, not a broken query

# ---------------------------------------------------------------- iTunes: songs only, AAC previews, 403

def test_itunes_songs_only_and_aac_decoded(tmp_path, mirror):
    "The recorded answer has three music videos; the wanted duration is the video's: the song is still chosen, and decoded by PyAV."
    with LocalProviders() as lp:
        prov = gather(lp, want(QUEEN), tmp_path)
        fetched = [p for _, p, _ in lp.log if p.startswith('/cdn/')]
    r = prov.iloc[0]
    assert (r.status, r.provider, r.provider_id) == ('ok', 'itunes', '1441458081')       # the song; the video is 1441458100
    assert len(fetched) == 1 and fetched[0].endswith('.plus.aac.p.m4a') and r.file.endswith('.m4a')
    info = {}
    y = load_audio(tmp_path/r.file, duration=30.0, info=info)
    assert info['decoder'] == 'pyav' and y.shape == (661500,) and abs(r.seconds - 30.0) < 0.1
    with LocalProviders() as lp, requests.Session() as s:
        c = itunes_candidates(s, dict(name='Bohemian Rhapsody', artist='Queen'), lp.itunes_url)
    assert len(c) == 18 and all(x['url'].endswith('.m4a') for x in c)

def test_itunes_403_is_throttling_backed_off_and_retried(tmp_path, mirror):
    with LocalProviders(faults={'/itunes/search': ['403', '403']}) as lp:
        prov = gather(lp, want(QUEEN), tmp_path, providers=('itunes',))
    assert prov.status.tolist() == ['ok']
    with LocalProviders(faults={'/itunes/search': ['403'] * 3}) as lp:
        prov = gather(lp, want(QUEEN), tmp_path/'b', providers=('itunes',))
    assert prov.status.tolist() == ['error'] and 'iTunes throttled the request (HTTP 403)' in prov.reason[0]

# ---------------------------------------------------------------- downloads: bytes, decoding, cut files

def test_cut_download_is_bad_audio_and_never_written(tmp_path, mirror):
    with LocalProviders(faults={'/cdn/': ['cut']}) as lp:
        prov = gather(lp, want(HBFS), tmp_path)
    assert prov.status.tolist() == ['bad_audio'] and 'truncated: 4.4 s of the 30.0 s the header declares' in prov.reason[0]
    assert not list(tmp_path.glob(audio_key('k1') + '*')) and preview_path(prov, tmp_path) == {}
    assert match_stats(prov).cause.tolist() == ['truncated']

def test_short_body_against_content_length(tmp_path, mirror):
    with LocalProviders(faults={'/cdn/': ['truncate'] * 3}) as lp:
        prov = gather(lp, want(HBFS), tmp_path)
    assert prov.status.tolist() == ['error'] and 'body truncated' in prov.reason[0]
    with LocalProviders(faults={'/cdn/': ['truncate', '500', 'timeout']}, slow=2.5) as lp:   # cut, a 500, a stall: then the file
        prov = gather(lp, want(HBFS), tmp_path, retries=3)
    assert prov.status.tolist() == ['ok'] and sha256_file(tmp_path/prov.file[0]) == prov.sha256[0]

def test_html_instead_of_audio_goes_to_the_next_provider(tmp_path, mirror):
    with LocalProviders(faults={'/cdn/cdns-preview-1.dzcdn.net/': ['html'] * 5}) as lp:
        prov = gather(lp, want(JOKE), tmp_path)
    assert prov.status.tolist() == ['bad_audio'] and 'not audio' in prov.reason[0]

# ---------------------------------------------------------------- provenance: identity, signed URLs, reruns

def test_signed_url_kept_as_information_and_redownload_by_id(tmp_path, mirror):
    "The signed URL expires when the test moves the server's clock past it (never because the machine was slow)."
    with LocalProviders() as lp:
        prov = gather(lp, want(HBFS, DWAS), tmp_path)
        r = prov.set_index('track_key')
        assert r.loc['k2', 'url_expires'] != '' and r.loc['k1', 'url_expires'] == ''     # 04's old URL is not signed
        assert requests.get(r.loc['k2', 'url']).status_code == 200                           # valid until the clock moves
        lp.advance(lp.url_ttl + 1)
        assert requests.get(r.loc['k2', 'url']).status_code == 403                           # the kept URL expired
        (tmp_path/r.loc['k2', 'file']).unlink()
        n = len(lp.log)
        again = gather(lp, want(HBFS, DWAS), tmp_path)
        asked = [p for _, p, _ in lp.log[n:]]
    a = again.set_index('track_key')
    assert a.status.tolist() == ['cached', 'ok'] and a.loc['k2', 'query'] == 'by id deezer:2947516331'
    assert '/deezer/track/2947516331' in asked and not [p for p in asked if 'isrc' in p or 'search' in p]
    assert a.loc['k2', 'url_expires'] > r.loc['k2', 'url_expires'] and a.loc['k2', 'sha256'] == r.loc['k2', 'sha256']

def test_reruns_keep_no_match_unless_asked(tmp_path, mirror):
    with LocalProviders() as lp:
        first = gather(lp, want(HBFS, NOBODY), tmp_path)
        assert first.status.tolist() == ['ok', 'no_match'] and first.reason[1] == 'no candidates'
        n = len(lp.log)
        second = gather(lp, want(HBFS, NOBODY), tmp_path)
        assert second.status.tolist() == ['cached', 'no_match'] and len(lp.log) == n      # nobody asked
        third = gather(lp, want(HBFS, NOBODY), tmp_path, retry=('no_match',))
        assert third.status.tolist() == ['cached', 'no_match'] and len(lp.log) > n
    with pytest.raises(ParameterError, match='retry'): gather_previews(want(HBFS), tmp_path, retry=('ok',))

def test_features_use_only_ok_rows(tmp_path, mirror):
    from popnb.features import AudioInputs, _jobs
    with LocalProviders(faults={'/deezer/search': ['quota'] * 3, '/cdn/cdns-preview-d': ['cut']}) as lp:
        prov = gather(lp, want(HBFS, DWAS, JOKE, NOBODY), tmp_path)
    assert prov.status.tolist() == ['bad_audio', 'ok', 'error', 'no_match']
    assert list(preview_path(prov, tmp_path)) == ['k2']
    jobs, _ = _jobs(want(HBFS, DWAS, JOKE, NOBODY), 'previews', AudioInputs(previews=prov, preview_dir=tmp_path))
    assert [j[1] for j in jobs] == ['missing', 'file', 'missing', 'missing']
    assert 'no preview (bad_audio: deezer: ' in jobs[0][3] and 'truncated' in jobs[0][3]
    assert 'no preview (error: deezer: ' in jobs[2][3] and 'Quota' in jobs[2][3] and 'no preview (no_match: no candidates)' == jobs[3][3]

def test_provider_available_false_while_throttled(mirror):
    with LocalProviders(faults={'/deezer/search': ['quota']}) as lp:
        assert not provider_available(lp.deezer_url) and provider_available(lp.deezer_url)
    assert not provider_available('http://127.0.0.1:9', timeout=0.3)

def test_gather_resumes_after_sigkill(tmp_path, mirror):
    "A gatherer killed mid-run keeps the tracks it finished: the rerun asks the providers for none of them."
    df = want(HBFS, DWAS, JOKE, QUEEN)
    with LocalProviders(faults={'/cdn/cdns-preview-1': ['timeout']}, slow=60.0) as lp:
        code = (f"import io, pandas as pd; from popnb.audio import gather_previews\n"
                f"df = pd.read_json(io.StringIO({df.to_json()!r}))\n"
                f"gather_previews(df, {str(tmp_path)!r}, deezer_url={lp.deezer_url!r}, itunes_url={lp.itunes_url!r}, timeout=30, progress=False)")
        proc = subprocess.Popen([sys.executable, '-c', code])
        journal, deadline = Journal(tmp_path/'provenance.journal.jsonl'), time.time() + 60
        while time.time() < deadline and len(journal.records()) < 2: time.sleep(0.05)
        while time.time() < deadline and not any(p.startswith('/cdn/cdns-preview-1') for _, p, _ in lp.log): time.sleep(0.05)
        proc.send_signal(signal.SIGKILL); proc.wait()
        assert [r['track_key'] for r in journal.records()] == ['k1', 'k2'] and not (tmp_path/'provenance.csv').exists()
        n = len(lp.log)
        prov = gather(lp, df, tmp_path)
    assert prov.status.tolist() == ['cached', 'cached', 'ok', 'ok']
    assert not [p for _, p, _ in lp.log[n:] if 'isrc' in p]
    assert not journal.path.exists() and (tmp_path/'provenance.csv').is_file()

def test_http_faults_retried(mirror):
    # the stall outlasts the client's timeout; 2 s is ample for an answer of this server on a loaded machine
    with LocalProviders(faults={'/deezer/search': ['429', '500', 'timeout']}, slow=2.5, retry_after=0.3) as lp, requests.Session() as s:
        r = http_get(s, lp.deezer_url + '/search', params={'q': 'artist:"Lou Doillon" track:"Joke"'}, timeout=2.0, backoff=0.01)
        t = [ts for ts, _, _ in lp.log]
        assert r.json()['total'] == 1 and len(t) == 4 and t[1] - t[0] >= 0.3
        with pytest.raises(DownloadError, match='HTTP 404'): http_get(s, lp.url + '/nothing', backoff=0.01)

def test_cli_retry_flag():
    from popnb.cli import parser
    a = parser().parse_args(['previews', '--retry', 'no_match', 'bad_audio'])
    assert a.retry == ['no_match', 'bad_audio'] and parser().parse_args(['previews']).retry == []
    with pytest.raises(SystemExit): parser().parse_args(['previews', '--retry', 'ok'])

def test_old_provenance_without_an_id_is_gathered_again(tmp_path, mirror):
    "A row of an older provenance table (no provider id, file gone) is found again by search, not by an id it lacks."
    pd.DataFrame([dict(track_key='k3', provider='', provider_id='', url='x', match_score=0.9, bytes=1, sha256='0', status='ok',
                       reason='', file='gone.mp3')]).to_csv(tmp_path/'provenance.csv', index=False)
    with LocalProviders() as lp:
        prov = gather(lp, want(JOKE), tmp_path)
    assert prov.status.tolist() == ['ok'] and prov.provider_id[0] == '623719262' and 'strict' in prov['query'][0]
