"""The house-style measures of issue 30, over the library's literate source and its exported modules.

    python benchmarks/cell_metrics.py

Exported cells (`#| export` cells of nbs/0*.ipynb): their lines after the marker (median, p90, max, how many over 40), how many
hold three or more top-level definitions, and the share followed by an example or test (the next code cell not exported).
Modules (popnb/*.py but _modidx.py): lines over 120 characters, and functions with 8 or more parameters (self/cls not counted).
"""
import ast, glob, json, statistics
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

def cell_measures(root=REPO) -> dict:
    lens, multi, followed = [], 0, 0
    for f in sorted(glob.glob(str(root/'nbs'/'0*.ipynb'))):
        cells = json.load(open(f, encoding='utf-8'))['cells']
        for i, c in enumerate(cells):
            s = ''.join(c['source'])
            if c['cell_type'] != 'code' or not s.startswith('#| export'): continue
            lens.append(len(s.splitlines()) - 1)
            defs = [n for n in ast.parse(s).body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]
            multi += len(defs) >= 3
            nxt = next((c2 for c2 in cells[i+1:] if c2['cell_type'] == 'code'), None)
            followed += nxt is not None and not ''.join(nxt['source']).startswith('#| export')
    lens.sort()
    return dict(cells=len(lens), median=statistics.median(lens), p90=lens[min(len(lens) - 1, int(0.9 * len(lens)))], max=lens[-1],
                over_40=sum(n > 40 for n in lens), three_or_more_definitions=multi, followed_by_test=round(followed / len(lens), 3))

def module_measures(root=REPO) -> dict:
    long_, lines, many = 0, 0, 0
    for f in sorted(glob.glob(str(root/'popnb'/'*.py'))):
        if f.endswith('_modidx.py'): continue
        src = open(f, encoding='utf-8').read()
        for l in src.splitlines(): lines += 1; long_ += len(l) > 120
        for n in ast.walk(ast.parse(src)):
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)):
                a = n.args; k = len(a.posonlyargs) + len(a.args) + len(a.kwonlyargs)
                many += (k - (1 if a.args and a.args[0].arg in ('self', 'cls') else 0)) >= 8
    return dict(lines=lines, over_120=long_, share_over_120=round(long_ / lines, 4), functions_with_8_or_more_parameters=many)

if __name__ == '__main__':
    for k, v in {**cell_measures(), **module_measures()}.items(): print(f'{k}: {v}')
