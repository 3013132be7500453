"popnb.runner: params files, the papermill runner of the notebooks and `python -m popnb.runner`."
import os, subprocess, sys
import nbformat, pytest
from popnb.core import ParameterError
from popnb.report import load_manifest
from popnb.runner import *


def _nb(folder, name, params_src, body="params = check_params(globals())\nreport.set_context(params=params)\n"
        "report.save_table(pd.DataFrame({'threshold': [threshold]}), 'out_' + NAME, 'Out.')"):
    folder.mkdir(parents=True, exist_ok=True)
    cells = [nbformat.v4.new_code_cell(params_src, metadata={'tags': ['parameters']}),
             nbformat.v4.new_code_cell("from popnb.core import check_params\nfrom popnb import report\nimport pandas as pd\n"
                                       f"NAME = {name!r}\n" + body)]
    p = folder/f'{name}.ipynb'
    nbformat.write(nbformat.v4.new_notebook(cells=cells, metadata={'kernelspec': {'name': 'python3', 'display_name': 'python3', 'language': 'python'}}), p)
    return p


def test_params_files(tmp_path):
    nbs = tmp_path/'nbs'/'paper'
    a = _nb(nbs, '10_a', "threshold: float = 50.0 # popular = popularity >= threshold\nsmoke: bool = False # small")
    b = _nb(nbs, '20_b', "threshold: float = 50.0 # t\nepochs: int = 25 # training epochs")
    f = tmp_path/'p.yaml'
    f.write_text("smoke: true\nthreshold: 70\n")                     # flat: all common
    assert notebook_params(a, params_file=f) == {'smoke': True, 'threshold': 70}
    assert notebook_params(b, params_file=f) == {'threshold': 70}    # smoke not declared by b: not passed
    f.write_text("common:\n  smoke: true\n  epochs: 2\n20_b:\n  threshold: 60\n")
    assert notebook_params(a, params_file=f) == {'smoke': True}
    assert notebook_params(b, params_file=f) == {'epochs': 2, 'threshold': 60}
    f.write_text("common:\n  smoke: true\n10_a:\n  epochs: 2\n")
    with pytest.raises(ParameterError, match="10_a.ipynb declares no parameter 'epochs'"): notebook_params(a, params_file=f)
    f.write_text("common:\n  smok: true\n")
    with pytest.raises(ParameterError, match="common.smok: declared by no notebook.*did you mean 'smoke'"): notebook_params(a, params_file=f)
    with pytest.raises(ParameterError, match="did you mean 'threshold'"): notebook_params(a, {'treshold': 1})
    f.write_text("common: [1, 2]\n")
    with pytest.raises(ParameterError, match='must be a mapping'): read_params_file(f)
    f.write_text("a: [\n")
    with pytest.raises(ParameterError, match='not valid YAML'): read_params_file(f)
    with pytest.raises(ParameterError, match='parameters file not found'): read_params_file(tmp_path/'none.yaml')


def test_study_values_go_only_to_study_fields(tmp_path):
    "`study:` fills a parameter declared None only when its name is a study value (popnb.runs.STUDY_FIELDS)."
    nb = _nb(tmp_path/'nbs'/'paper', '10_a', "epochs: int|None = None # the study's\n"
             "models: list|None = None # not a study value\nn_boot: int = 200 # declared with a value: its own")
    f = tmp_path/'p.yaml'; f.write_text("common: {}\nstudy:\n  epochs: 3\n  models: [rf]\n  n_boot: 50\n")
    assert notebook_params(nb, params_file=f) == {'epochs': 3}
    assert notebook_values(nb, f) == {'epochs': 3, 'models': None, 'n_boot': 200}
    f.write_text("common: {}\nstudy:\n  epochs: 3\n10_a:\n  models: [rf]\n")      # its own section still sets it
    assert notebook_params(nb, params_file=f) == {'epochs': 3, 'models': ['rf']}


def test_run_notebook_and_cli(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv('POPNB_ROOT', raising=False)
    nb = _nb(tmp_path/'nbs'/'paper', '10_a', "threshold: float = 50.0 # popular = popularity >= threshold\nsmoke: bool = False # small")
    f = tmp_path/'p.yaml'; f.write_text("common:\n  smoke: true\n10_a:\n  threshold: 65\n")
    out = run_notebook(nb, params_file=f, root=tmp_path)
    assert out == tmp_path/'_runs'/'paper'/'10_a.ipynb' and out.is_file()
    assert (tmp_path/'figures'/'tables'/'out_10_a.csv').read_text() == 'threshold\n65\n'
    m = load_manifest(tmp_path)
    assert m['runs']['nbs/paper/10_a.ipynb']['status'] == 'ok' and m['runs']['nbs/paper/10_a.ipynb']['params'] == {'smoke': True, 'threshold': 65}
    assert m['artefacts']['table/out_10_a']['notebook'] == 'nbs/paper/10_a.ipynb'
    assert '## Notebook runs' in (tmp_path/'figures'/'README.md').read_text()
    # a bad value fails inside the notebook (check_params) and the run is recorded as failed
    with pytest.raises(Exception, match='expected float'): run_notebook(nb, {'threshold': 'high'}, root=tmp_path)
    # not the record's parameters: a rerun, recorded beside its executed copy in _runs/10_a/, the record's log untouched
    assert load_manifest(tmp_path/'_runs'/'10_a')['runs']['nbs/paper/10_a.ipynb']['status'] == 'failed'
    assert (tmp_path/'_runs'/'10_a'/'10_a.ipynb').is_file()
    assert load_manifest(tmp_path)['runs']['nbs/paper/10_a.ipynb']['status'] == 'ok'
    # an unknown -p fails before any kernel starts, with status 2 and the closest name
    monkeypatch.setenv('POPNB_ROOT', str(tmp_path))
    assert main(['run-paper-notebook', str(nb), '-p', 'treshold', '70']) == 2
    assert "did you mean 'threshold'" in capsys.readouterr().err
    assert main(['run-paper-notebook', str(tmp_path/'missing.ipynb')]) == 2


def test_module_entry_point(tmp_path):
    env = {**os.environ, 'POPNB_ROOT': str(tmp_path)}
    r = subprocess.run([sys.executable, '-m', 'popnb.runner', 'index'], capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    assert (tmp_path/'figures'/'README.md').read_text().startswith('# Figures and tables')
    r = subprocess.run([sys.executable, '-m', 'popnb.runner', 'run-paper-notebook', str(tmp_path/'x.ipynb')], capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 2 and 'notebook not found' in r.stderr
