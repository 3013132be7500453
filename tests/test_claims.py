"Papermill smoke run of nbs/paper/08_claims.ipynb (issue 13): every claim's table and figure written into the smoke root."
import json
from pathlib import Path
import pandas as pd
import pytest

PAPER = Path(__file__).resolve().parents[1]/'nbs'/'paper'
SYNTH = 'synthetic stand-in audio'
TABLES = ('T8_earlier_methods', 'T8_earlier_methods_summary', 'T9_popularity_tiers', 'T10_calibration', 'T11_production_choices',
          'T10_reliability_bins', 'T12_differences', 'T12_runs')
FIGURES = ('F13_tier_confusion', 'F14_reliability', 'F15_partial_dependence')

def _run(tmp_path, monkeypatch, kernel_name, **params):
    import papermill as pm
    root = tmp_path/'root'
    monkeypatch.setenv('POPNB_SMOKE_ROOT', str(root)); monkeypatch.setenv('POPNB_THREADS', '1')
    nb = PAPER/'08_claims.ipynb'
    pm.execute_notebook(str(nb), str(tmp_path/nb.name), parameters=dict(smoke=True, **params), kernel_name=kernel_name,
                        cwd=str(nb.parent), progress_bar=False)
    return root

def test_paper_08_claims_smoke(tmp_path, monkeypatch, kernel_name, mirror):
    monkeypatch.setenv('POPNB_DATA_MIRROR', str(mirror))
    root = _run(tmp_path, monkeypatch, kernel_name)
    figs = root/'figures'; arts = json.loads((figs/'manifest.json').read_text())['artefacts']
    for t in TABLES:
        for ext in ('csv', 'md', 'tex'): assert (figs/'tables'/f'{t}.{ext}').stat().st_size > 0, t
        assert f'table/{t}' in arts, t
    for f in FIGURES:
        for ext in ('png', 'pdf'): assert (figs/f'{f}.{ext}').stat().st_size > 0, f
        assert f'figure/{f}' in arts, f
    for key, a in arts.items():                          # anything made from stand-in audio says so
        if a['audio_source'] == 'synthetic': assert SYNTH in a['caption'], key
    assert arts['table/T11_production_choices']['audio_source'] is None      # metadata models only
    t8 = pd.read_csv(figs/'tables'/'T8_earlier_methods.csv')
    assert {'rf', 'svr', 'hitmusicnet', 'paper_cnn', 'fusion_cnn', 'ridge', 'hgb_all', 'mean'} <= set(t8.model)
    assert set(t8.protocol) == {'grouped', 'paper'}
    assert not t8[(t8.model == 'always "popular"') & t8.metric.isin(['mae', 'r2'])].size   # a classifier: no regression metrics
    t9 = pd.read_csv(figs/'tables'/'T9_popularity_tiers.csv')
    assert {'majority tier', 'stratified random'} <= set(t9.model) and set(t9.metric) == {'macro_f1', 'balanced_accuracy', 'kappa'}
    assert (t9[t9.model == 'majority tier'].query("metric == 'kappa'").value.abs() < 0.15).all()   # 0 within a fold; folds may differ
    t10 = pd.read_csv(figs/'tables'/'T10_calibration.csv')
    assert set(t10.threshold.astype(str)) == {'50', '70'} and set(t10.metric) == {'brier', 'ece', 'ece_bc'} and 'base rate' in set(t10.model)
    t12 = pd.read_csv(figs/'tables'/'T12_differences.csv')                 # which differences are real (issue 19)
    from popnb.evaluate import family_comparisons, holm                    # the plan's families of 08, whole (issues 28, 29)
    assert set(t12.family) == {'claims', 'skill', 'claims_no_artist', 'skill_no_artist'}
    for f in ('claims', 'skill', 'claims_no_artist', 'skill_no_artist'):
        g = t12[t12.family == f]
        assert list(zip(g.a, g.b, g.protocol_a, g.protocol_b)) == family_comparisons(f) and (g.m == len(g)).all()
        assert abs(g.p_adj - holm(g.p_value.to_numpy())).max() < 1e-5
    assert set(t12.verdict) <= {'better', 'worse', 'no detectable difference', 'supports the claim', 'contradicts the claim'}
    assert set(t12[t12.family.str.startswith('claims')].verdict) <= {'supports the claim', 'contradicts the claim', 'no detectable difference'}
    assert t12.p_adj.notna().all() and (t12.p_adj >= t12.p_value - 1e-9).all()
    assert '95 % interval: artists and seeds resampled' in arts['table/T12_differences']['caption']
    assert "Family 'claims' of the analysis plan" in arts['table/T12_differences']['caption']
    assert '95 % interval: artists and seeds resampled' in arts['table/T8_earlier_methods']['caption']
    runs = pd.read_csv(figs/'tables'/'T12_runs.csv')
    assert {'protocol', 'model', 'seed', 'mae', 'mean_mae', 'diverged', 'no_skill'} <= set(runs.columns)
    bc = t10[t10.metric == 'ece_bc']
    assert len(bc) and ((bc.ci_low <= bc.value + 1e-9) & (bc.value <= bc.ci_high + 1e-9)).all()   # issue 19 §4: point inside its interval
    t11 = pd.read_csv(figs/'tables'/'T11_production_choices.csv')
    assert len(t11) == 18 and set(t11.model) == {'hgb_all', 'fusion_meta'} and (t11.ci_low <= t11.pd_range + 1e-9).all()
    assert {'null_range', 'null_ci_low', 'null_ci_high', 'excess', 'excess_ci_low', 'excess_ci_high', 'seed_sd'} <= set(t11.columns)   # issue 19 §4
    assert ((t11.null_ci_low <= t11.null_range + 1e-9) & (t11.null_range <= t11.null_ci_high + 1e-9) & (t11.pd_range <= t11.ci_high + 1e-9)).all()
    assert set(t11.association) <= {'above its permuted copy', 'not above its permuted copy'}
    cap = arts['table/T11_production_choices']['caption']
    assert 'permuted copy' in cap and 'association' in cap and 'artists and seeds resampled' in cap   # what the model associates, not what a choice causes
    t8cap = arts['table/T8_earlier_methods']['caption']
    assert 'min_samples_leaf' in t8cap and 'max_leaf_nodes' in t8cap                  # Random Forest and gradient boosting: grids stated

@pytest.mark.parametrize('bad,msg', [(dict(bands=[80.0, 60.0]), 'two increasing'), (dict(pd_points=2), 'at least 3'),
                                     (dict(band=[60.0, 80.0]), "did you mean 'bands'")])
def test_paper_08_claims_rejects_bad_parameters(bad, msg, tmp_path, monkeypatch, kernel_name):
    import papermill as pm
    with pytest.raises(pm.PapermillExecutionError, match=msg):
        _run(tmp_path, monkeypatch, kernel_name, **bad)
