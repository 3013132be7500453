"Caches that know the code, and runs that resume: each run of `protocol_predictions` is keyed on the model's configuration and a fingerprint of its code, and a killed call trains only what was missing."
import os, subprocess, sys
from dataclasses import replace
from pathlib import Path
import numpy as np, pandas as pd, pytest, torch
import popnb.features
from popnb.core import set_threads
from popnb.data import load_paper_dataset
from popnb.features import study_mel
from popnb.models import FusionCNN
from popnb.runs import protocol_predictions, run_tally, Study, Execution
from popnb.train import MODELS

set_threads(1)
KW = dict(k=2, epochs=1, seeds=(0,), audio_source='synthetic', n_mels=16, clip_seconds=1.0)   # a small study

@pytest.fixture(scope='module')
def small():
    df = load_paper_dataset()
    return df[df.artist.isin(df.artist.unique()[:10])].groupby('artist').head(3).reset_index(drop=True)

@pytest.fixture
def root(tmp_path, monkeypatch):
    monkeypatch.setenv('POPNB_ROOT', str(tmp_path)); return tmp_path

def trained(df, models, **kw):
    "How many runs one call of protocol_predictions trained (the rest it read back)."
    before = run_tally()['trained']
    protocol_predictions(df, models, study=Study(**{**KW, **kw}), how=Execution(progress=False, n_jobs=1))
    return run_tally()['trained'] - before

def test_nothing_changed_hits(small, root):
    assert trained(small, ('mean', 'fusion_meta')) == 4
    assert trained(small, ('mean', 'fusion_meta')) == 0
    assert run_tally() == dict(reused=4, trained=4)

def test_config_value_misses(small, root, monkeypatch):
    assert trained(small, ('fusion_meta', 'mean')) == 4
    s = MODELS['fusion_meta']
    with monkeypatch.context() as m:
        m.setitem(MODELS, 'fusion_meta', replace(s, config=replace(s.config, lr=s.config.lr / 2)))
        assert trained(small, ('fusion_meta', 'mean')) == 2      # the network retrains, the baseline does not
    assert trained(small, ('fusion_meta', 'mean')) == 0          # back to the old config: the old runs

_forward = FusionCNN.forward
def _changed_forward(self, spec, meta):
    return _forward(self, spec, meta) + 0.0   # one line of FusionCNN.forward changed

def test_network_forward_misses(small, root, monkeypatch):
    assert trained(small, ('fusion_meta', 'paper_cnn'), audio_source='none') == 4
    with monkeypatch.context() as m:
        m.setattr(FusionCNN, 'forward', _changed_forward)
        assert trained(small, ('fusion_meta', 'paper_cnn'), audio_source='none') == 2   # PaperCNN's runs are kept
    assert trained(small, ('fusion_meta', 'paper_cnn'), audio_source='none') == 0

_synth = popnb.features.synthesize_clip
def _changed_synth(*a, **kw):
    return 0.5 * _synth(*a, **kw)   # the stand-in generator, one line changed

def test_stand_in_generator_misses(small, root, monkeypatch):
    assert trained(small, ('fusion_audio', 'mean')) == 4
    with monkeypatch.context() as m:
        m.setattr(popnb.features, 'synthesize_clip', _changed_synth)
        assert trained(small, ('fusion_audio', 'mean')) == 2    # the audio model retrains, the baseline does not
    assert trained(small, ('fusion_audio', 'mean')) == 0

CHILD = '''
import os, signal, sys
from contextlib import contextmanager
import pandas as pd
import popnb.train as T
from popnb.core import set_threads
from popnb.runs import protocol_predictions, Study, Execution
set_threads(1)
kill_at, n, _aw = int(sys.argv[2]), [0], T.atomic_write
@contextmanager
def counted(*a, **kw):   # SIGKILL right after the kill_at-th checkpoint is written (0: never)
    with _aw(*a, **kw) as f: yield f
    n[0] += 1
    if n[0] == kill_at: os.kill(os.getpid(), signal.SIGKILL)
T.atomic_write = counted
r = protocol_predictions(pd.read_pickle(sys.argv[1]), ('mean', 'fusion_meta'), study=Study(audio_source='none', seeds=(0,), k=3, epochs=2),
                         how=Execution(progress=False))
r.attrs['history'].to_pickle(sys.argv[3] + '.history'); r.attrs = {}; r.to_pickle(sys.argv[3])
'''

def child(root, data, kill_at, out):
    env = {**os.environ, 'POPNB_ROOT': str(root), 'POPNB_THREADS': '1', 'POPNB_JOBS': '1'}   # one run at a time: the kill lands where counted
    return subprocess.run([sys.executable, '-c', CHILD, str(data), str(kill_at), str(out)], env=env, capture_output=True, text=True, timeout=600)

def test_killed_run_resumes(small, tmp_path):
    data = tmp_path/'df.pkl'; small.to_pickle(data)
    ref = child(tmp_path/'ref', data, 0, tmp_path/'ref.pkl')
    assert ref.returncode == 0, ref.stderr
    # fusion_meta trains after mean's 3 folds; its 3rd checkpoint is fold 1 after epoch 1 of 2
    killed = child(tmp_path/'b', data, 3, tmp_path/'never.pkl')
    assert killed.returncode == -9, killed.stderr
    runs = tmp_path/'b'/'data'/'interim'/'runs'
    assert len(list(runs.glob('*.key.json'))) == 4
    cks = list((tmp_path/'b'/'data'/'interim'/'checkpoints').rglob('*.pt'))
    assert len(cks) == 1
    st = torch.load(cks[0], map_location='cpu', weights_only=True)
    assert (st['epoch'], st['done']) == (1, False)
    again = child(tmp_path/'b', data, 0, tmp_path/'again.pkl')
    assert again.returncode == 0, again.stderr
    # 4 runs trained before the kill; the rerun reads them back and trains the 2 missing ones
    assert run_tally(tmp_path/'b'/'_runs'/'runs.tsv') == dict(reused=4, trained=6)
    pd.testing.assert_frame_equal(pd.read_pickle(tmp_path/'again.pkl'), pd.read_pickle(tmp_path/'ref.pkl'))
    h = pd.read_pickle(tmp_path/'again.pkl.history')
    h1 = h[(h.model == 'fusion_meta') & (h.fold == 1)].sort_values('epoch')
    assert h1.epoch.tolist() == [1, 2] and h1.seconds.iloc[0] == st['history'][0]['seconds']   # epoch 1 came from the checkpoint
    assert not list((tmp_path/'b'/'data'/'interim'/'checkpoints').rglob('*.pt'))   # removed once the run is cached

def test_run_keys(monkeypatch):
    "Each run's key: its protocol, model, seed and fold, the values it reads, its inputs, the model's config and its code fingerprint."
    import json, popnb.runs as P
    from dataclasses import asdict
    from popnb.data import META_COLS
    monkeypatch.setenv('POPNB_JOBS', '1')   # runs in this process, where the patched cache_table records the keys
    rng = np.random.default_rng(0); n = 120
    df = pd.DataFrame(rng.random((n, 13)), columns=META_COLS).assign(artist=[f'artist{i % 15}' for i in range(n)],
                                                                     track_key=[f't{i:04d}' for i in range(n)], popularity=50.0)
    keys = []
    monkeypatch.setattr(P, 'cache_table', lambda kind, key, make, refresh=False: keys.append(json.dumps(key)) or pd.DataFrame(dict(track_key=['a'])))
    small = P.Study(n_mels=16, clip_seconds=3.0, seeds=(0,), k=5, epochs=2); quiet = P.Execution(progress=False)
    P.protocol_predictions(df, ['ridge', 'fusion_meta'], 'grouped', small, how=quiet)
    want = [dict(protocol='grouped', model=m, k=5, epochs=2, spectrograms=None, data=P.run_data(df), inputs='spotify',
                 config=asdict(MODELS[m].config) if MODELS[m].config else None, code=P.model_code(m),
                 **({'designs': [dict(c) for c in MODELS[m].choices]} if MODELS[m].choices else {}), seed=0, fold=f)
            for m in ('ridge', 'fusion_meta') for f in range(5)]
    assert keys == [json.dumps(k) for k in want]
    keys.clear()
    from popnb.features import DESCRIPTORS
    fake = lambda d: pd.DataFrame({'track_key': d.track_key.astype(str), **{k: np.random.default_rng(3).normal(size=len(d)) for k in DESCRIPTORS},
                                   'descriptor_reason': ''})
    monkeypatch.setattr(P, 'build_store', lambda d, **kw: type('S', (), dict(index=pd.DataFrame(dict(ok=[True]*len(d))), descriptors=fake(d)))())
    P.protocol_predictions(df, ['ridge'], 'grouped', small, 'descriptors', how=quiet)
    assert json.loads(keys[0])['inputs'] == 'descriptors' and json.loads(keys[0])['data'] != P.run_data(df)   # the descriptors' values are read
