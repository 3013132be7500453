"Papermill smoke runs of the paper notebooks: every artefact written into the smoke root, synthetic ones labelled."
from pathlib import Path
import pytest

PAPER = Path(__file__).resolve().parents[1]/'nbs'/'paper'
SYNTH = 'synthetic stand-in audio'


def _check(root, arts, figures=(), tables=()):
    for f in figures:
        for ext in ('png', 'pdf'): assert (root/'figures'/f'{f}.{ext}').stat().st_size > 0, f
        assert f'figure/{f}' in arts, f
    for t in tables:
        for ext in ('csv', 'md', 'tex'): assert (root/'figures'/'tables'/f'{t}.{ext}').stat().st_size > 0, t
        assert f'table/{t}' in arts, t
    for k, a in arts.items():   # anything made from stand-in audio says so
        if a['audio_source'] == 'synthetic': assert SYNTH in a['caption'], k
        if a['kind'] == 'table' and a['audio_source'] == 'synthetic':
            assert SYNTH in (root/'figures'/'tables'/f"{a['name']}.md").read_text(), k

def test_paper_03_spectrogram_inputs_smoke(paper_smoke, monkeypatch, mirror):
    monkeypatch.setenv('POPNB_DATA_MIRROR', str(mirror))   # the real previews come from the mirror
    root, arts = paper_smoke('03_spectrogram_inputs')
    _check(root, arts, figures=('F6a_paper_input_real_preview', 'F6b_paper_input_standin', 'F6c_standin_feature_contrasts'),
           tables=('TS1_paper_window_silence',))
    assert arts['figure/F6a_paper_input_real_preview']['audio_source'] == 'local'   # a real preview from the mirror
    assert arts['figure/F6b_paper_input_standin']['audio_source'] == 'synthetic'
    assert arts['figure/F6c_standin_feature_contrasts']['audio_source'] == 'synthetic'

def test_paper_07_interpretation_smoke(paper_smoke):
    root, arts = paper_smoke('07_interpretation')
    _check(root, arts, figures=('F11_permutation_importance', 'F12_spectrogram_saliency', 'F12b_saliency_profiles'),
           tables=('T7_permutation_importance',))
    assert arts['figure/F12_spectrogram_saliency']['audio_source'] == 'synthetic'
    assert arts['table/T7_permutation_importance']['audio_source'] is None    # metadata only: no audio behind it
    import pandas as pd
    t7 = pd.read_csv(root/'figures'/'tables'/'T7_permutation_importance.csv')
    assert len(t7) == 12 and 'artist' in set(t7.feature)                      # 13 inputs, the two artist columns as one

@pytest.mark.parametrize('nb,bad', [('03_spectrogram_inputs', dict(track='no such song at all')),
                                    ('07_interpretation', dict(target='loudness'))])
def test_paper_notebook_rejects_bad_value(nb, bad, tmp_path, monkeypatch, kernel_name):
    import papermill as pm
    monkeypatch.setenv('POPNB_SMOKE_ROOT', str(tmp_path/'root'))
    nb = PAPER/f'{nb}.ipynb'
    with pytest.raises(pm.PapermillExecutionError, match=next(iter(bad))):
        pm.execute_notebook(str(nb), str(tmp_path/nb.name), parameters=dict(smoke=True, **bad),
                            kernel_name=kernel_name, cwd=str(nb.parent), progress_bar=False)

@pytest.mark.parametrize('nb,bad', [('02_audio', dict(threshold=1.5)), ('03_features', dict(audio_source='bogus')),
                                    ('03_features', dict(n_jobs=0)), ('03_features', dict(n_job=2))])
def test_library_notebook_rejects_bad_parameter(nb, bad, tmp_path, kernel_name):
    "The audio chapter's papermill parameters are checked before any work: a bad value or an unknown name stops at the top."
    import papermill as pm
    nb = PAPER.parent/f'{nb}.ipynb'
    with pytest.raises(pm.PapermillExecutionError, match=next(iter(bad))) as e:
        pm.execute_notebook(str(nb), str(tmp_path/nb.name), parameters=bad, kernel_name=kernel_name, cwd=str(nb.parent), progress_bar=False)
    assert 'ParameterError' in str(e.value)

def test_paper_09_between_within_artists_smoke(paper_smoke, mirror):
    "T13 and F16 written; the within-artist R² of the artist mean (one value per artist) is 0 by construction."
    import pandas as pd
    root, arts = paper_smoke('09_between_within_artists')
    _check(root, arts, figures=('F16_per_artist_errors',), tables=('T13_between_within_artists',))
    t = pd.read_csv(root/'figures'/'tables'/'T13_between_within_artists.csv').set_index('model')
    assert abs(float(t.loc['artist_mean', 'within_r2'])) < 1e-9 and {'fusion_cnn', 'ridge', 'mean'} <= set(t.index)
