"Shared fixtures: the project root, papermill's kernel, a headless matplotlib."
import os, sys
from pathlib import Path
import pytest

os.environ.setdefault('MPLBACKEND', 'Agg')
os.environ.setdefault('CUDA_VISIBLE_DEVICES', '')
# papermill's `python3` kernelspec runs `python` from PATH: make it this interpreter
os.environ['PATH'] = str(Path(sys.executable).parent) + os.pathsep + os.environ.get('PATH', '')
ROOT = Path(__file__).resolve().parents[1]
# one training run at a time, on one thread, in each test process and the notebooks it runs (popnb.train.train_jobs and
# popnb.core.set_threads, as under nbdev_test): make test's two workers already keep both cores busy. A smoke run of 04
# forking two more processes per model took 36 s against 28 s in one (measured); one process on two threads is worse
# still beside a busy worker (a gradient-boosting fold of 05's smoke run: 10 s against 1 s, OpenMP threads waiting on each other)
os.environ.setdefault('POPNB_JOBS', '1')
os.environ.setdefault('POPNB_THREADS', '1')

# make test hands each of its two workers whole files (--dist loadfile) in the order collected (--no-loadscope-reorder):
# the longest first, so that neither is left with a long file at the end while the other idles. test_paper_reproduction.py
# first: its run of 04 trains the smoke runs most other notebooks read back (a run another process is training is waited
# for, popnb.core.cache_table). Rough seconds of each on a fresh clone, 2-core EPYC; the files not named follow in pytest's order.
LONGEST_FIRST = ['test_paper_reproduction.py',   # ~135: 04, 05, 06, 01, 02 and the params/gpu.yaml run of 04
                 'test_paper_notebooks.py',      # ~65
                 'test_claims.py',               # ~55
                 'test_collection_chain.py',     # ~40
                 'test_docs.py',                 # ~30
                 'test_power.py', 'test_cache.py', 'test_cli.py', 'test_release_protocol.py', 'test_learning_curves.py',
                 'test_providers.py', 'test_report.py', 'test_data.py', 'test_features.py', 'test_train.py', 'test_models.py',
                 'test_gpu_params.py', 'test_runner.py', 'test_release.py']   # then those of a few seconds

def pytest_collection_modifyitems(config, items):
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))   # stable: a file's tests keep their order

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
