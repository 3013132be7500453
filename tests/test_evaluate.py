"popnb.evaluate: the published numbers, metric edge cases against sklearn, bootstrap, score tables, bad input."
import warnings
import numpy as np, pandas as pd, pytest
from sklearn import metrics as skm
from scipy.stats import spearmanr
from popnb.core import DataError, ParameterError
from popnb.evaluate import *


@pytest.fixture
def paper(mirror):
    return pd.read_csv(mirror/'paper'/'spotify_data_predicted.csv')


def test_published_numbers(paper):
    y, p = paper.popularity, paper.predictions
    c, r = classification_metrics(y, p, 50), regression_metrics(y, p)
    got = {k: round(v, 4) for k, v in {**c, **r}.items()}
    assert (got['accuracy'], got['precision'], got['recall'], got['f1']) == (0.9568, 0.9587, 0.9979, 0.9779)
    assert (got['mae'], got['r2']) == (9.4958, -0.0138)
    a = classification_metrics(y, np.full(len(y), 100.), 50)
    assert [round(a[k], 4) for k in ('accuracy', 'precision', 'recall', 'f1')] == [0.9583, 0.9583, 1.0, 0.9787]
    assert a['balanced_accuracy'] == 0.5 and a['roc_auc'] == 0.5


def test_ge_not_gt(paper):
    # popular = popularity >= 50; with > the accuracy would not be the published one
    y, p = paper.popularity.to_numpy(), paper.predictions.to_numpy()
    assert round(skm.accuracy_score(y > 50, p > 50), 4) != 0.9568
    assert binarize(y, 50).sum() == (y >= 50).sum()


def test_score_table_published(paper):
    t = score_table(predictions_table(paper.popularity, paper.predictions, artist=paper.artist), n_boot=100, constant=100.)
    v = t.set_index(['model', 'subset', 'threshold', 'metric'])
    assert round(v.loc[("authors' CNN", 'all rows', '50', 'f1'), 'value'], 4) == 0.9779
    assert round(v.loc[('always "popular"', 'all rows', '50', 'f1'), 'value'], 4) == 0.9787
    assert round(v.loc[("authors' CNN", 'all rows', '', 'mae'), 'value'], 4) == 9.4958
    assert set(t.subset) == {'all rows'}  # no held-out rows in the authors' predictions
    lo, hi = v.loc[("authors' CNN", 'all rows', '', 'mae'), ['ci_low', 'ci_high']]
    assert lo < 9.4958 < hi
    assert list(t.columns) == ['protocol', 'model', 'subset', 'threshold', 'metric', 'value', 'seed_sd', 'ci_low', 'ci_high', 'n', 'n_seeds']
    assert t.seed_sd.isna().all()   # one run: no seed spread


def _sk(a, b, s):
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        return dict(accuracy=skm.accuracy_score(a, b), precision=skm.precision_score(a, b, zero_division=np.nan),
                    recall=skm.recall_score(a, b, zero_division=np.nan), f1=skm.f1_score(a, b, zero_division=np.nan),
                    balanced_accuracy=skm.balanced_accuracy_score(a, b) if 0 < a.sum() < len(a) else np.nan,
                    macro_f1=skm.f1_score(a, b, average='macro', zero_division=np.nan),
                    roc_auc=skm.roc_auc_score(a, s) if 0 < a.sum() < len(a) else np.nan)


@pytest.mark.parametrize('seed', range(6))
def test_against_sklearn_with_ties_and_resamples(seed):
    rng = np.random.default_rng(seed); n = int(rng.integers(2, 80))
    y = rng.integers(30, 90, n).astype(float); p = np.round(rng.normal(60, 20, n) / 5) * 5   # many ties
    idx = rng.integers(0, n, (4, n)); W = np.stack([np.bincount(i, minlength=n) for i in idx]).astype(float)
    c = classification_metrics(y, p, 60, weights=W); r = regression_metrics(y, p, weights=W)
    for b in range(4):
        yy, pp = y[idx[b]], p[idx[b]]
        ref = _sk(yy >= 60, pp >= 60, pp)
        for k in CLS_METRICS: np.testing.assert_allclose(c[k][b], ref[k], err_msg=k, equal_nan=True)
        np.testing.assert_allclose(r['mae'][b], skm.mean_absolute_error(yy, pp))
        np.testing.assert_allclose(r['rmse'][b], np.sqrt(skm.mean_squared_error(yy, pp)))
        if np.ptp(yy) > 0: np.testing.assert_allclose(r['r2'][b], skm.r2_score(yy, pp))
        if np.ptp(yy) > 0 and np.ptp(pp) > 0: np.testing.assert_allclose(r['spearman'][b], spearmanr(yy, pp).statistic)


def test_one_class_absent_is_nan_not_error():
    c = classification_metrics([60, 70, 80], [10, 90, 95], 50)
    assert np.isnan(c['balanced_accuracy']) and np.isnan(c['roc_auc'])
    assert c['recall'] == pytest.approx(2/3) and c['precision'] == 1.0
    c = classification_metrics([10, 20], [1, 2], 50)   # nothing popular, nothing predicted popular
    assert np.isnan(c['precision']) and np.isnan(c['recall']) and np.isnan(c['f1']) and c['macro_f1'] == 1.0
    assert classification_metrics([10, 20], [1, 2], 50, zero_division=0.)['f1'] == 0.


def test_median_threshold():
    y = np.array([10., 20, 30, 40]); assert resolve_threshold(y, 'median') == 25
    c = classification_metrics(y, y, 'median'); assert c['accuracy'] == 1 and c['balanced_accuracy'] == 1
    with pytest.raises(ParameterError, match="expected a number or 'median'"): resolve_threshold(y, 'mean')
    with pytest.raises(ParameterError): resolve_threshold(y, True)


def test_bad_input():
    with pytest.raises(DataError, match='y_pred: 1 non-finite value'): regression_metrics([1, 2], [1, np.nan])
    with pytest.raises(DataError, match='2 rows but y_pred has 3'): classification_metrics([1, 2], [1, 2, 3])
    with pytest.raises(DataError, match='weights have 3 columns'): regression_metrics([1, 2], [1, 2], weights=np.ones((2, 3)))
    with pytest.raises(ParameterError, match="did you mean 'f1'"): classification_metrics([1, 2], [1, 2], metrics=['f11'])
    pr = predictions_table([50, 60], [55, 65])
    with pytest.raises(DataError, match="missing column"): score_table(pr.drop(columns='y_true'), n_boot=0)
    with pytest.raises(ParameterError, match='unknown subset'): score_table(pr, subsets=('train',), n_boot=0)


def test_bootstrap_seeded_vectorised_and_clustered():
    rng = np.random.default_rng(0); n = 500
    art = np.repeat(np.arange(25), 20); eff = rng.normal(0, 15, 25)[art]
    y = 60 + eff + rng.normal(0, 5, n); p = 60 + rng.normal(0, 5, n)
    a = bootstrap_ci(y, p, n_boot=400, seed=1); b = bootstrap_ci(y, p, n_boot=400, seed=1)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(bootstrap_ci(y, p, n_boot=400, seed=2))
    g = bootstrap_ci(y, p, n_boot=400, seed=1, groups=art)
    wa = (a.ci_high - a.ci_low).to_numpy(); wg = (g.ci_high - g.ci_low).to_numpy()
    assert wg[0] > 1.5 * wa[0]     # MAE interval much wider when artists are resampled
    W = bootstrap_weights(n, 10, groups=art)
    assert (W.reshape(10, 25, 20).std(axis=2) == 0).all() and (W.sum(1) % 20 == 0).all()


def test_bootstrap_is_fast():
    import time
    rng = np.random.default_rng(0); y = rng.uniform(0, 100, 2000); p = y + rng.normal(0, 10, 2000)
    t = time.perf_counter()
    bootstrap_ci(y, p, classification_metrics, n_boot=1000, threshold=50)
    bootstrap_ci(y, p, regression_metrics, n_boot=1000)
    assert time.perf_counter() - t < 15


def _grouped(seeds=(0, 1), n=120):
    rng = np.random.default_rng(3); y = rng.integers(20, 95, n).astype(float)
    rows = []
    for s in seeds:
        fold = rng.permutation(np.arange(n) % 5)
        for m, sd in (('gbm', 5.), ('cnn', 20.)):
            rows.append(pd.DataFrame(dict(protocol='grouped', model=m, seed=s, fold=fold, split='test',
                                          track_key=[f't{i}' for i in range(n)], artist=[f'a{i % 12}' for i in range(n)],
                                          y_true=y, y_pred=y + rng.normal(0, sd, n))))
    return pd.concat(rows, ignore_index=True)


def test_score_table_grouped_sweep_and_breakdown():
    pr = _grouped()
    t = score_table(pr, n_boot=50, cluster=True)
    assert set(t.subset) == {'held-out'} and set(t.n_seeds) == {2} and set(t.n) == {120}
    assert set(t.metric) == set(REG_METRICS) | set(CLS_METRICS)
    v = t.set_index(['model', 'threshold', 'metric'])
    assert v.loc[('gbm', '', 'mae'), 'value'] < v.loc[('cnn', '', 'mae'), 'value']
    assert (t.dropna().ci_low <= t.dropna().value + 1e-9).all() and (t.dropna().value <= t.dropna().ci_high + 1e-9).all()
    pd.testing.assert_frame_equal(t, score_table(pr, n_boot=50, cluster=True))   # deterministic
    sw = threshold_sweep(pr, thresholds=[40, 50, 'median'])
    assert set(sw.model) == {'gbm', 'cnn', 'always "popular"'} and set(sw.metric) == {'f1', 'balanced_accuracy'}
    assert (sw[sw.model == 'always "popular"'].query("metric == 'balanced_accuracy'").value == 0.5).all()
    data = pd.DataFrame({'track_key': [f't{i}' for i in range(120)], 'genre': np.where(np.arange(120) < 60, 'pop', 'rock')})
    bg = score_table(add_groups(pr, data, 'genre'), thresholds=(50,), n_boot=0, by='genre')
    assert set(bg.genre) == {'pop', 'rock'} and set(bg.n) == {60}
    with pytest.raises(DataError, match='track_key is not unique'): add_groups(pr, pd.concat([data, data]), 'genre')


def test_permutation_importance_and_saliency():
    rng = np.random.default_rng(0)
    X = pd.DataFrame({'a': rng.normal(size=200), 'b': rng.normal(size=200), 'c': rng.normal(size=200)})
    y = 3 * X.a + X.b
    pi = permutation_importance(lambda d: 3 * d.a + d.b, X, y, n_repeats=3)
    assert pi.feature.tolist() == ['a', 'b', 'c'] and pi.importance.iloc[-1] == 0
    grp = permutation_importance(lambda d: 3 * d.a + d.b, X, y, features={'ab': ['a', 'b'], 'c': ['c']}, metric='r2')
    assert grp.feature[0] == 'ab' and grp.importance[0] > 1
    with pytest.raises(DataError, match="missing column"): permutation_importance(lambda d: d.a, X, y, features=['zz'])
    S = rng.random((10, 9))
    sal = occlusion_saliency(lambda s, m: s[:, :, -3:].sum((1, 2)) + m[:, 0], S, meta=[1.], patch=(5, 3))
    assert sal[:, -3:].min() > 0 and sal[:, :-3].max() == 0
    with pytest.raises(DataError, match='expected one n_mels'): occlusion_saliency(lambda s, m: s.sum(), S[None])


def test_training_log(mirror, tmp_path):
    c = parse_training_log(mirror/'paper'/'all_logs.txt')
    assert len(c) == 25 and c.n_epochs.unique().tolist() == [25]
    assert c.loc[0, 'val_mae'] == 340.5115 and c.loc[24, 'val_r2'] == -7.1934
    assert c.early_stopping_counter.max() == 3 and c[['train_loss', 'val_loss']].notna().all().all()
    s = parse_log_predictions(mirror/'paper'/'all_logs.txt')
    assert len(s) == 25 * 394 and s.actual.between(0, 100).all()
    bad = tmp_path/'x.log'; bad.write_text('hello\n')
    with pytest.raises(DataError, match="no 'Epoch i/n' lines"): parse_training_log(bad)


# --- issue 13: the constant is a classifier; tiers, calibration, partial dependence ---
def _toy_grouped(n=300, seed=0, models=('good', 'mean')):
    rng = np.random.default_rng(seed); yt = rng.normal(65, 15, n).clip(0, 100); fold = rng.integers(0, 5, n)
    preds = {'good': yt + rng.normal(0, 4, n), 'mean': np.full(n, 65.), 'noise': rng.normal(65, 15, n)}
    return pd.concat([pd.DataFrame(dict(protocol='grouped', model=m, seed=0, fold=fold, split='test', track_key=[f't{i}' for i in range(n)],
                                        artist=[f'a{i % 30}' for i in range(n)], y_true=yt, y_pred=preds[m])) for m in models], ignore_index=True)

def test_constant_gets_classification_metrics_only():
    t = score_table(_toy_grouped(), thresholds=(50,), n_boot=0, subsets=('held-out',), constant=100.)
    c = t[t.model == CONSTANT_MODEL]
    assert set(c.metric) == set(CLS_METRICS) and (c.threshold == '50').all()
    assert {'mae', 'r2'} <= set(t[t.model == 'mean'].metric)      # a constant *regressor* keeps its regression metrics

def test_tiers_use_each_folds_training_rows():
    pr = _toy_grouped()
    tt = tier_table(pr, 'tertiles')
    for f, d in tt[tt.model == 'good'].groupby('fold'):
        train = pr[(pr.model == 'good') & (pr.fold != f)].y_true
        assert d.lo.iloc[0] == pytest.approx(np.quantile(train, 1/3)) and d.hi.iloc[0] == pytest.approx(np.quantile(train, 2/3))
    assert set(tt.model) == {'good', 'mean', MAJORITY_TIER, RANDOM_TIER}
    s = tier_scores(tt, n_boot=200).set_index(['model', 'metric'])
    assert s.loc[('good', 'kappa'), 'value'] > 0.6 and s.loc[(MAJORITY_TIER, 'kappa'), 'value'] == 0
    assert abs(s.loc[(RANDOM_TIER, 'kappa'), 'value']) < 0.15
    lo, hi = s.loc[('good', 'macro_f1'), ['ci_low', 'ci_high']]
    assert lo <= s.loc[('good', 'macro_f1'), 'value'] <= hi
    fixed = tier_table(pr, FIXED_BANDS)
    assert (fixed.lo == 60).all() and (fixed.hi == 80).all()
    assert tier_confusion(fixed, 'good', normalize=False).to_numpy().sum() == 300

def test_tier_metrics_match_sklearn_with_weights():
    rng = np.random.default_rng(3); t, q = rng.integers(0, 3, 80), rng.integers(0, 3, 80); w = rng.integers(0, 3, 80).astype(float)
    m = tier_metrics(t, q, weights=w)
    rt, rq = np.repeat(t, w.astype(int)), np.repeat(q, w.astype(int))
    assert m['kappa'] == pytest.approx(skm.cohen_kappa_score(rt, rq))
    assert m['macro_f1'] == pytest.approx(skm.f1_score(rt, rq, average='macro'))
    assert m['balanced_accuracy'] == pytest.approx(skm.balanced_accuracy_score(rt, rq))
    with pytest.raises(DataError, match='0..2'): tier_metrics([0, 1], [0, 5])
    with pytest.raises(ParameterError, match='two increasing'): tier_edges([1, 2, 3], (70,))

def test_link_is_fitted_on_other_folds_only():
    pr = _toy_grouped(models=('good',))
    lp = link_probabilities(pr, 70)
    from sklearn.linear_model import LogisticRegression
    te, tr = pr[pr.fold == 2], pr[pr.fold != 2]
    x = tr.y_pred.to_numpy(); xs = (x - x.mean())/x.std()
    lr = LogisticRegression(C=1e4, max_iter=1000).fit(xs[:, None], (tr.y_true >= 70).astype(int))
    want = lr.predict_proba(((te.y_pred.to_numpy() - x.mean())/x.std())[:, None])[:, 1]
    assert np.allclose(lp[(lp.fold == 2) & (lp.model == 'good')].prob.to_numpy(), want)
    assert np.allclose(lp[(lp.fold == 2) & (lp.model == BASE_RATE)].prob, (tr.y_true >= 70).mean())   # the reference: training share
    cs = calibration_scores(lp, n_boot=100)
    assert set(cs.metric) == set(CAL_METRICS) | {'ece_bc'} and (cs.threshold == '70').all()
    bc = cs[cs.metric == 'ece_bc']
    assert ((bc.ci_low <= bc.value) & (bc.value <= bc.ci_high)).all()      # the bias-corrected point lies inside its interval

def test_calibration_metrics_against_sklearn():
    from sklearn.metrics import brier_score_loss
    rng = np.random.default_rng(0); p = rng.random(500); y = (rng.random(500) < p).astype(float)
    m = calibration_metrics(y, p)
    assert m['brier'] == pytest.approx(brier_score_loss(y, p))
    r = reliability_table(y, p)
    assert m['ece'] == pytest.approx((r.n * (r.observed - r.mean_prob).abs()).sum() / 500)
    assert r.n.sum() == 500 and r.bin.between(0, 9).all()

def test_vary_input_holds_the_other_inputs():
    X = pd.DataFrame(dict(tempo=[90., 120., 150.], energy=[.2, .5, .8]))
    seen = []
    f = lambda d: (seen.append(d.energy.tolist()), d.tempo.to_numpy() + 100*d.energy.to_numpy())[1]
    ice = vary_input(f, X, 'tempo', [100, 140])
    assert ice.tolist() == [[120, 160], [150, 190], [180, 220]]
    assert all(s == [.2, .5, .8] for s in seen)
    with pytest.raises(DataError, match='non-finite'): vary_input(f, X, 'tempo', [100, np.nan])
    with pytest.raises(DataError, match='n × G'): partial_dependence(np.zeros(3))


# --- issue 19: two-level bootstrap, runs, paired differences, Holm ---
from popnb.evaluate import (seed_resample, interval_caption, seed_table, seed_summary, paired_difference, holm,
                            family_table, load_plan, verdict_sentence, check_record)

def _runs(offsets, n=200, seed=0, models=None):
    "One model per name with per-seed error offsets; artists a0..a19."
    rng = np.random.default_rng(seed); y = rng.normal(60, 15, n); out = []
    for m, offs in (models or {'net': offsets}).items():
        for s, off in enumerate(offs):
            out.append(pd.DataFrame(dict(protocol='grouped', model=m, seed=s, fold=np.arange(n) % 5, split='test',
                                         track_key=[f't{i}' for i in range(n)], artist=[f'a{i % 20}' for i in range(n)],
                                         y_true=y, y_pred=y + rng.normal(0, 5, n) + off)))
    return pd.concat(out, ignore_index=True)

def test_two_level_interval_is_the_default_and_widens_with_a_bad_seed():
    pr = _runs([0, 0, 0, 0, 50])
    w = lambda t: float((t.ci_high - t.ci_low).iloc[0])
    two = score_table(pr, thresholds=(), n_boot=200, subsets=('held-out',)).query("metric == 'mae'")
    art = score_table(pr, thresholds=(), n_boot=200, subsets=('held-out',), resample_seeds=False).query("metric == 'mae'")
    trk = score_table(pr, thresholds=(), n_boot=200, subsets=('held-out',), resample_seeds=False, cluster=False).query("metric == 'mae'")
    assert w(two) > 5 * w(art) and w(trk) > 0     # the diverged seed widens the default interval
    assert interval_caption(1000) == '95 % interval: artists and seeds resampled, 1,000 resamples'
    assert (seed_resample(np.ones((3, 7))) == 1).all()

def test_seed_table_counts_diverged_runs():
    st = seed_table(_runs([0, 0, 60]))
    assert list(st.diverged) == [False, False, True] and st.mean_mae.nunique() == 1
    s = seed_summary(st).iloc[0]
    assert s.runs_diverged == '1 of 3 runs diverged' and s.mae_median < s.mae_mean

def test_paired_difference_finds_a_planted_difference_and_not_an_absent_one():
    pr = _runs(None, n=400, models={'a': [0, 0, 0], 'b': [8, 8, 8]})
    d = paired_difference(pr, 'a', 'b', 'mae', n_boot=400)
    assert d['ci_high'] < 0 and d['p_value'] < 0.01 and d['n_seeds'] == 3
    same = paired_difference(pd.concat([pr[pr.model == 'a'], pr[pr.model == 'a'].assign(model='a2')]), 'a', 'a2', n_boot=200)
    assert same['difference'] == 0 and same['p_value'] == 1
    r2 = paired_difference(pr, 'a', 'b', 'r2', n_boot=200)
    assert r2['difference'] > 0
    with pytest.raises(DataError, match='share no seed'):
        paired_difference(pd.concat([pr[(pr.model == 'a') & (pr.seed < 2)], pr[(pr.model == 'b') & (pr.seed == 2)],
                                     pr[(pr.model == 'b') & (pr.seed == 2)].assign(seed=3)]), 'a', 'b', n_boot=0)

def test_holm_by_hand():
    # m = 5; sorted 0.001, 0.01, 0.02, 0.04, 0.3 → ×5, ×4, ×3, ×2, ×1 = 0.005, 0.04, 0.06, 0.08, 0.3 (already increasing)
    assert np.allclose(holm([0.04, 0.001, 0.3, 0.01, 0.02]), [0.08, 0.005, 0.3, 0.04, 0.06])
    assert np.allclose(holm([0.02, 0.02]), [0.04, 0.04]) and np.isnan(holm([np.nan])).all()

def test_family_table_keeps_every_comparison_and_judges_claims():
    "A family of the plan is tested whole: a model with no skill is compared too, and a claim it wins is contradicted when it loses."
    pr = _runs(None, models={'good': [0, 0], 'same': [0, 0], 'mean': [0, 0], 'flat': [0, 0]})
    pr.loc[pr.model == 'mean', 'y_pred'] = pr.y_true.mean(); pr.loc[pr.model == 'flat', 'y_pred'] = pr.y_true.mean() + 15
    plan = dict(rule=load_plan()['rule'], families=dict(
        toy=dict(notebook='-', table='-', question='toy', metric='mae', comparisons=[['good', 'mean'], ['mean', 'good'], ['good', 'same'], ['flat', 'good']]),
        claim=dict(notebook='-', table='-', question='toy', metric='mae', claim='a', comparisons=[['flat', 'good']])))
    t = family_table(pr, 'toy', plan=plan, n_boot=300)
    assert list(t.verdict[:2]) == ['better', 'worse'] and t.verdict[3] == 'worse' and (t.m == 4).all()
    assert t.verdict[2] in ('no detectable difference', 'better', 'worse') and t.status_a[3] == 'no skill'
    assert np.allclose(t.p_adj, holm(t.p_value), atol=1e-6) and check_record(t) == []
    assert t.sentence[0].startswith('good against training mean (grouped): MAE difference -')
    c = family_table(pr, 'claim', plan=plan, n_boot=300).iloc[0]
    assert c.verdict == 'contradicts the claim' and 'the data contradict the claim that flat beats good' in c.sentence
