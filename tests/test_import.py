"The exported library imports and finds the project from tests/."
import popnb
from popnb.core import paths, find_root

def test_version(): assert popnb.__version__

def test_root_from_tests(monkeypatch, tmp_path):
    r = paths().root
    assert (r/'settings.ini').is_file()
    monkeypatch.chdir(r/'tests')
    assert find_root() == r
