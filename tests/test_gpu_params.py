"params/: paper.yaml is the notebooks' own defaults; gpu.yaml, the full-resolution study, an overlay of what differs; its parameters fit the notebooks, the bundle follows them (that it runs end to end on a CPU at smoke scale: test_paper_reproduction.py, beside 04's smoke run whose runs it shares)."
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
    "The study's values have one source, the notebooks' parameters cells: params/paper.yaml may only repeat them."
    from popnb.runner import declared_params, notebook_params
    for nb in sorted((ROOT/'nbs'/'paper').glob('*.ipynb')):
        decl = {k: ast.literal_eval(v) for k, v in declared_params(nb).items()}
        given = notebook_params(nb, None, CPU)
        assert {k: v for k, v in given.items() if decl[k] != v} == {}, f'{nb.name}: params/paper.yaml differs from its defaults'

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
    "The Makefile's bundle and 03's study log-mel read 04_grouped_audit's parameters (python -m popnb.runner study)."
    from popnb.runner import study_values, declared_params
    want = {k: ast.literal_eval(v) for k, v in declared_params(ROOT/'nbs'/'paper'/'04_grouped_audit.ipynb').items()}
    assert study_values(root=ROOT) == study_values(CPU, root=ROOT) == want
    r = subprocess.run([sys.executable, '-m', 'popnb.runner', 'study', 'n_mels', 'clip_seconds', '--params', str(GPU)],
                       cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.split() == ['128', '30.0'], r.stdout + r.stderr

@pytest.mark.parametrize('params,want', [(None, '--n-mels 64 --seconds 5.0 --epochs 25'), ('params/gpu.yaml', '--n-mels 128 --seconds 30.0 --epochs 25')])
def test_bundle_follows_the_study_of_params(params, want):
    r = subprocess.run(['make', '-n', 'bundle', *([f'PARAMS={params}'] if params else [])], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert want in r.stdout, r.stdout
