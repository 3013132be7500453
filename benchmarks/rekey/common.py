"""What the rebuild scripts share: the study's runs of one model, keyed as the paper notebooks key them, and their
predictions retrained from scratch (into the scratch cache folder data/interim/verify_runs) against the cache's."""
import numpy as np
from popnb.core import cache_table
from popnb.data import release_cutoff
from popnb.runs import Execution, Run, _stores, _usable_rows, run_key, fit_runs
from popnb.protocols import protocol_splits


def study_runs(df, study, protocol:str, model:str, feature_set:str='spotify') -> tuple:
    "(rows, every seed and fold's `Run`, spectrograms or None) of `model` under `protocol`, as the study keys them."
    needs, stores = _stores(df, [model], study, feature_set, False)
    d, keep, _ = _usable_rows(df, stores, study.descriptor_mel, feature_set)
    store = stores[needs[model].key] if needs[model] is not None else None
    cutoff = release_cutoff(df.year) if protocol.startswith('release') else None
    key = run_key(protocol, model, d, store, study, feature_set, cutoff)
    runs = [Run(model, s, f, tr, te, key, protocol, feature_set, study.epochs) for s in study.seeds
            for f, (tr, te) in enumerate(protocol_splits(d, protocol, s, study.k, cutoff))]
    return d, runs, None if store is None else store.X[keep]


def cached(run:Run):
    "The predictions the study's cache holds for `run` (RuntimeError when it holds none)."
    return cache_table('runs', run.cache_key, lambda: (_ for _ in ()).throw(RuntimeError(f'not cached: {run}')))


def cold_diffs(d, runs:list, spec, n_jobs:int=2) -> list:
    "Each run retrained from scratch (`n_jobs` side by side, one thread each): max |cached − retrained| prediction."
    fresh = fit_runs(d, runs, spec, Execution(refresh=True, progress=False, n_jobs=n_jobs, cache='verify_runs'))
    return [float(np.abs(cached(r).y_pred.to_numpy(float) - c.y_pred.to_numpy(float)).max()) for r, c in zip(runs, fresh)]
