"""The verdicts of the committed record: the table of record follows from its numbers, every verdict word in the
notebooks' generated prose (and so in the README) sits inside a sentence `verdict_sentence` wrote from a row of it,
and a contradiction planted in that prose or in a row is caught."""
import json
from pathlib import Path
import pandas as pd, pytest
from popnb.evaluate import load_plan, check_record, unbacked_verdicts, verdict_sentence, family_comparisons, Rule

ROOT = Path(__file__).resolve().parents[1]
RECORD = ROOT/'figures'/'tables'/'T17_record.csv'
NOTEBOOKS = sorted((ROOT/'nbs'/'paper').glob('*.ipynb')) + [ROOT/'nbs'/'index.ipynb']

@pytest.fixture(scope='module')
def record():
    return pd.read_csv(RECORD, keep_default_na=False, na_values=[''])

def prose(nb:Path) -> str:
    "The Markdown a notebook's cells generated (its outputs), one block per output."
    cells = json.loads(nb.read_text())['cells']
    return '\n\n'.join(''.join(o.get('data', {}).get('text/markdown', [])) for c in cells for o in c.get('outputs', []))

def test_record_follows_from_its_numbers(record):
    assert check_record(record, Rule.from_plan().alpha) == []

def test_record_holds_every_family_of_the_plan_whole(record):
    plan = load_plan()
    assert set(record.family) == set(plan['families'])
    for name, g in record.groupby('family'):
        assert (g.m == len(g)).all(), name                  # Holm over every comparison filed, none dropped
    for name in ('claims', 'skill', 'ablations', 'feature_sets'):   # families with no list from the notebook
        assert len(record[record.family == name]) == len(family_comparisons(name)), name

@pytest.mark.parametrize('nb', NOTEBOOKS, ids=lambda p: p.stem)
def test_no_verdict_outside_the_generated_sentences(nb, record):
    assert unbacked_verdicts(prose(nb), record.sentence) == []

def test_a_planted_contradiction_is_caught(record):
    "A generated sentence whose verdict is flipped by hand is no longer the record's: its verdict word is reported."
    flips = {'— better': '— worse', '— worse': '— better', 'no detectable difference': 'better',
             'the data contradict': 'the data support', 'the data support': 'the data contradict'}
    text = '\n'.join(prose(nb) for nb in NOTEBOOKS)
    s = next(s for s in record.sentence if s in text and any(k in s for k in flips))
    k = next(k for k in flips if k in s)
    assert unbacked_verdicts(text.replace(s, s.replace(k, flips[k])), record.sentence) != []
    # and a row whose verdict does not follow from its p and sign
    bad = record.copy(); i = bad.index[bad.sentence == s][0]
    bad.loc[i, 'verdict'] = 'worse' if bad.loc[i, 'verdict'] != 'worse' else 'better'
    assert any('verdict' in p for p in check_record(bad))

def test_sentences_are_rendered_from_their_rows(record):
    for r in record.to_dict('records'): assert verdict_sentence(r) == r['sentence'], r['comparison']

def test_no_p_value_on_a_resampling_floor(record):
    "p comes from the bootstrap's standard error, not a count of resamples: no adjusted p is a multiple of 1/(B+1) by construction."
    floors = {round(k * m / 1001, 6) for k in (2, 4) for m in record.m.unique()}
    sig = record[record.p_adj < 0.05]
    assert not set(sig.p_adj.round(6)) & floors or len(sig) == 0

def test_13_gathers_the_record_and_stops_on_a_contradiction(tmp_path, monkeypatch, kernel_name, mirror):
    "13_verdicts reads the families the other notebooks filed (here the committed ones), files T17 and F20, and refuses a row that contradicts itself."
    import shutil, papermill as pm
    root = tmp_path/'root'; tables = root/'figures'/'tables'; tables.mkdir(parents=True)
    for f in (ROOT/'figures'/'tables').glob('*.csv'): shutil.copy(f, tables)
    monkeypatch.setenv('POPNB_SMOKE_ROOT', str(root)); monkeypatch.setenv('POPNB_DATA_MIRROR', str(mirror))
    nb = ROOT/'nbs'/'paper'/'13_verdicts.ipynb'
    run = lambda: pm.execute_notebook(str(nb), str(tmp_path/nb.name), parameters=dict(smoke=True), kernel_name=kernel_name,
                                      cwd=str(nb.parent), progress_bar=False)
    run()
    t17 = pd.read_csv(tables/'T17_record.csv', keep_default_na=False, na_values=[''])
    assert set(t17.family) == set(load_plan()['families']) and check_record(t17) == []
    assert (root/'figures'/'F20_record.png').stat().st_size > 0
    t12 = pd.read_csv(tables/'T12_differences.csv', keep_default_na=False, na_values=[''])
    t12.loc[0, 'verdict'] = 'supports the claim' if t12.loc[0, 'verdict'] != 'supports the claim' else 'contradicts the claim'
    t12.to_csv(tables/'T12_differences.csv', index=False)
    with pytest.raises(pm.PapermillExecutionError, match='disagrees with itself'): run()
