"Papermill smoke run of nbs/paper/11_learning_curves: T15 and F18 written, every model at every size, stand-in audio labelled."
import pandas as pd

SYNTH = 'synthetic stand-in audio'

def test_paper_11_learning_curves_smoke(paper_smoke, mirror):
    "Two drawn sizes and all artists for ridge, gradient boosting and the corrected network; slopes from the second size on."
    root, arts = paper_smoke('11_learning_curves', sizes=[20, 40])
    for ext in ('png', 'pdf'): assert (root/'figures'/f'F18_learning_curves.{ext}').stat().st_size > 0
    for ext in ('csv', 'md', 'tex'): assert (root/'figures'/'tables'/f'T15_learning_curves.{ext}').stat().st_size > 0
    assert {'figure/F18_learning_curves', 'table/T15_learning_curves'} <= set(arts)
    for k in ('figure/F18_learning_curves', 'table/T15_learning_curves'):   # made with the network's stand-in audio: said so
        assert arts[k]['audio_source'] == 'synthetic' and SYNTH in arts[k]['caption'], k
    assert SYNTH in (root/'figures'/'tables'/'T15_learning_curves.md').read_text()
    t = pd.read_csv(root/'figures'/'tables'/'T15_learning_curves.csv')
    from popnb.train import tagged
    assert list(t.model.unique()) == list(tagged('curve'))   # the registry's curve models, in its order
    for m, g in t.groupby('model'):
        assert list(g['size'].astype(str)) == ['20', '40', 'all'], m
        assert g.train_tracks.is_monotonic_increasing and g.train_artists.iloc[-1] > 40, m
        assert g.slope_r2.isna().tolist() == [True, False, False], m
    assert t[['r2', 'mae', 'r2_ci_low', 'r2_ci_high']].notna().all().all() and (t.r2_ci_low <= t.r2_ci_high).all()
