"popnb.report: deterministic writers, synthetic-audio marking, manifest/README, params files, the papermill runner and CLI."
import json, os, subprocess, sys
import nbformat, numpy as np, pandas as pd, pytest
from popnb.core import DataError, ParameterError, paths
from popnb import report
from popnb.report import *


@pytest.fixture
def tmproot(tmp_path, monkeypatch):
    "A throwaway project root: every write goes there, never to the repository's figures/."
    monkeypatch.setenv('POPNB_ROOT', str(tmp_path))
    monkeypatch.delenv('POPNB_NOTEBOOK', raising=False)
    report.set_context()
    yield tmp_path
    report.set_context()


def _fig(title='Popularity'):
    fig, ax = new_figure(); ax.plot([0, 1, 2], [1, 0, 2]); ax.set_title(title)
    return fig


def test_figures_deterministic_and_marked(tmproot, root):
    before = sorted(p.name for p in (root/'figures').rglob('*'))
    r = save_figure(_fig(), 'f1', 'Scores.', audio_source='synthetic', params={'threshold': 50})
    assert r['caption'] == 'Scores. (synthetic stand-in audio)'
    b = {e: (tmproot/'figures'/f'f1.{e}').read_bytes() for e in ('png', 'pdf')}
    save_figure(_fig(), 'f1', 'Scores.', audio_source='synthetic', params={'threshold': 50})
    assert {e: (tmproot/'figures'/f'f1.{e}').read_bytes() for e in ('png', 'pdf')} == b
    fig = _fig(); fig.suptitle('Two panels'); mark_synthetic(fig); mark_synthetic(fig)
    assert fig.get_suptitle() == 'Two panels (synthetic stand-in audio)'
    r = save_figure(_fig(), 'f2', 'Real.', audio_source='previews')
    assert 'synthetic' not in r['caption']
    assert sorted(p.name for p in (root/'figures').rglob('*')) == before       # the repo's figures/ untouched
    assert not list((tmproot/'figures').glob('.*.part'))                       # no temporaries left


def test_bad_figure_arguments(tmproot):
    with pytest.raises(ParameterError, match="name='a/b'"): save_figure(_fig(), 'a/b', 'c')
    with pytest.raises(ParameterError, match="name='x.png'"): save_figure(_fig(), 'x.png', 'c')
    with pytest.raises(ParameterError, match='resolve `auto`'): save_figure(_fig(), 'x', 'c', audio_source='auto')
    with pytest.raises(ParameterError, match='needs a caption'): save_figure(_fig(), 'x', '  ')
    with pytest.raises(DataError, match='input file not found'): save_figure(_fig(), 'x', 'c', inputs={'d': '/nope.csv'})


def test_tables_three_formats_byte_identical(tmproot):
    df = pd.DataFrame({'model': ['cnn', 'a|b_c & 50%'], 'MAE': [9.49581722, np.nan], 'n': [1967, 12], 'R²': [-0.00001, -0.0138049]})
    save_table(df, 't', 'Scores at threshold ≥ 50.', digits={'MAE': 2})
    T = tmproot/'figures'/'tables'
    first = {e: (T/f't.{e}').read_bytes() for e in ('csv', 'md', 'tex')}
    assert first['csv'].decode() == 'model,MAE,n,R²\ncnn,9.50,1967,0.0000\na|b_c & 50%,,12,-0.0138\n'
    md = first['md'].decode()
    assert md.startswith('Table: Scores at threshold ≥ 50.\n\n| model | MAE | n | R² |\n| :--- | ---: | ---: | ---: |')
    assert r'a\|b_c & 50%' in md and '| — |' in md
    tex = first['tex'].decode()
    assert r'\begin{tabular}{lrrr}' in tex and r'a|b\_c \& 50\%' in tex and r'R\textsuperscript{2}' in tex and r'\label{tab:t}' in tex
    save_table(df.copy(), 't', 'Scores at threshold ≥ 50.', digits={'MAE': 2})
    assert {e: (T/f't.{e}').read_bytes() for e in ('csv', 'md', 'tex')} == first
    save_table(df.set_index('model'), 'ti', 'Indexed.')
    assert (T/'ti.csv').read_text().startswith('model,MAE')
    with pytest.raises(DataError, match='expected a DataFrame'): save_table([1, 2], 'x', 'c')


def test_manifest_merges_and_readme_is_stable(tmproot, monkeypatch):
    monkeypatch.setenv('POPNB_NOTEBOOK', 'nbs/paper/10_a.ipynb')
    set_context(params={'threshold': 50}, inputs={'data': b'abc'}, audio_source='synthetic')
    save_table(pd.DataFrame({'x': [1]}), 'tb', 'Table b.')
    monkeypatch.setenv('POPNB_NOTEBOOK', 'nbs/paper/20_b.ipynb')
    set_context(params={'seed': 1})
    save_figure(_fig(), 'fa', 'Figure a.')
    m = load_manifest()
    assert sorted(m['artefacts']) == ['figure/fa', 'table/tb']
    tb = m['artefacts']['table/tb']
    assert tb['notebook'] == 'nbs/paper/10_a.ipynb' and tb['audio_source'] == 'synthetic' and tb['caption'].endswith('(synthetic stand-in audio)')
    assert tb['inputs'] == {'data': 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'}
    assert set(tb['environment']) >= {'packages', 'python', 'device', 'commit'}
    assert sorted(tb['files']) == ['figures/tables/tb.csv', 'figures/tables/tb.md', 'figures/tables/tb.tex']
    a = write_index().read_text()
    assert a.index('### fa') < a.index('### tb') and '`threshold=50`' in a and 'data `ba7816bf8f01`' in a
    assert a.count('### `env-') == 1 and 'created' not in a
    save_table(pd.DataFrame({'x': [1]}), 'tb', 'Table b.', notebook='nbs/paper/10_a.ipynb', params={'threshold': 50},
               inputs={'data': b'abc'}, audio_source='synthetic')
    assert write_index().read_text() == a            # an identical rerun gives an identical README
    assert json.loads((tmproot/'figures'/'manifest.json').read_text())['artefacts']['figure/fa']['params'] == {'seed': 1}


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
    assert load_manifest(tmp_path)['runs']['nbs/paper/10_a.ipynb']['status'] == 'failed'
    # an unknown -p fails before any kernel starts, with status 2 and the closest name
    monkeypatch.setenv('POPNB_ROOT', str(tmp_path))
    assert main(['run-paper-notebook', str(nb), '-p', 'treshold', '70']) == 2
    assert "did you mean 'threshold'" in capsys.readouterr().err
    assert main(['run-paper-notebook', str(tmp_path/'missing.ipynb')]) == 2


def test_module_entry_point(tmp_path):
    env = {**os.environ, 'POPNB_ROOT': str(tmp_path)}
    r = subprocess.run([sys.executable, '-m', 'popnb.report', 'index'], capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    assert (tmp_path/'figures'/'README.md').read_text().startswith('# Figures and tables')
    r = subprocess.run([sys.executable, '-m', 'popnb.report', 'run-paper-notebook', str(tmp_path/'x.ipynb')], capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 2 and 'notebook not found' in r.stderr


def test_written_files_are_readable(tmproot):
    save_table(pd.DataFrame({'x': [1]}), 'perm', 'P.'); write_index()
    um = os.umask(0); os.umask(um)
    for p in [*(tmproot/'figures'/'tables').glob('perm.*'), tmproot/'figures'/'README.md', tmproot/'figures'/'manifest.json']:
        assert p.stat().st_mode & 0o777 == 0o666 & ~um, p


def test_plain_papermill_rerun_names_its_notebook(tmp_path, root, mirror):
    "The README's rerun command, smoke-sized: every artefact names 01's notebook (not 'interactive'); F1 words 65 as what it is."
    from conftest import smoke_env
    cmd = ['papermill', 'nbs/paper/01_dataset_statistics.ipynb', str(tmp_path/'01.ipynb'), '-k', 'python3', '--cwd', 'nbs/paper',
           '-p', 'version', 'full', '-p', 'duplicates', 'drop', '-p', 'threshold', '65', '-p', 'smoke', 'true', '--no-progress-bar']
    env = {**smoke_env(tmp_path/'out'), 'POPNB_DATA_MIRROR': str(mirror)}
    env.pop('POPNB_NOTEBOOK', None)
    r = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    arts = json.loads((tmp_path/'out'/'figures'/'manifest.json').read_text())['artefacts']
    assert arts and {a['notebook'] for a in arts.values()} == {'nbs/paper/01_dataset_statistics.ipynb'}
    assert "threshold 65 (the paper's is 50)" in arts['figure/F1_popularity_distribution']['caption']


def test_saved_table_shows_its_file(tmproot):
    t = pd.DataFrame({'model': ['a', 'b'], 'accuracy': [0.956787, 0.5], 'F1': [np.nan, 0.25]})
    shown = save_table(t, 'shown', 'What is shown is the file.')
    assert shown._repr_markdown_() == (paths(tmproot).tables/'shown.md').read_text()
    assert '0.956787' not in shown._repr_markdown_() and 'NaN' not in shown._repr_markdown_()
    assert shown['name'] == 'shown' and shown['kind'] == 'table'
