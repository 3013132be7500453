"params/: paper.yaml is the study (`study:`) and the notebooks' own defaults; gpu.yaml, the full-resolution study, an overlay of what differs; its parameters fit the notebooks, the bundle follows them (that it runs end to end on a CPU at smoke scale: test_paper_reproduction.py, beside 04's smoke run whose runs it shares)."
import ast, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
GPU, CPU = ROOT/'params'/'gpu.yaml', ROOT/'params'/'paper.yaml'
TRAINING = ['04_grouped_audit', '05_ablations', '06_breakdowns', '07_interpretation', '08_claims']

def test_gpu_params_are_the_full_resolution_study():
    from popnb.runner import notebook_params
    for nb in sorted((ROOT/'nbs'/'paper').glob('*.ipynb')): notebook_params(nb, None, GPU)   # every name declared where it is given
    for name in TRAINING:
        g, c = (notebook_params(ROOT/'nbs'/'paper'/f'{name}.ipynb', None, f) for f in (GPU, CPU))
        assert (g['n_mels'], g['clip_seconds'], g['seeds']) == (128, 30.0, list(range(10))), name   # 10 seeds on a GPU
        assert (c['n_mels'], c['clip_seconds'], c['seeds']) == (64, 5.0, list(range(5))), name       # 5 on a CPU
        assert g['epochs'] == c['epochs'] == (8 if name == '07_interpretation' else 25)

def test_paper_yaml_is_the_notebooks_defaults():
    "A notebook's own values have one source, its parameters cell (paper.yaml may only repeat them); the study's, `study:`."
    from popnb.runner import declared_params, notebook_params
    from popnb.runs import STUDY_FIELDS, load_study
    study = load_study(CPU)
    for nb in sorted((ROOT/'nbs'/'paper').glob('*.ipynb')):
        decl = {k: ast.literal_eval(v) for k, v in declared_params(nb).items()}
        given = notebook_params(nb, None, CPU)
        assert {k: v for k, v in given.items() if decl[k] is not None and decl[k] != v} == {}, f'{nb.name}: params/paper.yaml differs from its defaults'
        for k in [k for k, v in decl.items() if v is None]:   # None: the study's, and only study values are left None
            assert k in STUDY_FIELDS and given[k] == (list(study.seeds) if k == 'seeds' else getattr(study, k)), (nb.name, k)

def test_no_paper_notebook_repeats_the_study():
    "The study's values are written once, in `study:`: a paper notebook's section gives one only where it differs."
    from popnb.runner import read_params_file
    from popnb.runs import STUDY_FIELDS, load_study
    study, (_, secs) = load_study(CPU), read_params_file(CPU)
    for name, sec in secs.items():
        if name == 'study': continue
        same = {k: v for k, v in sec.items() if k in STUDY_FIELDS and v == (list(study.seeds) if k == 'seeds' else getattr(study, k))}
        assert not same, f'params/paper.yaml {name}: {same} repeat the study'

def test_gpu_yaml_holds_only_its_differences():
    "gpu.yaml is laid on paper.yaml (`base:`): every value it gives differs from what paper.yaml gives that notebook."
    from popnb.runner import read_params_file, _params_yaml, _sections
    assert _params_yaml(GPU)['base'] == 'paper.yaml'
    common, secs = _sections({k: v for k, v in _params_yaml(GPU).items() if k != 'base'}, GPU)
    base_common, base_secs = read_params_file(CPU)
    assert all(base_common.get(k) != v for k, v in common.items()), common
    for name, sec in secs.items():
        same = {k: v for k, v in sec.items() if {**base_common, **base_secs.get(name, {})}.get(k) == v}
        assert not same, f'params/gpu.yaml {name}: {same} repeat paper.yaml'

def test_study_values_have_one_source():
    "The Makefile's bundle, 03's study log-mel and every training notebook read the study of the parameters file (python -m popnb.runner study)."
    from popnb.runner import notebook_values
    from popnb.runs import load_study
    v = notebook_values(ROOT/'nbs'/'paper'/'04_grouped_audit.ipynb', CPU, ROOT)
    s = load_study(CPU)
    assert (v['n_mels'], v['clip_seconds'], v['epochs'], v['seeds']) == (s.n_mels, s.clip_seconds, s.epochs, list(s.seeds))
    r = subprocess.run([sys.executable, '-m', 'popnb.runner', 'study', 'n_mels', 'clip_seconds', '--params', str(GPU)],
                       cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.split() == ['128', '30.0'], r.stdout + r.stderr

@pytest.mark.parametrize('params,want', [(None, '--n-mels 64 --seconds 5.0 --epochs 25'), ('params/gpu.yaml', '--n-mels 128 --seconds 30.0 --epochs 25')])
def test_bundle_follows_the_study_of_params(params, want):
    r = subprocess.run(['make', '-n', 'bundle', *([f'PARAMS={params}'] if params else [])], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert want in r.stdout, r.stdout
