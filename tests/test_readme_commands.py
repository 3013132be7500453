"""Every command the README shows works as written: each is parsed and checked; those that fit the budget run at smoke scale
(in test_paper_reproduction.py, beside the tests that share their runs)."""
import os, re, shlex, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT/'README.md').read_text(encoding='utf-8')

def commands() -> list:
    "The shell commands of README.md: lines of its ```sh blocks and inline `papermill …` / `popnb …` spans."
    out = []
    for block in re.findall(r'```sh\n(.*?)```', README, re.S):
        out += [l.split('  #')[0].strip() for l in block.splitlines() if l.strip() and not l.startswith('#')]
    out += [c for c in re.findall(r'`((?:papermill|popnb|make) [^`]+)`', README.replace('\n', ' '))]
    placeholder = lambda c: any(t.isalpha() and t.isupper() for t in shlex.split(c))   # `popnb COMMAND --help`
    return sorted({c for c in out if not placeholder(c)})

CMDS = commands()

def test_readme_shows_commands():
    assert any(c.startswith('papermill ') for c in CMDS) and any(c.startswith('popnb ') for c in CMDS)

@pytest.mark.parametrize('cmd', [c for c in CMDS if c.startswith('popnb ')])
def test_popnb_command_parses(cmd):
    from popnb.cli import parser
    a = parser().parse_args(shlex.split(cmd)[1:])       # an unknown option or a bad choice exits here
    assert callable(a.func)

@pytest.mark.parametrize('cmd', [c for c in CMDS if c.startswith('papermill ')])
def test_papermill_command_names_a_notebook_and_its_parameters(cmd):
    from popnb.runner import declared_params
    args = shlex.split(cmd)
    nb = ROOT/args[1]
    assert nb.is_file(), f'{args[1]} does not exist'
    assert args[args.index('--cwd') + 1] == nb.parent.relative_to(ROOT).as_posix(), 'papermill runs a notebook in its own folder'
    decl = declared_params(nb)
    for i, a in enumerate(args):
        if a in ('-p', '-y'): assert args[i + 1] in decl, f'{nb.name} declares no parameter {args[i + 1]!r}'

@pytest.mark.parametrize('target', sorted({c.split()[1] for c in CMDS if c.startswith('make ')}))
def test_make_target_exists(target):
    assert re.search(rf'^{re.escape(target)}:', (ROOT/'Makefile').read_text(), re.M), target

