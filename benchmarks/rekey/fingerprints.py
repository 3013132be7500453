"""Every code fingerprint a cache key holds: `model_code` of every model, the stores' `store_code`, the power study's planting
code. Run at the commit before a refactor and after it; `rekey.py` maps one onto the other.

    python benchmarks/rekey/fingerprints.py > /tmp/fp_before.json
"""
import json
from popnb.train import MODELS
from popnb.runs import model_code
from popnb.features import store_code
from popnb.power import power_key


def fingerprints() -> dict:
    "{name: fingerprint} of everything a cached result's key can hold."
    return {**{m: model_code(m) for m in MODELS},
            **{f'store:{s}:{d}': store_code(s, d) for s in ('synthetic', 'previews', 'local') for d in (False, True)},
            'power': power_key()['code']}


if __name__ == '__main__': print(json.dumps(fingerprints(), indent=1))
