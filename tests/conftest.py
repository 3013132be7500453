"Shared fixtures: the project root, papermill's kernel, a headless matplotlib."
import os, sys
from pathlib import Path
import pytest

os.environ.setdefault('MPLBACKEND', 'Agg')
os.environ.setdefault('CUDA_VISIBLE_DEVICES', '')
# papermill's `python3` kernelspec runs `python` from PATH: make it this interpreter
os.environ['PATH'] = str(Path(sys.executable).parent) + os.pathsep + os.environ.get('PATH', '')
ROOT = Path(__file__).resolve().parents[1]

@pytest.fixture
def root(): return ROOT

@pytest.fixture
def kernel_name(): return 'python3'

def _mirror():
    p = Path(os.environ.get('POPNB_DATA_MIRROR') or ROOT.parent/'shared'/'data')
    if not p.is_dir(): pytest.skip('no data mirror: set POPNB_DATA_MIRROR')
    return p.resolve()

@pytest.fixture
def mirror():
    "The local data mirror (POPNB_DATA_MIRROR, else ../shared/data beside the clone), or skip."
    return _mirror()

# ---- expensive runs made once per session and checked by several tests (each test keeps all its assertions)

def smoke_env(root):
    "The environment of a smoke run in a subprocess: its smoke root, one thread, this interpreter's tools first."
    env = {**os.environ, 'POPNB_SMOKE_ROOT': str(root), 'POPNB_THREADS': '1', 'MPLBACKEND': 'Agg',
           'PATH': str(Path(sys.executable).parent) + os.pathsep + os.environ.get('PATH', '')}
    env.pop('IN_TEST', None)
    return env

def _once(tmp_path_factory, name, cmd):
    "Run `cmd` (a smoke run) once in a fresh folder; returns (folder, CompletedProcess, figures/manifest.json before, after)."
    import subprocess
    _mirror()
    tmp = tmp_path_factory.mktemp(name)
    cmd = [str(tmp/'out.ipynb') if c == '{out}' else c for c in cmd]
    before = (ROOT/'figures'/'manifest.json').read_bytes()
    r = subprocess.run(cmd, cwd=ROOT, env=smoke_env(tmp/'root'), capture_output=True, text=True, timeout=900)
    return tmp, r, before, (ROOT/'figures'/'manifest.json').read_bytes()

@pytest.fixture(scope='session')
def smoke_01(tmp_path_factory):
    "README's `popnb reproduce --only 01_dataset_statistics -p threshold 70.0 -p smoke true`, run once (the parameters of 01 in test_paper_reproduction)."
    return _once(tmp_path_factory, 'smoke01', [str(Path(sys.executable).parent/'popnb'), 'reproduce', '--only', '01_dataset_statistics',
                                               '-p', 'threshold', '70.0', '-p', 'smoke', 'true'])

@pytest.fixture(scope='session')
def smoke_04(tmp_path_factory):
    "README's `papermill nbs/paper/04_grouped_audit.ipynb … -p seeds \"[0, 1, 2]\" -p smoke true`, run once."
    return _once(tmp_path_factory, 'smoke04', ['papermill', 'nbs/paper/04_grouped_audit.ipynb', '{out}', '-k', 'python3', '--cwd', 'nbs/paper',
                                               '-p', 'seeds', '[0, 1, 2]', '-p', 'smoke', 'true', '--no-progress-bar'])

@pytest.fixture
def paper_smoke(tmp_path, monkeypatch, kernel_name):
    "A function: run nbs/paper/<name>.ipynb with smoke=True (and `params`) into tmp_path/root; returns that root and its manifest's artefacts."
    def run(name:str, **params):
        import json, papermill as pm
        root = tmp_path/'root'
        monkeypatch.setenv('POPNB_SMOKE_ROOT', str(root)); monkeypatch.setenv('POPNB_THREADS', '1')   # one thread on a shared machine
        nb = ROOT/'nbs'/'paper'/f'{name}.ipynb'
        pm.execute_notebook(str(nb), str(tmp_path/nb.name), parameters=dict(smoke=True, **params), kernel_name=kernel_name,
                            cwd=str(nb.parent), progress_bar=False)
        assert (root/'figures'/'README.md').is_file()
        return root, json.loads((root/'figures'/'manifest.json').read_text())['artefacts']
    return run
