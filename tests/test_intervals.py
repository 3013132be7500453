"The prediction interval of `popnb train`'s bundle holds its coverage on artists neither training nor calibration saw."
import numpy as np, pandas as pd, pytest
from popnb.cli import main
from popnb.predict import conformal_halfwidth
from popnb.data import META_COLS, load_paper_dataset
from popnb.train import load_predictor


@pytest.fixture(scope='module')
def split_bundle(tmp_path_factory):
    "The metadata-only network trained (and calibrated, artist-grouped 5-fold) on half of the artists; the other half held out."
    d = tmp_path_factory.mktemp('intervals')
    df = load_paper_dataset()
    artists = np.random.default_rng(0).permutation(sorted(df.artist.unique()))
    seen = set(artists[:len(artists) // 2])
    df[df.artist.isin(seen)].to_csv(d/'seen.csv', index=False)
    rc = main(['train', '--model', 'fusion_meta', '--dataset', str(d/'seen.csv'), '--epochs', '3', '--device', 'cpu', '--out', str(d/'meta.pt')])
    assert rc == 0
    return load_predictor(d/'meta.pt', device='cpu'), df[~df.artist.isin(seen)].reset_index(drop=True)


def test_coverage_on_unseen_artists(split_bundle):
    pr, unseen = split_bundle
    cal = pr.info['extra']['calibration']
    assert 'artist-grouped 5-fold CV of fusion_meta' in cal['source'] and len(cal['residuals']) == pr.data['n_tracks']
    err = np.abs(unseen.popularity.to_numpy(float) - np.clip(pr.predict(unseen[META_COLS].to_numpy(np.float32)), 0, 100))
    for cov in (0.5, 0.8, 0.9):
        got = float(np.mean(err <= conformal_halfwidth(cal['residuals'], cov)))
        print(f"nominal {cov:.0%}: {got:.3f} of {len(err)} tracks by {unseen.artist.nunique()} unseen artists")
        assert abs(got - cov) <= 0.06, (cov, got)   # neither too narrow nor too wide
