"Run keys follow what a run reads (issue 30): the code that computes its numbers, normalised, and the content of its store."
import inspect, linecache, textwrap
import numpy as np, pandas as pd, pytest
import popnb.core, popnb.train, popnb.audio, popnb.features as F
from popnb.runs import model_code, run_key
from popnb.features import MelParams, build_store, store_code

def _recompiled(fn, edit):
    "`fn` compiled anew from its source after `edit(source)`, in its own module's namespace."
    src = edit(textwrap.dedent(inspect.getsource(fn)))
    name = f'<edited {fn.__name__} {len(linecache.cache)}>'
    linecache.cache[name] = (len(src), None, src.splitlines(True), name)   # so inspect finds its source, as an edited file's
    ns = {}; exec(compile(src, name, 'exec'), fn.__globals__, ns)
    return ns[fn.__name__]

def test_comment_in_http_get_keeps_the_network_key(monkeypatch):
    before = model_code('fusion_cnn')
    edited = _recompiled(popnb.core.http_get, lambda s: s.replace('\n', '\n    # a comment added by a refactor\n', 1))
    monkeypatch.setattr(popnb.core, 'http_get', edited)
    assert model_code('fusion_cnn') == before

def test_docstring_and_comment_in_followed_code_keep_the_key_a_change_does_not(monkeypatch):
    before = model_code('fusion_cnn')
    fn = popnb.train.inner_split
    doc = fn.__doc__
    reworded = _recompiled(fn, lambda s: s.replace(doc, 'Reworded: ' + doc).replace('\n', '  # why\n', 1))
    monkeypatch.setattr(popnb.train, 'inner_split', reworded)
    assert model_code('fusion_cnn') == before
    changed = _recompiled(fn, lambda s: s.replace(f'"{doc}"\n', f'"{doc}"\n    size = 2 * size\n', 1))   # one computation changed
    monkeypatch.setattr(popnb.train, 'inner_split', changed)
    assert model_code('fusion_cnn') != before

def test_editing_a_helper_of_synthesize_clip_changes_the_store_key(monkeypatch):
    before = store_code('synthetic')
    osc = popnb.audio._osc
    monkeypatch.setattr(popnb.audio, '_osc', lambda table, freq, sr: 0.5*osc(table, freq, sr))
    assert store_code('synthetic') != before

@pytest.fixture
def small():
    rng = np.random.default_rng(0)
    from popnb.data import META_COLS
    return pd.DataFrame(rng.random((6, 13)), columns=META_COLS).assign(
        track_key=[f't{i}' for i in range(6)], artist=[f'a{i % 3}' for i in range(6)], popularity=rng.integers(0, 100, 6).astype(float),
        tempo=120.0, loudness=-8.0, duration_ms=200000.0, key=5, mode=1, time_signature=4)

def test_store_rebuilt_bit_identical_by_other_code_keeps_every_run_key(tmp_path, monkeypatch, small):
    p = MelParams(n_mels=16, seconds=4.0)
    a = build_store(small, 'synthetic', p, store_dir=tmp_path, progress=False, descriptors=True)
    fast = F.audio_descriptors
    def swapped(y, sr, duration_ms=None, silence_db=-70.0):   # other code (a swapped implementation), the same numbers
        return dict(fast(y, sr, duration_ms=duration_ms, silence_db=silence_db))
    monkeypatch.setattr(F, 'audio_descriptors', swapped)
    b = build_store(small, 'synthetic', p, store_dir=tmp_path, progress=False, descriptors=True)
    assert b.folder != a.folder                      # the store's key follows its code: rebuilt ...
    assert (b.digest, b.descriptors_digest) == (a.digest, a.descriptors_digest)   # ... to the same content
    for m in ('fusion_cnn', 'fusion_audio'):
        assert run_key('grouped', m, small, b) == run_key('grouped', m, small, a)
    X = np.array(b.X); X[0, 0, 0] += 1.0              # one value of the content changed: another digest, another key
    assert F.store_digests(X, b.index)['spectrograms'] != b.digest
