"The planted-signal power study: its paper notebook at smoke scale, and the planted audio kept out of the main study's caches."
import json
from pathlib import Path
import numpy as np
import pytest

SYNTH = 'synthetic stand-in audio'

def test_paper_10_power_study_smoke(paper_smoke, mirror):
    "T14 and F17 written and labelled as stand-in audio; one row per comparison and share, the null first."
    import pandas as pd
    root, arts = paper_smoke('10_power_study')
    for ext in ('png', 'pdf'): assert (root/'figures'/f'F17_power_curve.{ext}').stat().st_size > 0
    for ext in ('csv', 'md', 'tex'): assert (root/'figures'/'tables'/f'T14_power_study.{ext}').stat().st_size > 0
    for k in ('figure/F17_power_curve', 'table/T14_power_study'):
        assert arts[k]['audio_source'] == 'synthetic' and SYNTH in arts[k]['caption'], k
    t = pd.read_csv(root/'figures'/'tables'/'T14_power_study.csv')
    assert {'ridge_fused − ridge_meta', 'ridge_audio − mean', 'ridge_fused − ridge_placebo', 'fusion_cnn − fusion_meta'} == set(t.comparison)
    assert set(t[t.comparison == 'ridge_fused − ridge_placebo'].share) == {0.0}   # the placebo: at the null only
    cheap = t[t.comparison == 'ridge_fused − ridge_meta']
    assert cheap.share.iloc[0] == 0 and cheap.delta_r2.iloc[0] == 0 and (cheap.rate_low <= cheap.rate).all() and (cheap.rate <= cheap.rate_high).all()

def test_planted_audio_stays_in_its_own_caches(tmp_path, monkeypatch):
    "A power-study run in an empty project writes only under data/interim/power, with keys that name the share and the replicate."
    monkeypatch.setenv('POPNB_ROOT', str(tmp_path)); monkeypatch.setenv('POPNB_THREADS', '1')
    from popnb.core import cache_table
    from popnb.data import load_paper_dataset
    from popnb.features import study_mel
    from popnb.power import POWER_DIR, power_key, cheap_grid, network_runs
    df = load_paper_dataset().groupby('artist').head(3).reset_index(drop=True)
    p = study_mel(16, 1.0); X = np.random.default_rng(0).normal(-40, 8, (len(df), 16, 22)).astype(np.float32)
    cache_table(f'{POWER_DIR}/grid', power_key(kind='cheap grid', shares=[0.0, 0.5]), lambda: cheap_grid(df, X, p, [0.0, 0.5], 1, n_boot=20))
    network_runs(df, X, p, 'test-store', 0.5, 1, epochs=1)
    files = [f.relative_to(tmp_path) for f in (tmp_path/'data'/'interim').rglob('*') if f.is_file()]   # data/raw: the authors' files, fetched
    assert files and all(f.parts[:3] == ('data', 'interim', 'power') for f in files), files
    assert not (tmp_path/'data'/'interim'/'runs').exists() and not (tmp_path/'data'/'interim'/'spec').exists()
    keys = [json.loads(f.read_text()) for f in (tmp_path/'data'/'interim'/'power'/'runs').glob('*.key.json')]
    cnn = [k for k in keys if k['model'] == 'fusion_cnn']
    assert len(cnn) == 5 and all(k['planted'] and k['share'] == 0.5 and k['replicate'] == 1 for k in cnn)   # one run a fold
    assert sorted(k['fold'] for k in cnn) == list(range(5)) and {k['seed'] for k in cnn} == {1}   # replicate 1's seed
