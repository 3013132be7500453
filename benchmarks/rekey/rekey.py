"""Re-key the cached runs after a refactor that changes code fingerprints but not what the code computes.

Use it only after `spot_rebuild.py` has shown, for a sample of runs of every kind, that the new code retrained from
scratch gives the cached predictions bit for bit, and `stores.py` that the stores rebuilt under the new code have the
old content digests (every key reads a store by its digest; before this round the power study's named it).

Every cache entry under data/interim/{runs,power/runs} whose key holds an old fingerprint (a model's `model_code`, the
power study's planting code) or a value given with `--store` gets a copy under the key with the new value. Old entries
stay.
Usage: python benchmarks/rekey/rekey.py OLD_FP.json [--store=OLD=NEW ...] [--dry]   (OLD_FP: fingerprints.py before)"""
import json, shutil, sys
from pathlib import Path
from popnb.core import short_hash, paths
from fingerprints import fingerprints
from popnb.train import MODELS

old = json.load(open(sys.argv[1])); dry = '--dry' in sys.argv
new = fingerprints()
I = paths().interim
mapping, per_model = {}, {}   # old -> new: for every key, and for one model's keys (its `model_code`)
for k, v in old.items():
    if k.startswith('store:') or new[k] == v: continue
    if k in MODELS: per_model[k] = {v: new[k]}   # models that shared a fingerprint may no longer share it
    elif mapping.get(v, new[k]) != new[k]: raise SystemExit(f'{v} maps to two new values')
    else: mapping[v] = new[k]
# any other value a key holds, e.g. a store's old name and its digest: `--store=OLD=NEW`
for arg in sys.argv[2:]:
    if arg.startswith('--store='): o, nw = arg[len('--store='):].split('='); mapping[o] = nw
print(len(mapping) + len(per_model), 'values change')

def swap(o, m):
    if isinstance(o, dict): return {k: swap(v, m) for k, v in o.items()}
    if isinstance(o, list): return [swap(v, m) for v in o]
    return {**mapping, **per_model.get(m, {})}.get(o, o) if isinstance(o, str) else o

n = dict(copied=0, already=0, unchanged=0, bad_stem=0)
for folder in ('runs', 'power/runs'):
    for fk in sorted((I/folder).glob('*.key.json')):
        stem = fk.name[:-len('.key.json')]; k = json.load(open(fk))
        if short_hash(k, 16) != stem: n['bad_stem'] += 1; continue
        k2 = swap(k, k.get('model'))
        if k2 == k: n['unchanged'] += 1; continue
        h = short_hash(k2, 16)
        if (I/folder/f'{h}.csv').exists(): n['already'] += 1; continue
        if not dry:
            for suf in ('.csv', '.history.csv', '.sha256.json'):
                if (I/folder/f'{stem}{suf}').exists(): shutil.copy2(I/folder/f'{stem}{suf}', I/folder/f'{h}{suf}')
            json.dump(k2, open(I/folder/f'{h}.key.json', 'w'))
        n['copied'] += 1
print(n)
print(json.dumps(dict(mapping, **{f'{m} ({o})': n for m, d in per_model.items() for o, n in d.items()}), indent=1))
