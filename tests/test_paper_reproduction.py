"Papermill smoke runs of the reproduction and audit notebooks: every artefact written, T3 equal to the published numbers."
import json, os, re, subprocess, sys
from pathlib import Path
import pandas as pd, pytest
import papermill as pm

PAPER = Path(__file__).resolve().parents[1]/'nbs'/'paper'
# in this order: 04's shared run (smoke_04) first, the runs 05, 06 and the params/gpu.yaml run below read back
ARTEFACTS = {
    '04_grouped_audit': ['tables/T4_grouped_protocol', 'tables/T4_grouped_summary', 'tables/T4_protocol_leakage',
                         'tables/T4_threshold_sweep', 'F7_threshold_sweep', 'F8_predicted_vs_actual_protocols'],
    '05_ablations': ['tables/T5_ablations', 'F9_ablations', 'tables/T5b_feature_sets', 'tables/T5_differences'],
    '06_breakdowns': ['tables/T6_breakdowns', 'F10_breakdowns'],
    '01_dataset_statistics': ['tables/T1_dataset_statistics', 'tables/T2_feature_correlations', 'F1_popularity_distribution',
                              'F2_feature_correlation_heatmap', 'F3_popularity_by_release'],
    '02_paper_reproduction': ['tables/T3_paper_reproduction', 'tables/T3b_paper_reproduction_intervals', 'F4_training_curves',
                              'F5_predicted_vs_actual_paper'],
}

def run(nb, tmp_path, monkeypatch, kernel_name, **params):
    monkeypatch.setenv('POPNB_SMOKE_ROOT', str(tmp_path))
    monkeypatch.delenv('IN_TEST', raising=False)
    pm.execute_notebook(PAPER/f'{nb}.ipynb', tmp_path/f'{nb}.out.ipynb', parameters=dict(smoke=True, **params),
                        kernel_name=kernel_name, cwd=PAPER, progress_bar=False)
    return tmp_path/'figures'

# 01 runs with a non-default threshold: a rerun with `-p threshold 70` must rewrite its artefacts accordingly
PARAMS = {'01_dataset_statistics': dict(threshold=70.0)}

# runs shared with tests/test_readme_commands.py (conftest's session fixtures): the same notebook and parameters, made once
SHARED = {'01_dataset_statistics': 'smoke_01', '04_grouped_audit': 'smoke_04'}

@pytest.mark.parametrize('nb', list(ARTEFACTS))
def test_paper_notebook_writes_its_artefacts(nb, tmp_path, monkeypatch, kernel_name, mirror, request):
    if nb in SHARED:
        tmp, r, _, _ = request.getfixturevalue(SHARED[nb])
        assert r.returncode == 0, r.stderr[-2000:]
        figs = tmp/'root'/'figures'
    else: figs = run(nb, tmp_path, monkeypatch, kernel_name, **PARAMS.get(nb, {}))
    for a in ARTEFACTS[nb]:
        exts = ('csv', 'md', 'tex') if a.startswith('tables/') else ('png', 'pdf')
        for e in exts: assert (figs/f'{a}.{e}').stat().st_size > 0, f'{a}.{e} missing'
    index = (figs/'README.md').read_text()
    for a in ARTEFACTS[nb]: assert Path(a).name in index
    if nb in ('02_paper_reproduction', '04_grouped_audit', '05_ablations', '06_breakdowns'):   # trained on stand-in audio
        assert 'synthetic stand-in audio' in index
    if nb == '01_dataset_statistics':
        t1 = pd.read_csv(figs/'tables'/'T1_dataset_statistics.csv')
        assert 'share popularity >= 70' in set(t1.column) and 'threshold=70.0' in index
    if nb == '02_paper_reproduction': check_T3(figs)

def check_T3(figs):
    "T3 gives the published numbers back to 4 decimals, next to the constant predictor and our rerun."
    t3 = pd.read_csv(figs/'tables'/'T3_paper_reproduction.csv').set_index('row')
    got = t3.loc["authors' CNN (saved predictions) — all rows"]
    for k, v in dict(accuracy=0.9568, precision=0.9587, recall=0.9979, f1=0.9779, mae=9.4958, r2=-0.0138).items():
        assert round(got[k], 4) == v, k
    const = t3.loc['always "popular" — all rows']
    for k, v in dict(accuracy=0.9583, precision=0.9583, recall=1.0, f1=0.9787).items():
        assert round(const[k], 4) == v, k
    assert {"PaperCNN, our rerun — all rows", "PaperCNN, our rerun — held-out"} <= set(t3.index)

def test_bad_parameters_fail_at_the_top(tmp_path, monkeypatch, kernel_name, mirror):
    with pytest.raises(pm.PapermillExecutionError, match="did you mean 'threshold'"):
        run('01_dataset_statistics', tmp_path, monkeypatch, kernel_name, treshold=70)
    with pytest.raises(pm.PapermillExecutionError, match='audio_source: must be one of'):
        run('04_grouped_audit', tmp_path, monkeypatch, kernel_name, audio_source='mp3')

# ---- the README's own commands that run these notebooks: the same shared runs, so in this file (make test runs a file on one worker)
def test_papermill_list_parameter_as_text_runs(smoke_04):
    "The README's `-p seeds \"[0, 1, 2]\"`: papermill passes text; the notebook reads it as a list (smoke scale; the run is shared)."
    tmp, r, _, _ = smoke_04
    assert r.returncode == 0, r.stderr[-2000:]
    assert (tmp/'root'/'figures'/'tables'/'T4_grouped_summary.csv').is_file()

def test_popnb_reproduce_only_runs(smoke_01):
    "`popnb reproduce --only NB -p name value` at smoke scale, and its run recorded in the smoke root, not figures/ (the run is shared)."
    tmp, r, before, after = smoke_01
    assert r.returncode == 0, r.stderr[-2000:]
    assert (tmp/'root'/'figures'/'F1_popularity_distribution.png').is_file()
    assert after == before

def test_gpu_params_run_on_a_cpu_at_smoke_scale(tmp_path, mirror, smoke_04):
    """`popnb reproduce --params params/gpu.yaml` on a CPU, shrunk to smoke scale; then the stage table of what it ran.
    Shrunk, its runs are 04's smoke runs (the same keys): after smoke_04 they are read back from the run cache, as a rerun's are."""
    ROOT, GPU = PAPER.parents[1], PAPER.parents[1]/'params'/'gpu.yaml'
    env = {**os.environ, 'POPNB_SMOKE_ROOT': str(tmp_path/'root'), 'POPNB_THREADS': '1', 'POPNB_DEVICE': 'cpu',
           'PATH': str(Path(sys.executable).parent) + os.pathsep + os.environ.get('PATH', '')}
    before = (ROOT/'figures'/'manifest.json').read_bytes()
    r = subprocess.run([str(Path(sys.executable).parent/'popnb'), 'reproduce', '--params', str(GPU), '--only', '04_grouped_audit', '-p', 'smoke', 'true'],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    assert (tmp_path/'root'/'figures'/'tables'/'T4_grouped_summary.csv').is_file()
    assert (ROOT/'figures'/'manifest.json').read_bytes() == before        # a smoke run never touches figures/
    st = subprocess.run([sys.executable, '-m', 'popnb.runner', 'stages', str(ROOT/'_runs')], cwd=ROOT, capture_output=True, text=True)
    assert st.returncode == 0 and re.search(r'paper/04_grouped_audit\.ipynb\s+\d', st.stdout), st.stdout + st.stderr
