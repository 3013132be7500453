"""What a reader needs to cite, license and rebuild the companion: LICENSE, CITATION.cff (checked against the CFF 1.2.0
schema), the hashed locks of requirements/ (in step with settings.ini, and equal to the installed environment),
environment.yml, and the CI workflows of .github/workflows/ (checked against their schema, offline)."""
import hashlib, json, re, subprocess, sys, sysconfig
from configparser import ConfigParser
from importlib import metadata
from pathlib import Path
import pytest, yaml

ROOT = Path(__file__).resolve().parents[1]
LOCK, LOCK_CUDA = ROOT/'requirements'/'lock.txt', ROOT/'requirements'/'lock-cuda.txt'
CFF_SCHEMA = ROOT/'tests'/'schemas'/'citation-file-format-1.2.0.json'
# the schema file of citation-file-format/citation-file-format at tag 1.2.0 (also what cffconvert 2.0.0 ships)
CFF_SCHEMA_SHA256 = '0b8d22140da702d766df318dcff3a91af2f39521298dcf36d76315fd99cc169b'
# packages only the CUDA build of torch brings
CUDA_ONLY = re.compile(r'^(nvidia-.*|cuda-.*|triton)$')

def cfg():
    c = ConfigParser(delimiters=['=']); c.read(ROOT/'settings.ini', encoding='utf-8')
    return c['DEFAULT']

def norm(name:str) -> str: return re.sub(r'[-_.]+', '-', name).lower()   # PEP 503

def read_lock(path:Path) -> dict:
    "name -> (version, [sha256, ...]) of a pip-compile lock; every entry is `name==version` with its hashes."
    text = re.sub(r'\\\n', ' ', path.read_text(encoding='utf-8'))   # join continuation lines
    out = {}
    for line in text.splitlines():
        line = line.split(' #')[0].strip()
        if not line or line.startswith('#'): continue
        assert not line.startswith('-'), f'{path.name}: an option line ({line!r}) would tie the lock to one machine'
        m = re.fullmatch(r'([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)((?:\s+--hash=sha256:[0-9a-f]{64})+)', line)
        assert m, f'{path.name}: not `name==version --hash=sha256:…`: {line[:120]!r}'
        name = norm(m[1])
        assert name not in out, f'{path.name}: {name} twice'
        out[name] = (m[2], re.findall(r'sha256:([0-9a-f]{64})', m[3]))
    return out

def settings_pins() -> dict:
    c = cfg()
    pins = ' '.join(c.get(k, '') for k in ('requirements', 'pip_requirements', 'dev_requirements', 'docs_requirements')).split()
    return {norm(p.split('==')[0]): p.split('==')[1] for p in pins}

# ---------------------------------------------------------------- licence and citation

def test_licence_is_mit_as_settings_say():
    c, text = cfg(), (ROOT/'LICENSE').read_text(encoding='utf-8')
    assert c['license'] == 'mit' and text.startswith('MIT License\n')
    assert f"Copyright (c) {c['copyright']}" in text
    assert 'THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND' in text

def test_citation_cff_is_valid_cff_1_2_0():
    import jsonschema
    raw = CFF_SCHEMA.read_bytes()
    assert hashlib.sha256(raw).hexdigest() == CFF_SCHEMA_SHA256, 'the vendored CFF schema changed'
    schema, cff = json.loads(raw), yaml.safe_load((ROOT/'CITATION.cff').read_text(encoding='utf-8'))
    assert cff['cff-version'] == '1.2.0' and schema['$id'].endswith('/1.2.0/schema.json')
    v = jsonschema.Draft7Validator(schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in v.iter_errors(cff)]
    assert not errors, errors
    # and the same check with the command-line validator of the lock (what a maintainer runs by hand)
    r = subprocess.run([sys.executable, '-m', 'check_jsonschema', '--schemafile', str(CFF_SCHEMA), 'CITATION.cff'],
                       cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0 and 'ok -- validation done' in r.stdout, r.stdout + r.stderr

def test_citation_cff_names_the_companion_and_the_paper():
    c, cff = cfg(), yaml.safe_load((ROOT/'CITATION.cff').read_text(encoding='utf-8'))
    assert cff['version'] == c['version'] and cff['license'] == 'MIT'
    assert cff['repository-code'] == c['git_url'] and cff['url'] == c['doc_host'] + c['doc_baseurl']
    paper = cff['references'][0]
    assert paper['title'].startswith('Predicting Music Track Popularity by Convolutional Neural Networks')
    assert [a['family-names'] for a in paper['authors']] == ['Falah', 'Yousefimehr', 'Ghatee'] and paper['year'] == 2025
    assert {i['value'] for i in paper['identifiers']} == {'arXiv:2505.07280', '10.48550/arXiv.2505.07280'}

def test_readme_cites_licenses_and_links_the_site():
    "README.md (generated from nbs/index.ipynb) has the Licences and Cite sections, the latter from CITATION.cff."
    readme, c = (ROOT/'README.md').read_text(encoding='utf-8'), cfg()
    cff = yaml.safe_load((ROOT/'CITATION.cff').read_text(encoding='utf-8'))
    assert '\n## Licences\n' in readme and '\n## Cite\n' in readme
    cite = readme.split('\n## Cite\n')[1]
    for s in (cff['title'], cff['references'][0]['title'], 'Falah, Navid and Yousefimehr, Behnam and Ghatee, Mehdi',
              'eprint = {2505.07280}', f"version = {{{cff['version']}}}"):
        assert s in cite, s
    site = c['doc_host'] + c['doc_baseurl']
    assert f'[{site}]({site})' in readme

# ---------------------------------------------------------------- the locks

def test_locks_are_hashed_pip_compile_output_for_python_3_11():
    for p in (LOCK, LOCK_CUDA):
        head = p.read_text(encoding='utf-8')[:400]
        assert 'autogenerated by pip-compile with Python 3.11' in head and 'make lock' in head, p.name
        lock = read_lock(p)
        assert all(h for _, h in lock.values())
        for tool in ('pip', 'setuptools', 'wheel'): assert tool in lock, f'{p.name} leaves {tool} out'
        assert 'popnb' not in lock

def test_locks_keep_the_pins_of_settings_ini():
    "`make lock` was run after the last change of settings.ini: every direct pin is in both locks at its version."
    cpu, cuda = read_lock(LOCK), read_lock(LOCK_CUDA)
    for name, version in settings_pins().items():
        assert name in cpu and name in cuda, f'{name} of settings.ini is not in the lock: run make lock'
        if name == 'torch':
            assert cpu[name][0] == f'{version}+cpu' and cuda[name][0] == version
        else:
            assert cpu[name][0] == version and cuda[name][0] == version, f'{name}: settings.ini {version}, lock {cpu[name][0]}: run make lock'

def test_cuda_lock_is_the_cpu_lock_with_cuda_torch():
    cpu, cuda = read_lock(LOCK), read_lock(LOCK_CUDA)
    assert set(cpu) <= set(cuda) and all(CUDA_ONLY.match(n) for n in set(cuda) - set(cpu)), set(cuda) ^ set(cpu)
    differ = {n for n in cpu if cpu[n][0] != cuda[n][0]}
    assert differ == {'torch'}, differ
    assert not any(CUDA_ONLY.match(n) for n in cpu)

def test_make_env_installs_the_lock_and_environment_yml_the_same():
    mk = (ROOT/'Makefile').read_text(encoding='utf-8')
    env = mk.split('\n$(VENV)/.installed:')[1].split('\n\n')[0]
    assert 'LOCK ?= requirements/lock.txt' in mk
    assert '--require-hashes --no-deps -r $(LOCK)' in env and '--no-deps --no-build-isolation -e .' in env
    assert not re.search(r'pip install(?! -q --require-hashes| -q --no-deps --no-build-isolation -e \.)', env), 'an unlocked install in make env'
    y = yaml.safe_load((ROOT/'environment.yml').read_text(encoding='utf-8'))
    deps = y['dependencies']
    pip = next(d['pip'] for d in deps if isinstance(d, dict))
    assert 'python=3.11' in deps and [d for d in deps if isinstance(d, str)] == ['python=3.11', 'pip']
    assert '-r requirements/lock.txt' in pip and '--require-hashes' in pip
    assert all(l.startswith('-') for l in pip), 'environment.yml installs only the lock'

def installed() -> dict:
    "name -> [versions] of the distributions installed in this interpreter's environment (its site-packages)."
    where = sorted({sysconfig.get_paths()['purelib'], sysconfig.get_paths()['platlib']})
    out = {}
    for d in metadata.distributions(path=where):
        out.setdefault(norm(d.metadata['Name']), []).append(d.version)
    return out

def test_installed_environment_is_the_lock():
    """The environment running the tests holds exactly the lock: no package missing, none extra, none at another
    version; popnb itself is the one package outside it (installed editable, at settings.ini's version). A CUDA
    build of torch is compared with requirements/lock-cuda.txt, the CPU build with requirements/lock.txt."""
    have = installed()
    assert have.get('popnb') == [cfg()['version']], f"popnb installed: {have.get('popnb')}"
    assert len(have.get('torch', [])) == 1, f"torch installed: {have.get('torch')}"
    lock_path = LOCK if '+cpu' in have['torch'][0] else LOCK_CUDA
    want = {n: v for n, (v, _) in read_lock(lock_path).items()}
    have.pop('popnb')
    problems = [f'{n}: installed {have[n]}, ' + (f'locked {want[n]}' if n in want else 'not in the lock')
                for n in sorted(have) if have[n] != [want.get(n)]]
    problems += [f'{n}: locked {want[n]}, not installed' for n in sorted(set(want) - set(have))]
    assert not problems, (f'the environment differs from {lock_path.relative_to(ROOT)} (rebuild it: rm -rf .venv && make env; '
                          f'or remove what was installed by hand):\n' + '\n'.join(problems))

def test_editable_popnb_points_at_this_checkout():
    import popnb
    assert Path(popnb.__file__).resolve().parent == ROOT/'popnb'

# ---------------------------------------------------------------- CI workflows

WORKFLOWS = sorted((ROOT/'.github'/'workflows').glob('*.yml'))

def test_workflows_validate_against_their_schema():
    "check-jsonschema's vendored GitHub-workflow schema: no network."
    assert [p.name for p in WORKFLOWS] == ['ci.yml', 'pages.yml']
    r = subprocess.run([sys.executable, '-m', 'check_jsonschema', '--builtin-schema', 'vendor.github-workflows',
                        *[str(p.relative_to(ROOT)) for p in WORKFLOWS]], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0 and 'ok -- validation done' in r.stdout, r.stdout + r.stderr

def load_workflow(name):
    w = yaml.safe_load((ROOT/'.github'/'workflows'/name).read_text(encoding='utf-8'))
    w['on'] = w.pop(True, w.get('on'))     # YAML 1.1 reads the key `on` as true
    return w

def steps(w): return [s for j in w['jobs'].values() for s in j.get('steps', [])]

def test_ci_runs_make_test_and_make_docs_on_push_and_pull_request():
    w = load_workflow('ci.yml')
    assert {'push', 'pull_request'} <= set(w['on'])
    runs = [s['run'] for s in steps(w) if 'run' in s]
    assert runs == ['make env', 'make test', 'make docs']
    py = next(s for s in steps(w) if s.get('uses', '').startswith('actions/setup-python@'))
    assert py['with']['python-version'] == '3.11'

def test_pages_publishes_the_site_from_main():
    w = load_workflow('pages.yml')
    assert w['on']['push']['branches'] == ['main']
    assert w['permissions'] == {'contents': 'read', 'pages': 'write', 'id-token': 'write'}
    s = steps(w)
    assert [x['run'] for x in s if 'run' in x] == ['make docs']
    up = next(x for x in s if x.get('uses', '').startswith('actions/upload-pages-artifact@'))
    assert up['with']['path'] == '_docs'
    assert any(x.get('uses', '').startswith('actions/deploy-pages@') for x in s)

@pytest.mark.parametrize('name', [p.name for p in WORKFLOWS])
def test_actions_are_pinned_by_commit(name):
    for s in steps(load_workflow(name)):
        if 'uses' in s: assert re.fullmatch(r'[\w.-]+/[\w.-]+@[0-9a-f]{40}', s['uses']), s['uses']
