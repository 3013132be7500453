"The documentation site: docs/build_site.py renders the committed notebooks, docs/check_site.py finds broken images and links."
import json, re, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT/'docs'))
import build_site, check_site   # noqa: E402

pytest.importorskip('sphinx'); pytest.importorskip('myst_nb'); pytest.importorskip('pydata_sphinx_theme')


@pytest.fixture(scope='module')
def site(tmp_path_factory):
    "A site freshly built from the committed notebooks into a temporary folder (sphinx -W: a warning fails it)."
    tmp = tmp_path_factory.mktemp('docs')
    r = subprocess.run([sys.executable, 'docs/build_site.py', '--stage', str(tmp/'proc'), '--out', str(tmp/'site')],
                       cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-6000:]
    return tmp/'site'


def test_every_image_and_link_resolves(site):
    assert check_site.check_site(site) == []
    assert not (ROOT/'jupyter_execute').exists()   # myst-nb's image folder stays out of the project root


def test_pages(site):
    lib = sorted(p.stem for p in (ROOT/'nbs').glob('0*.ipynb'))
    paper = sorted(p.stem for p in (ROOT/'nbs'/'paper').glob('[0-9]*.ipynb'))
    for stem in lib: assert (site/'api'/f'{stem}.html').is_file(), stem
    for stem in paper:
        assert (site/'paper'/f'{stem}.html').is_file(), stem
        assert f'href="{stem}.html"' in (site/'paper'/'index.html').read_text(encoding='utf-8'), stem
    index = (site/'index.html').read_text(encoding='utf-8')
    assert 'reproducible companion' in index and 'href="paper/index.html"' in index
    assert (site/'searchindex.js').is_file() and (site/'search.html').is_file()


def test_api_pages_have_signatures_and_docments(site):
    core = (site/'api'/'00_core.html').read_text(encoding='utf-8')
    assert 'id="closest"' in core                      # show_doc's heading, an anchor nbdev links point to
    assert 'what the user wrote' in core               # closest's docments
    assert 'The choice most like' in core              # its docstring
    assert '#| export' not in core and 'show_doc(' not in core   # exported cells and show_doc calls are not shown
    assert 'target=&quot;_blank&quot;' not in core and '{target=' not in core


def test_figures_page_shows_every_figure(site):
    md = (ROOT/'figures'/'README.md').read_text(encoding='utf-8')
    html = (site/'figures'/'README.html').read_text(encoding='utf-8')
    assert len(re.findall(r'<img ', html)) == len(re.findall(r'!\[', md)) > 0
    assert 'T1_dataset_statistics.md' in html          # tables' Markdown files are downloads, not pages


def test_check_site_finds_broken_images_and_links(tmp_path):
    (tmp_path/'a').mkdir(); (tmp_path/'a'/'x.png').write_bytes(b'png')
    (tmp_path/'index.html').write_text('<p id="top"></p><img src="a/x.png"><img src="a/missing.png">'
        '<a href="a/page.html#here">ok</a><a href="a/page.html#gone">x</a><a href="#top">t</a><a href="#nowhere">n</a>'
        '<a href="https://example.org/x">ext</a><img src="https://example.org/i.png"><a href="nope/">d</a>')
    (tmp_path/'a'/'page.html').write_text('<h2 id="here">h</h2><a href="../index.html">up</a><img src="x.png">')
    problems = check_site.check_site(tmp_path)
    assert len(problems) == 5, problems
    for s in ('a/missing.png -> no such file', 'a/page.html#gone -> no id "gone"', '#nowhere -> no id',
              'https://example.org/i.png -> an image from the network', 'nope/ -> no such file'):
        assert any(s in p for p in problems), (s, problems)
    assert check_site.check_site(tmp_path/'a') == [f'{(tmp_path/"a").resolve()}: no index.html (was the site built?)']


def test_links_point_at_the_staged_pages():
    pages, anchors = {'core': 'api/00_core'}, {'api/00_core': {'journal', 'closest'}}
    host = build_site.DOC_HOST
    assert build_site.rewrite_links(f'{host}core.html#closest', pages, '../', anchors) == '../api/00_core.html#closest'
    # a method with no heading of its own links to its class; a name with no heading at all, to the page
    assert build_site.rewrite_links(f'{host}core.html#journal.append', pages, '', anchors) == 'api/00_core.html#journal'
    assert build_site.rewrite_links(f'{host}core.html#gone', pages, '', anchors) == 'api/00_core.html'
    assert build_site.rewrite_links('https://fastcore.fast.ai/x.html#y', pages, '', anchors) == 'https://fastcore.fast.ai/x.html#y'
    md = build_site._link_html(f'see [`closest`]({host}core.html#closest)', pages, '', anchors)
    assert md == 'see <a href="api/00_core.html#closest"><code>closest</code></a>'


def test_quarto_options_become_myst_nb_tags():
    nb = {'metadata': {'widgets': {}}, 'cells': [
        {'cell_type': 'code', 'source': 'show_doc(b)', 'has_sd': True, 'outputs': [
            {'output_type': 'execute_result', 'data': {'text/markdown':
             '---\n\n[source](https://x/y.py#L1){target="_blank" style="float:right"}\n\n### b\n'}}]},
        {'cell_type': 'code', 'source': 'show_doc(a)', 'has_sd': True, 'outputs': []},
        {'cell_type': 'code', 'source': '#| echo: false\n#| output: asis\nshow_doc(c)', 'outputs': []},
        {'cell_type': 'code', 'source': '', 'outputs': []},
        {'cell_type': 'code', 'source': '#| output: false\nx = 1', 'metadata': {}, 'outputs': []}]}
    out = build_site.to_myst(nb)
    assert [c['source'] for c in out['cells']] == ['show_doc(a)', 'show_doc(b)', 'show_doc(c)', 'x = 1']
    assert out['cells'][2]['metadata']['tags'] == ['show-doc', 'remove-input']
    assert out['cells'][3]['metadata']['tags'] == ['remove-output']
    assert out['cells'][1]['outputs'][0]['data']['text/markdown'] == '[source](https://x/y.py#L1){.nbdev-source}\n\n### b\n'
    assert 'widgets' not in out['metadata'] and not any('has_sd' in c for c in out['cells'])
