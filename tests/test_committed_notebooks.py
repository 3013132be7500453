"The committed notebooks carry their results: every figure under the cell that saves it, no machine paths, the run's commit."
import base64, json, re
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
NBS = sorted((ROOT/'nbs').glob('*.ipynb')) + sorted((ROOT/'nbs'/'paper').glob('*.ipynb'))
PAPER = sorted((ROOT/'nbs'/'paper').glob('*.ipynb'))
MACHINE = re.compile(r'(?<![\w.])/(tmp|home|root|work|Users)/')

def cells(nb): return json.loads(nb.read_text(encoding='utf-8'))['cells']

def outputs_text(c):
    "Every text an output of cell `c` carries (images excluded)."
    for o in c.get('outputs', []):
        if 'text' in o: yield ''.join(o['text'])
        for m, v in o.get('data', {}).items():
            if not m.startswith('image/'): yield v if isinstance(v, str) else ''.join(v) if isinstance(v, list) else json.dumps(v)

def has_image(c): return any('image/png' in o.get('data', {}) for o in c.get('outputs', []))

def manifest(): return json.loads((ROOT/'figures'/'manifest.json').read_text())

@pytest.mark.parametrize('nb', NBS, ids=lambda p: p.name)
def test_no_machine_paths_in_outputs(nb):
    for i, c in enumerate(cells(nb)):
        for t in outputs_text(c): assert not MACHINE.search(t), f'{nb.name} cell {i}: {MACHINE.search(t).group(0)} in an output'

@pytest.mark.parametrize('nb', NBS, ids=lambda p: p.name)
def test_no_progress_bars_or_stderr(nb):
    for i, c in enumerate(cells(nb)):
        for o in c.get('outputs', []):
            assert not (o.get('output_type') == 'stream' and o.get('name') == 'stderr'), f'{nb.name} cell {i}: stderr committed'
            assert 'application/vnd.jupyter.widget-view+json' not in o.get('data', {}), f'{nb.name} cell {i}: a progress-bar widget'

def test_committed_notebooks_are_small():
    total = sum(p.stat().st_size for p in NBS)
    assert total < 10 * 2**20, f'{total / 2**20:.1f} MB of notebooks'

def test_every_recorded_figure_is_shown_under_its_cell():
    "Each figure the manifest credits to a paper notebook is an image output of the cell that saves it."
    arts = manifest()['artefacts']
    figs = [a for a in arts.values() if a['kind'] == 'figure' and a['notebook'].startswith('nbs/paper/')]
    assert figs
    for a in figs:
        nb = ROOT/a['notebook']
        assert nb.is_file(), f"{a['name']}: its notebook {a['notebook']} is gone (stale manifest entry)"
        saving = [c for c in cells(nb) if c['cell_type'] == 'code' and f"'{a['name']}'" in ''.join(c['source'])]
        assert saving, f"{a['name']}: no cell of {nb.name} saves it"
        assert any(has_image(c) for c in saving), f"{a['name']}: not shown under its cell in {nb.name}"

def test_images_are_at_screen_resolution():
    import io
    from PIL import Image
    for nb in NBS:
        for c in cells(nb):
            for o in c.get('outputs', []):
                png = o.get('data', {}).get('image/png')
                if png: assert Image.open(io.BytesIO(base64.b64decode(png))).width <= 1600, nb.name   # 100 dpi (a 300 dpi full-width figure is over 2,100 px)

@pytest.mark.parametrize('nb', PAPER, ids=lambda p: p.name)
def test_paper_notebook_prints_the_manifests_commit(nb):
    "The commit a paper notebook's committed run prints is the one its manifest record gives."
    run = manifest()['runs'].get(f'nbs/paper/{nb.name}')
    assert run and run['status'] == 'ok', f'{nb.name}: no successful run in the manifest'
    text = '\n'.join(t for c in cells(nb) for t in outputs_text(c))
    m = re.search(r'code at commit (\S+)', text)
    assert m, f'{nb.name}: the committed notebook carries no run (outputs missing)'
    assert run['environment']['commit'].startswith(m.group(1)), (nb.name, m.group(1), run['environment']['commit'])
    assert run['params'].get('smoke') is not True

@pytest.mark.parametrize('nb', PAPER, ids=lambda p: p.name)
def test_paper_notebook_shows_every_table_it_saves(nb):
    "Each table a paper notebook saves is displayed: the cell saving it (or the next) has a rendered output."
    cs = cells(nb)
    for i, c in enumerate(cs):
        src = ''.join(c['source'])
        for name in re.findall(r"save_table\([^,]+, '([A-Za-z0-9_]+)'", src):
            near = [x for x in cs[i:i + 2] if x['cell_type'] == 'code']
            assert any(o.get('output_type') in ('execute_result', 'display_data') and ({'text/html', 'text/markdown'} & set(o.get('data', {})))
                       for x in near for o in x.get('outputs', [])), f'{nb.name}: table {name} is not displayed'
