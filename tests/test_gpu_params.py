"params/gpu.yaml, the full-resolution study: its parameters fit the notebooks, the bundle follows them, and it runs end to end on a CPU at smoke scale."
import os, re, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
GPU, CPU = ROOT/'params'/'gpu.yaml', ROOT/'params'/'paper.yaml'
TRAINING = ['04_grouped_audit', '05_ablations', '06_breakdowns', '07_interpretation', '08_claims']

def test_gpu_params_are_the_full_resolution_study():
    from popnb.report import notebook_params
    for nb in sorted((ROOT/'nbs'/'paper').glob('*.ipynb')): notebook_params(nb, None, GPU)   # every name declared where it is given
    for name in TRAINING:
        g, c = (notebook_params(ROOT/'nbs'/'paper'/f'{name}.ipynb', None, f) for f in (GPU, CPU))
        assert (g['n_mels'], g['clip_seconds'], g['seeds']) == (128, 30.0, list(range(10))), name   # 10 seeds on a GPU
        assert (c['n_mels'], c['clip_seconds'], c['seeds']) == (64, 5.0, list(range(5))), name       # 5 on a CPU
        assert g['epochs'] == c['epochs'] == (8 if name == '07_interpretation' else 25)

@pytest.mark.parametrize('params,want', [(None, '--n-mels 64 --seconds 5.0 --epochs 25'), ('params/gpu.yaml', '--n-mels 128 --seconds 30.0 --epochs 25')])
def test_bundle_follows_the_study_of_params(params, want):
    r = subprocess.run(['make', '-n', 'bundle', *([f'PARAMS={params}'] if params else [])], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert want in r.stdout, r.stdout

def test_gpu_params_run_on_a_cpu_at_smoke_scale(tmp_path, mirror):
    "`popnb reproduce --params params/gpu.yaml` on a CPU, shrunk to smoke scale; then the stage table of what it ran."
    env = {**os.environ, 'POPNB_SMOKE_ROOT': str(tmp_path/'root'), 'POPNB_THREADS': '1', 'POPNB_DEVICE': 'cpu',
           'PATH': str(Path(sys.executable).parent) + os.pathsep + os.environ.get('PATH', '')}
    before = (ROOT/'figures'/'manifest.json').read_bytes()
    r = subprocess.run([str(Path(sys.executable).parent/'popnb'), 'reproduce', '--params', str(GPU), '--only', '04_grouped_audit', '-p', 'smoke', 'true'],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    assert (tmp_path/'root'/'figures'/'tables'/'T4_grouped_summary.csv').is_file()
    assert (ROOT/'figures'/'manifest.json').read_bytes() == before        # a smoke run never touches figures/
    st = subprocess.run([sys.executable, '-m', 'popnb.report', 'stages', str(ROOT/'_runs')], cwd=ROOT, capture_output=True, text=True)
    assert st.returncode == 0 and re.search(r'paper/04_grouped_audit\.ipynb\s+\d', st.stdout), st.stdout + st.stderr
