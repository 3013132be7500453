"popnb.models: the authors' network exactly, the corrected network, the baselines."
import numpy as np, pandas as pd, pytest, torch
from sklearn.base import clone
from popnb.core import DataError, ParameterError
from popnb.models import (PaperCNN, FusionCNN, count_params, layer_summary, Columns, ConstantRegressor, MajorityRegressor,
                          ArtistMeanRegressor, META_COLS, AUDIO_FEATURES, ARTIST_COLS)
from popnb.train import MODELS, make_baseline, tagged

BASELINES = [n for n, s in MODELS.items() if s.kind == 'baseline' and s.study]   # the registry's study baselines

from popnb.core import set_threads
set_threads(1)   # small fits on a shared CPU: OpenMP workers only spin

def test_paper_cnn_parameters_exact():
    net = PaperCNN(metadata_dim=13)
    assert count_params(net) == 3_876_545
    assert count_params(net.conv_layers) == 160 + 4_640 + 18_496 + 73_856
    assert count_params(net.metadata_fc) == 13*128+128 + 128*64+64
    assert count_params(net.fc_layers) == 7_360*512+512 + 513
    assert net.fc_layers[0].in_features == 7_360 and net.n_flat == 7_296

def test_paper_cnn_shapes_layer_by_layer():
    s = layer_summary(PaperCNN()).set_index('layer')
    want = {'conv_layers.0': (16,40,8), 'conv_layers.2': (16,20,4), 'conv_layers.3': (32,20,4), 'conv_layers.5': (64,20,4),
            'conv_layers.7': (64,19,3), 'conv_layers.8': (128,19,3), 'flatten': (7296,), 'metadata_fc.3': (64,),
            'fc_layers.0': (512,), 'fc_layers.2': (1,)}
    for k,v in want.items(): assert s.loc[k,'output'] == v, k
    assert s.params.sum() == 3_876_545
    assert list(s.type[s.type.str.startswith(('Conv','Max','Lin'))]) == ['Conv2d','MaxPool2d','Conv2d','Conv2d','MaxPool2d','Conv2d','Linear','Linear','Linear','Linear']
    out = PaperCNN()(torch.rand(5,1,40,8), torch.rand(5,13))
    assert out.shape == (5,)

def test_paper_cnn_takes_the_authors_state_dict_keys():
    keys = set(PaperCNN().state_dict())
    assert keys == {f'conv_layers.{i}.{w}' for i in (0,3,5,8) for w in ('weight','bias')} | \
                   {f'metadata_fc.{i}.{w}' for i in (0,2) for w in ('weight','bias')} | {f'fc_layers.{i}.{w}' for i in (0,2) for w in ('weight','bias')}

def test_paper_cnn_rejects_other_sizes():
    with pytest.raises(RuntimeError): PaperCNN()(torch.zeros(2,1,128,431), torch.zeros(2,13))
    with pytest.raises(RuntimeError): PaperCNN()(torch.zeros(2,1,40,8), torch.zeros(2,12))

@pytest.mark.parametrize('mode', FusionCNN.modes)
def test_fusion_any_length_and_modes(mode):
    torch.manual_seed(0)
    for n_mels in (40, 64, 128):   # built for its bands; any number of frames
        net = FusionCNN(mode=mode, n_mels=n_mels).eval()
        with torch.no_grad():
            for frames in (8, 100, 431):
                assert net(torch.randn(3,1,n_mels,frames), torch.rand(3,13)*100).shape == (3,)
        assert count_params(net) < 500_000
    if mode != 'meta':
        with pytest.raises(DataError, match='built for 128 mel bands, got 64'): net(torch.randn(3,1,64,100), torch.rand(3,13))

def test_fusion_ablations_ignore_the_other_branch():
    torch.manual_seed(0)
    a, m = FusionCNN(mode='audio', n_mels=32).eval(), FusionCNN(mode='meta').eval()
    x, meta = torch.randn(2,1,32,20), torch.rand(2,13)
    with torch.no_grad():
        assert torch.equal(a(x, meta), a(x, torch.rand(2,13)))
        assert torch.equal(m(x, meta), m(torch.zeros_like(x), meta))
    assert not hasattr(a, 'meta_fc') and not hasattr(m, 'conv')
    with pytest.raises(ParameterError, match='mode'): FusionCNN(mode='both')

def test_fusion_standardises_metadata_and_keeps_it_in_the_state_dict():
    rng = np.random.default_rng(0)
    M = np.c_[rng.normal(1e5, 1e4, (40, 12)), rng.lognormal(16, 2, 40)]
    net = FusionCNN(mode='meta').fit_meta(M, y=np.full(40, 55.))
    z = net._prep_meta(torch.tensor(M, dtype=torch.float32))
    assert z.mean(0).abs().max() < 1e-3 and (z.std(0, unbiased=False) - 1).abs().max() < 1e-3
    sd = net.state_dict()
    assert {'meta_shift','meta_scale','meta_log','out_shift'} <= set(sd)
    assert sd['meta_log'].tolist() == [False]*12 + [True]
    net2 = FusionCNN(mode='meta'); net2.load_state_dict(sd); net.eval(); net2.eval()
    with torch.no_grad(): assert torch.equal(net(torch.zeros(3,1,4,4), z[:3]), net2(torch.zeros(3,1,4,4), z[:3]))

def _df(n=60, seed=0):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(rng.random((n, 13)), columns=META_COLS)
    df['artist_followers'] = rng.lognormal(14, 2, n); df['artist'] = [f'a{i%12}' for i in range(n)]
    df['popularity'] = 40 + 30*df.energy + (df.artist.str[1:].astype(int) % 3) * 5
    return df

def test_constant_and_majority():
    y = np.array([10, 60, 70, 80, 90.])
    assert ConstantRegressor('mean').fit(None, y).predict([0, 0]).tolist() == [62, 62]
    assert ConstantRegressor('median').fit(None, y).constant_ == 70
    m = MajorityRegressor(50).fit(None, y)
    assert m.majority_ and m.constant_ == 75 and (m.predict(range(3)) >= 50).all()
    m = MajorityRegressor(85).fit(None, y)   # majority below the threshold
    assert not m.majority_ and m.constant_ == 55 and (m.predict(range(3)) < 85).all()
    with pytest.raises(ParameterError, match='strategy'): ConstantRegressor('mode').fit(None, y)

def test_artist_mean_falls_back_for_unseen_artists():
    X = pd.DataFrame({'artist': ['a','a','b']})
    m = ArtistMeanRegressor().fit(X, [50, 70, 90])
    assert m.predict(pd.DataFrame({'artist': ['b','a','new']})).tolist() == [90, 60, 70]
    assert ArtistMeanRegressor(shrink=1).fit(X, [50, 70, 90]).predict(pd.DataFrame({'artist':['b']}))[0] == pytest.approx((90+70)/2)
    with pytest.raises(DataError, match="'artist'"): ArtistMeanRegressor().fit(pd.DataFrame({'x': [1]}), [1])

def test_columns_selects_and_logs():
    df = _df()
    A = Columns(ARTIST_COLS).fit(df).transform(df)
    assert A.shape == (60, 2) and np.allclose(A[:,1], np.log1p(df.artist_followers))
    with pytest.raises(DataError, match='missing column'): Columns(META_COLS).fit(df.drop(columns='tempo'))

@pytest.mark.parametrize('name', BASELINES)
def test_every_baseline_fits_predicts_and_clones(name):
    df = _df(); est = make_baseline(name, seed=1)
    p = clone(est).fit(df.iloc[:45], df.popularity.iloc[:45]).predict(df.iloc[45:])
    assert p.shape == (15,) and np.isfinite(p).all()
    assert est.get_params() is not None

def test_baseline_inputs_and_errors():
    assert make_baseline('hgb_audio').cols == tuple(AUDIO_FEATURES) and len(AUDIO_FEATURES) == 11
    assert make_baseline('hgb_artist').cols == tuple(ARTIST_COLS)
    with pytest.raises(ParameterError, match='hgb_all'): make_baseline('xgboost')

def test_artist_leakage_on_the_authors_data(mirror, monkeypatch):
    monkeypatch.setenv('POPNB_DATA_MIRROR', str(mirror))
    from popnb.data import load_paper_dataset, paper_split, grouped_folds
    df = load_paper_dataset(); y = df.popularity.to_numpy(float)
    mae = lambda name, tr, te: np.abs(make_baseline(name).fit(df.iloc[tr], y[tr]).predict(df.iloc[te]) - y[te]).mean()
    tr, te = paper_split(df, seed=0)
    assert mae('artist_mean', tr, te) < mae('mean', tr, te) - 0.5         # random split: artist identity leaks
    tr, te = grouped_folds(df, k=5, seed=0)[0]
    assert mae('artist_mean', tr, te) == pytest.approx(mae('mean', tr, te))  # grouped: unseen artists, global mean


# --- the earlier methods of Table 8 (issue 13) ---
from popnb.models import GroupedSearchSVR, HitMusicNetRegressor
EARLIER_METHODS = tagged('earlier')

@pytest.mark.parametrize('name', EARLIER_METHODS)
def test_every_earlier_method_fits_predicts_and_clones(name):
    df = _df(); est = make_baseline(name, seed=1)
    p = clone(est).fit(df.iloc[:45], df.popularity.iloc[:45]).predict(df.iloc[45:])
    assert p.shape == (15,) and np.isfinite(p).all()

@pytest.fixture
def inner_folds_seen(monkeypatch):
    "Artists shared by the training and validation rows of every inner GroupKFold split made while the test runs."
    import popnb.models as pm
    seen = []
    class Spy(pm.GroupKFold):
        def split(self, X, y=None, groups=None):
            for tr, va in super().split(X, y, groups):
                seen.append(set(groups[tr]) & set(groups[va])); yield tr, va
    monkeypatch.setattr(pm, 'GroupKFold', Spy)
    return seen

def test_svr_chooses_by_artist_grouped_inner_cv(inner_folds_seen):
    "The inner search never validates on an artist it fitted on: GroupKFold over the artist column."
    seen = inner_folds_seen
    df = _df(); s = GroupedSearchSVR(Cs=(1., 10.), gammas=(0.1,)).fit(df, df.popularity)
    assert seen and all(not x for x in seen)
    assert s.best_params_['C'] in (1., 10.) and s.best_params_['gamma'] == 0.1

def test_rf_and_gradient_boosting_choose_by_artist_grouped_inner_cv(inner_folds_seen):
    "Random Forest and gradient boosting are tuned like the SVR (issue 19 §3): a stated grid, inner folds that never share an artist."
    import popnb.models as pm
    seen = inner_folds_seen
    df = _df()
    for name, grid in (('hgb_all', pm.HGB_GRID), ('hgb_artist', pm.HGB_GRID), ('rf', pm.RF_GRID)):
        seen.clear(); m = make_baseline(name, seed=1).fit(df, df.popularity)
        assert seen and all(not x for x in seen), name
        assert set(m.best_params_) == set(grid) and all(m.best_params_[k] in v for k, v in grid.items()), name
    assert m.estimator_['model'].n_estimators == 300                 # searched with 100 trees, refitted with 300

def test_tuned_baselines_follow_the_feature_set():
    from popnb.train import make_model, feature_cols
    for name in ('hgb_all', 'rf'):
        assert tuple(make_model(name, feature_set='both').estimator.cols) == tuple(feature_cols('both')), name

def test_hitmusicnet_design_and_determinism():
    df = _df(); h = HitMusicNetRegressor(epochs=20, seed=3).fit(df, df.popularity)
    assert h.code_size_ == 2                                     # 13 inputs / 5, HitMusicNet's 'auto' compression
    assert [m.out_features for m in h.encoder_ if isinstance(m, torch.nn.Linear)] == [6, 4, 2]
    p = h.predict(df)
    assert np.array_equal(p, HitMusicNetRegressor(epochs=20, seed=3).fit(df, df.popularity).predict(df))
    assert p.min() >= df.popularity.min() - 1e-6 and p.max() <= df.popularity.max() + 1e-6
    with pytest.raises(DataError, match='missing column'): HitMusicNetRegressor().fit(df.drop(columns='energy'), df.popularity)

def test_earlier_methods_are_registered():
    from popnb.train import MODELS, make_model
    assert all(MODELS[n].kind == 'baseline' and not MODELS[n].uses_audio for n in EARLIER_METHODS)
    with pytest.raises(ParameterError, match='hitmusicnet'): make_baseline('svm')
    df = _df(); m = make_model('rf', seed=0).fit(df, df.popularity)
    assert m.predict(df).shape == (60,)
