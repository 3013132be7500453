"popnb.train: one fit/predict interface, determinism, early stopping, checkpoints and resume, protocol runners."
import dataclasses
import numpy as np, pandas as pd, pytest, torch
from popnb.core import DataError, ParameterError
from popnb.models import META_COLS
from popnb.train import (TrainConfig, PAPER_CONFIG, CORRECTED_CONFIG, NetModel, SklearnModel, Batches, MODELS, make_model,
                         run_jobs, PRED_COLS)
from popnb.protocols import protocol_splits

def uncached(protocol, df, models, seeds=(0,), k=5, **kw):
    "Uncached runs of `models` on `protocol`'s splits of each seed, by `run_jobs` (the study's: popnb.runs, cached)."
    return run_jobs(protocol, df, lambda d: [(s, protocol_splits(d, protocol, s, k)) for s in seeds], models, **kw)

from popnb.core import set_threads
set_threads(1)   # small fits on a shared CPU: OpenMP workers only spin

@pytest.fixture
def df():
    rng = np.random.default_rng(0); n = 120
    d = pd.DataFrame(rng.random((n, 13)), columns=META_COLS)
    d['artist_followers'] = rng.lognormal(14, 2, n); d['artist_popularity'] = rng.integers(40, 100, n)
    d['artist'] = [f'artist{i % 15}' for i in range(n)]
    d['track_key'] = [f't{i:04d}' for i in range(n)]
    d['popularity'] = (30 + 40*d.energy + 0.2*d.artist_popularity + rng.normal(0, 3, n)).round()
    return d

@pytest.fixture
def spec():
    return np.random.default_rng(1).normal(size=(120, 16, 12)).astype(np.float16)

def _fit(name, df, spec=None, seed=0, ck=None, cb=None, **kw):
    tr, te = np.arange(96), np.arange(96, 120)
    kw = dict(dict(epochs=3, progress=False), **kw)
    m = make_model(name, seed=seed, **kw)
    m.fit(df.iloc[tr], df.popularity.iloc[tr], S=None if spec is None else spec[tr], X_val=df.iloc[te], y_val=df.popularity.iloc[te],
          S_val=None if spec is None else spec[te], checkpoint=ck, callback=cb)
    return m, m.predict(df.iloc[te], S=None if spec is None else spec[te])

def test_configs():
    p = PAPER_CONFIG
    assert (p.loss, p.optimizer, p.lr, p.batch_size, p.epochs, p.patience, p.val, p.restore_best) == ('mse','adam',1e-3,32,25,10,'test',False)
    assert CORRECTED_CONFIG.val == 'inner' and CORRECTED_CONFIG.restore_best
    with pytest.raises(ParameterError, match='TrainConfig.val'): TrainConfig(val='train')
    with pytest.raises(ParameterError): TrainConfig(epochs=0)
    assert make_model('fusion_cnn', seed=3, epochs=2).config == dataclasses.replace(CORRECTED_CONFIG, seed=3, epochs=2)

def test_registry():
    assert {'paper_cnn','fusion_cnn','fusion_audio','fusion_meta','mean','median','majority','artist_mean','ridge',
            'hgb_all','hgb_audio','hgb_artist','rf','svr','hitmusicnet','fusion_paper_input','paper_cnn_std'} == set(MODELS)
    assert isinstance(make_model('ridge'), SklearnModel) and isinstance(make_model('paper_cnn'), NetModel)
    with pytest.raises(ParameterError, match='unknown model'): make_model('resnet')

@pytest.mark.parametrize('name', ['paper_cnn', 'fusion_cnn'])
def test_same_seed_same_predictions(df, name):
    state = torch.get_rng_state()
    a = _fit(name, df, epochs=2)[1]; b = _fit(name, df, epochs=2)[1]
    assert np.array_equal(a, b)
    assert not np.array_equal(a, _fit(name, df, seed=1, epochs=2)[1])
    assert torch.equal(state, torch.get_rng_state())     # the caller's RNG is left alone

def test_resume_equals_uninterrupted(df, spec, tmp_path):
    m0, full = _fit('fusion_cnn', df, spec, epochs=4)
    ck = tmp_path/'ck.pt'
    def boom(m, epoch, rec):
        if epoch == 2: raise RuntimeError('interrupted')
    with pytest.raises(RuntimeError, match='interrupted'): _fit('fusion_cnn', df, spec, ck=ck, cb=boom, epochs=4)
    st = torch.load(ck.with_suffix('.design0.pt'), weights_only=True)   # its first candidate design's checkpoint (designs chosen per run)
    assert st['epoch'] == 2 and not st['done'] and len(st['history']) == 2
    assert not list(tmp_path.glob('.*part'))           # written atomically: no temporaries left
    m1, resumed = _fit('fusion_cnn', df, spec, ck=ck, epochs=4)
    assert np.array_equal(full, resumed)
    pd.testing.assert_frame_equal(m0.history_.drop(columns=['seconds','load_share']), m1.history_.drop(columns=['seconds','load_share']))
    m2, again = _fit('fusion_cnn', df, spec, ck=ck, epochs=4)     # finished checkpoint: nothing retrained
    assert np.array_equal(full, again)
    with pytest.raises(ParameterError, match='another config'): _fit('fusion_cnn', df, spec, ck=ck, epochs=5)

def test_paper_cnn_checkpoint_and_last_weights(df, tmp_path):
    m, p = _fit('paper_cnn', df, ck=tmp_path/'p.pt', epochs=3)
    st = torch.load(tmp_path/'p.pt', weights_only=True)
    assert st['done'] and st['epoch'] == len(m.history_)
    ref = make_model('paper_cnn').build(); ref.load_state_dict(st['model'])      # last weights kept, as the authors
    assert all(torch.equal(a, b) for a, b in zip(ref.state_dict().values(), m.net_.state_dict().values()))

def test_early_stopping_restores_best(df):
    m, p = _fit('fusion_meta', df, epochs=12, val='test', patience=3, lr=3e-2, monitor='mae')
    h = m.history_
    assert {'epoch','train_loss','val_mse','val_mae','seconds','load_share'} <= set(h.columns)
    best = h.val_mae.idxmin()
    assert m.best_epoch_ == h.epoch[best]
    assert np.abs(p - df.popularity.iloc[96:].to_numpy()).mean() == pytest.approx(h.val_mae[best], rel=1e-5)
    if len(h) < 12: assert (h.val_mae.iloc[-3:] >= h.val_mae[best]).all()   # stopped after `patience` bad epochs

def test_keep_last_weights_when_asked(df):
    m, p = _fit('fusion_meta', df, epochs=4, val='test', patience=0, restore_best=False, lr=3e-2)
    assert len(m.history_) == 4
    assert np.abs(p - df.popularity.iloc[96:].to_numpy()).mean() == pytest.approx(m.history_.val_mae.iloc[-1], rel=1e-5)

def test_bad_inputs(df, spec):
    bad = df.copy(); bad.loc[5, 'tempo'] = np.nan
    with pytest.raises(DataError, match='row 5'): make_model('fusion_meta', epochs=1, progress=False).fit(bad, bad.popularity)
    with pytest.raises(DataError, match='missing column'): make_model('fusion_meta').fit(df.drop(columns='tempo'), df.popularity)
    with pytest.raises(DataError, match='targets'): make_model('fusion_meta').fit(df, df.popularity[:10])
    with pytest.raises(DataError, match='rows'): make_model('fusion_audio', epochs=1, progress=False).fit(df, df.popularity, S=spec[:50])
    with pytest.raises(ParameterError, match='40×8'): _fit('paper_cnn', df, spec, epochs=1)
    with pytest.raises(ParameterError, match='X_val'): make_model('paper_cnn').fit(df, df.popularity)
    with pytest.raises(ParameterError, match='fit first'): make_model('fusion_cnn').predict(df)
    with pytest.raises(DataError, match='align'): uncached('paper', df, models=['mean'], spec=spec[:10], progress=False)
    with pytest.raises(ParameterError, match='unknown model'): uncached('grouped', df, models=['nope'], progress=False)

def test_batches_convert_per_batch(spec):
    b = Batches(np.zeros((120, 13), np.float32), spec, np.arange(120.))
    s, m, y = b.get(np.array([7, 3]))
    assert s.dtype == torch.float32 and s.shape == (2, 1, 16, 12) and y.tolist() == [7, 3]
    assert torch.equal(s[1, 0], torch.from_numpy(spec[3].astype(np.float32)))
    assert Batches(np.zeros((4, 13)), None, zero_shape=(40, 8)).get(np.arange(4))[0].abs().sum() == 0

def test_run_paper_table(df):
    p = uncached('paper', df, ['paper_cnn', 'mean', 'artist_mean'], seeds=[0, 1], overrides={'epochs': 1},
                 progress=False)
    assert list(p.columns) == PRED_COLS
    assert len(p) == 120 * 3 * 2 and set(p.protocol) == {'paper'} and set(p.fold) == {0}
    one = p[(p.model == 'mean') & (p.seed == 0)]
    assert (one.split == 'test').sum() == 24 and one.track_key.is_unique
    assert one.y_pred.nunique() == 1 and one.y_pred.iloc[0] == pytest.approx(one[one.split == 'train'].y_true.mean())
    assert not p[p.seed == 0].query("split == 'test'").track_key.equals(p[p.seed == 1].query("split == 'test'").track_key)
    assert {'epoch', 'model', 'seed', 'fold'} <= set(p.attrs['history'].columns)

def test_run_grouped_is_out_of_fold_and_artist_disjoint(df):
    g = uncached('grouped', df, ['fusion_meta', 'artist_mean', 'hgb_artist'], k=3, seeds=[0, 1],
                 overrides={'epochs': 1}, progress=False)
    assert len(g) == 120 * 3 * 2 and set(g.split) == {'test'}
    assert (g.groupby(['model', 'seed']).track_key.nunique() == 120).all()
    for (seed, fold), d in g[g.model == 'artist_mean'].groupby(['seed', 'fold']):   # no artist seen in training
        assert d.y_pred.nunique() == 1
    a = g[g.model == 'artist_mean']
    assert a.groupby(['seed', 'artist']).fold.nunique().max() == 1   # each artist in exactly one test fold per seed

def test_store_rows_without_audio_are_dropped(df, spec):
    class Store: pass
    st = Store(); st.X = spec; st.index = pd.DataFrame({'track_key': df.track_key, 'ok': np.arange(120) % 10 != 0})
    p = uncached('paper', df, models=['fusion_audio', 'mean'], spec=st, overrides={'epochs': 1}, progress=False)
    assert len(p) == 108 * 2 and not p.track_key.isin(df.track_key[::10]).any()

@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_cuda_mixed_precision(df, spec):
    m, p = _fit('fusion_cnn', df, spec, epochs=2)
    assert m.device_.startswith('cuda') and next(m.net_.parameters()).is_cuda and np.isfinite(p).all()

def _with_desc(df):
    from popnb.train import DESC_COLS
    rng = np.random.default_rng(2)
    return df.assign(**{c: rng.normal(size=len(df)) for c in DESC_COLS})

def test_feature_sets_train_on_their_inputs(df):
    from popnb.train import feature_cols
    d = _with_desc(df)
    g = {fs: uncached('grouped', d, ['ridge', 'hgb_all', 'fusion_meta'], k=3, seeds=[0], overrides={'epochs': 1},
                      progress=False, feature_set=fs)
         for fs in ('spotify', 'descriptors', 'both')}
    for fs, r in g.items(): assert r.groupby('model').track_key.nunique().tolist() == [120] * 3, fs
    sp, de = (g[fs][g[fs].model == 'ridge'].y_pred.to_numpy() for fs in ('spotify', 'descriptors'))
    assert not np.allclose(sp, de)
    # the spotify run ignores the extra columns: the same predictions as on the table without them
    base = uncached('grouped', df, ['ridge'], k=3, seeds=[0], progress=False)
    np.testing.assert_allclose(base.y_pred, sp)
    assert make_model('fusion_meta', feature_set='both').build().metadata_dim == len(feature_cols('both'))
    with pytest.raises(DataError, match='add_descriptors'):
        uncached('grouped', df, ['ridge'], k=3, seeds=[0], progress=False, feature_set='descriptors')
    with pytest.raises(ParameterError, match='feature_set'): make_model('ridge', feature_set='audio')
