"Papermill smoke run of nbs/paper/12_release_date: T16 and F19 written, the three protocols scored on the same later tracks."
import pytest

SYNTH = 'synthetic stand-in audio'
MODELS = ['fusion_cnn', 'mean', 'artist_mean', 'ridge']

def test_paper_12_release_date_smoke(paper_smoke, mirror):
    "Every model under grouped, release and release_grouped on the tracks after the cutoff; two Holm families a release protocol."
    import pandas as pd
    root, arts = paper_smoke('12_release_date', models=MODELS, cutoff=2021)
    for ext in ('png', 'pdf'): assert (root/'figures'/f'F19_release_date.{ext}').stat().st_size > 0
    names = ('T16_release_date', 'T16_release_date_summary', 'T16_differences')
    for t in names:
        for ext in ('csv', 'md', 'tex'): assert (root/'figures'/'tables'/f'{t}.{ext}').stat().st_size > 0, t
    for k in ['figure/F19_release_date', *[f'table/{t}' for t in names]]:   # made with the network's stand-in audio: said so
        assert arts[k]['audio_source'] == 'synthetic' and SYNTH in arts[k]['caption'], k
        assert arts[k]['params']['cutoff'] == 2021, k
    t = pd.read_csv(root/'figures'/'tables'/'T16_release_date.csv')
    assert set(t.protocol) == {'grouped', 'release', 'release_grouped'} and set(t.model) == set(MODELS) and set(t.cutoff) == {2021}
    assert t.groupby('protocol').n.nunique().eq(1).all() and t.n.nunique() == 1   # the same later tracks under every protocol
    s = pd.read_csv(root/'figures'/'tables'/'T16_release_date_summary.csv').set_index(['model', 'protocol'])
    assert s.loc[('mean', 'release'), 'r2'] == pytest.approx(0, abs=0.05)   # the training mean of the earlier tracks
    assert s.loc[('artist_mean', 'release'), 'mae'] < s.loc[('artist_mean', 'release_grouped'), 'mae']   # a seen artist's mean helps
    d = pd.read_csv(root/'figures'/'tables'/'T16_differences.csv')
    assert set(d.family) == {'release', 'release_skill', 'release_no_artist'}   # the plan's families of this notebook (params/plan.yaml)
    assert (d.ci_low <= d.difference).all() and (d.difference <= d.ci_high).all()
    assert set(d[d.family == 'release'].a) == set(MODELS) and set(d[d.family == 'release'].protocol_a) == {'release', 'release_grouped'}
    assert set(d[d.family == 'release_skill'].a) == set(MODELS) - {'mean'} and set(d[d.family == 'release_skill'].b) == {'mean'}
    from popnb.train import MODELS as REGISTRY                            # without the artist inputs: the learners that take them (issue 29 §4)
    na = d[d.family == 'release_no_artist']
    assert set(na.a) == {f'{m} @no_artist' for m in MODELS if REGISTRY[m].artist_inputs and not REGISTRY[m].uses_audio} and set(na.b) == {'mean'}

def test_paper_12_rejects_a_cutoff_with_nothing_after_it(tmp_path, kernel_name, mirror, monkeypatch):
    "A cutoff after the last release fails at the top, naming the parameter."
    import papermill as pm
    from pathlib import Path
    monkeypatch.setenv('POPNB_SMOKE_ROOT', str(tmp_path/'root'))
    nb = Path(__file__).resolve().parents[1]/'nbs'/'paper'/'12_release_date.ipynb'
    with pytest.raises(pm.PapermillExecutionError, match='no track released after 2030') as e:
        pm.execute_notebook(str(nb), str(tmp_path/nb.name), parameters=dict(smoke=True, cutoff=2030), kernel_name=kernel_name,
                            cwd=str(nb.parent), progress_bar=False)
    assert 'ParameterError' in str(e.value)
