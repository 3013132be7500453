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

@pytest.fixture
def mirror():
    "The local data mirror (POPNB_DATA_MIRROR, else ../shared/data beside the clone), or skip."
    p = Path(os.environ.get('POPNB_DATA_MIRROR') or ROOT.parent/'shared'/'data')
    if not p.is_dir(): pytest.skip('no data mirror: set POPNB_DATA_MIRROR')
    return p.resolve()
