"popnb.report: deterministic writers, synthetic-audio marking, manifest/README (the runner: tests/test_runner.py)."
import dataclasses, json, os, subprocess, sys
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


def test_provenance_keywords(tmproot):
    "The provenance travels as `Provenance`'s keywords: in the signatures, a misspelt one refused, positions kept."
    import inspect
    assert list(inspect.signature(save_table).parameters) == [
        'df', 'name', 'caption', 'audio_source', 'digits', 'notebook', 'params', 'inputs', 'root']
    assert list(inspect.signature(save_figure).parameters)[3:] == [
        'audio_source', 'formats', 'close', 'notebook', 'params', 'inputs', 'root']
    with pytest.raises(TypeError, match='notebok'): save_table(pd.DataFrame({'x': [1]}), 'x', 'c', notebok='nb.ipynb')
    r = save_table(pd.DataFrame({'x': [1.25]}), 'pos', 'Positional.', 'synthetic', 1, params={'k': 1})
    assert (r['audio_source'], r['params']) == ('synthetic', {'k': 1})
    assert r['caption'] == 'Positional. (synthetic stand-in audio)'
    assert (tmproot/'figures'/'tables'/'pos.csv').read_text() == 'x\n1.2\n'
    with pytest.raises(dataclasses.FrozenInstanceError): Provenance().root = 'x'


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


def test_rerun_keeps_the_record(root, mirror):
    "A plain papermill rerun of 01 with a parameter that is not the record's (threshold 70) writes _runs/01_dataset_statistics/, never figures/."
    from conftest import smoke_env
    import shutil
    status = lambda: subprocess.run(['git', 'status', '--porcelain', '--', 'figures/'], cwd=root, capture_output=True, text=True).stdout
    before = status()
    dest = root/'_runs'/'01_dataset_statistics'
    had = dest.exists()
    env = {**smoke_env(root/'_runs'/'unused-smoke-root'), 'POPNB_DATA_MIRROR': str(mirror)}
    for k in ('POPNB_NOTEBOOK', 'POPNB_ROOT', 'POPNB_SMOKE_ROOT', 'POPNB_RECORD'): env.pop(k, None)
    cmd = ['papermill', 'nbs/paper/01_dataset_statistics.ipynb', str(dest/'01_dataset_statistics.ipynb'), '-k', 'python3',
           '--cwd', 'nbs/paper', '-p', 'threshold', '70', '--no-progress-bar']
    try:
        dest.mkdir(parents=True, exist_ok=True)   # papermill writes its executed copy there (as `popnb reproduce` does)
        r = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, r.stderr[-3000:]
        assert status() == before                                             # figures/ as it was
        m = json.loads((dest/'figures'/'manifest.json').read_text())
        arts = m['artefacts']
        assert arts and all(a['params']['threshold'] == 70 for a in arts.values())
        assert all(f.startswith('figures/') and (dest/f).is_file() for a in arts.values() for f in a['files'])
        assert (dest/'figures'/'README.md').is_file() and any(f.startswith('figures/tables/') for a in arts.values() for f in a['files'])
        out = json.dumps(json.loads((dest/'01_dataset_statistics.ipynb').read_text())['cells'])
        assert '_runs/01_dataset_statistics/figures/, not figures/ (a rerun: threshold=70' in out
    finally:
        if not had: shutil.rmtree(dest, ignore_errors=True)
