"""Check a built site: every `<img>` src and internal link (`<a href>`, `<link href>`, `<script src>`) in its
HTML resolves to a file in the site, and a link's `#fragment` to an id on the page it names.

    python docs/check_site.py [_docs]
"""
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

_ATTRS = {'img': 'src', 'a': 'href', 'link': 'href', 'script': 'src', 'source': 'src', 'iframe': 'src'}


class _Page(HTMLParser):
    "The ids and the (tag, url) references of one HTML page."
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids, self.refs = set(), []

    def handle_starttag(self, tag, attrs):
        d = dict(attrs)
        if d.get('id'): self.ids.add(d['id'])
        if tag == 'a' and d.get('name'): self.ids.add(d['name'])
        url = d.get(_ATTRS.get(tag, ''))
        if url is not None: self.refs.append((tag, url))

    handle_startendtag = handle_starttag


def _parse(path, cache):
    if path not in cache:
        p = _Page(); p.feed(path.read_text(encoding='utf-8', errors='replace')); cache[path] = p
    return cache[path]


def check_site(site):
    "A list of problems ('page: <tag> url -> why'); empty when every image and internal link resolves."
    site = Path(site).resolve()
    pages = sorted(site.rglob('*.html'))
    if not (site/'index.html').exists(): return [f'{site}: no index.html (was the site built?)']
    cache, problems = {}, []
    for page in pages:
        if page.relative_to(site).parts[0] in ('_shots', '_static', '_sources'): continue   # not pages of the site
        for tag, url in _parse(page, cache).refs:
            u = urlsplit(url)
            if u.scheme in ('http', 'https', 'mailto', 'data', 'javascript') or u.netloc:
                if tag == 'img' and u.scheme in ('http', 'https'):
                    problems.append(f'{page.relative_to(site)}: <img> {url} -> an image from the network (offline readers see none)')
                continue
            if tag == 'img' and not u.path: problems.append(f'{page.relative_to(site)}: <img> with an empty src'); continue
            target = (page.parent/unquote(u.path)).resolve() if u.path else page
            rel = page.relative_to(site)
            if site not in target.parents and target != site:
                problems.append(f'{rel}: <{tag}> {url} -> outside the site'); continue
            if target.is_dir(): target = target/'index.html'
            if not target.is_file():
                problems.append(f'{rel}: <{tag}> {url} -> no such file'); continue
            if u.fragment and target.suffix == '.html' and unquote(u.fragment) not in _parse(target, cache).ids:
                problems.append(f'{rel}: <{tag}> {url} -> no id "{u.fragment}" on {target.relative_to(site)}')
    return problems


if __name__ == '__main__':
    site = sys.argv[1] if len(sys.argv) > 1 else '_docs'
    problems = check_site(site)
    print('\n'.join(problems) or f'{site}: every image and internal link resolves')
    sys.exit(1 if problems else 0)
