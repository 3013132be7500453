"""Rebuild, under the current code, the study's spectrogram stores (with and without descriptors) and show the early
cutoff: a rebuilt store has a new name when its code fingerprint changed, and the old content digest and index. The old
names are this round's (issue 30); runs read stores by digest, so a renamed store leaves them valid.

    python benchmarks/rekey/stores.py
"""
import json, time
from popnb.core import paths
from popnb.data import load_dataset
from popnb.features import build_store
from popnb.runs import load_study
I = paths().interim/'spec'
df = load_dataset('updated', 'keep'); study = load_study()
for old, params, desc in [('synthetic-5265363e475d', study.mel, False), ('synthetic-835b3ec69df4', study.descriptor_mel, True)]:
    om = json.load(open(I/old/'meta.json')); t = time.time()
    st = build_store(df, audio_source='synthetic', params=params, descriptors=desc, n_jobs=2, progress=False)
    nm = json.load(open(st.folder/'meta.json'))
    same = (nm['digest'] == om['digest'] and nm['inputs_fingerprint'] == om['inputs_fingerprint'] and nm['params'] == om['params'])
    idx = (I/old/'index.csv').read_bytes() == (st.folder/'index.csv').read_bytes()
    print(f"index.csv (rows, reasons, descriptors) identical: {idx}")
    print(f"{old} -> {st.folder.name}: digest {om['digest']} -> {nm['digest']}, inputs {om['inputs_fingerprint']} -> "
          f"{nm['inputs_fingerprint']}, {'SAME CONTENT' if same else 'DIFFERENT'} ({time.time() - t:.0f} s)", flush=True)
