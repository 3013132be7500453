"""Look at the built site as a reader does: headless Chromium loads its pages from `file://`, fails when an image
did not load (`naturalWidth == 0`) or the search page finds nothing, and saves a PNG of each page.

    python docs/check_browser.py [--site _docs] [--shots _docs/_shots] [--query spectrogram]

Needs the Debian package `chromium` (or CHROMIUM=/path/to/chrome); talks to it over the DevTools protocol
with `websocket-client`. `make docs-check` runs it after `make docs`.
"""
import argparse, base64, json, os, shutil, subprocess, sys, tempfile, time
from pathlib import Path
from urllib.request import Request, urlopen

FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync',
         '--hide-scrollbars', '--remote-debugging-port=0', '--remote-allow-origins=*']
# what a page reports once it has loaded: its images that did not load, how many there are, its height
_PAGE_JS = """(async () => {
  const imgs = [...document.images];
  imgs.forEach(i => { i.loading = 'eager'; });
  await Promise.all(imgs.map(i => i.complete ? null : new Promise(r => { i.onload = i.onerror = r; })));
  return JSON.stringify({n: imgs.length, broken: imgs.filter(i => i.naturalWidth === 0).map(i => i.getAttribute('src')),
                         height: Math.ceil(document.documentElement.scrollHeight), title: document.title});
})()"""
# the number of results once Sphinx's search says it has finished, else null
_SEARCH_JS = """(() => { const s = document.querySelector('#search-results .search-summary');
  return s && /finished/.test(s.textContent) ? document.querySelectorAll('#search-results li').length : null; })()"""


class Chromium:
    "A headless Chromium with a fresh profile, and one page driven over the DevTools protocol."
    def __init__(self, exe, width=1280, height=900):
        import websocket
        self.tmp = tempfile.mkdtemp(prefix='popnb-chromium-')
        self.proc = subprocess.Popen([exe, *FLAGS, f'--user-data-dir={self.tmp}', f'--window-size={width},{height}',
                                      'about:blank'], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file, t0 = Path(self.tmp)/'DevToolsActivePort', time.time()
        while not (port_file.exists() and port_file.read_text().strip()):
            if self.proc.poll() is not None or time.time() - t0 > 30:
                self.close(); sys.exit(f'docs-check: {exe} did not start (exit {self.proc.returncode})')
            time.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        page = json.load(urlopen(Request(f'http://127.0.0.1:{port}/json/new?about:blank', method='PUT'), timeout=10))
        self.ws, self.n, self.width, self.height = websocket.create_connection(page['webSocketDebuggerUrl'], timeout=60), 0, width, height
        self.call('Page.enable'); self.call('Runtime.enable')

    def call(self, method, **params):
        "Send one DevTools command and return its result (events that arrive meanwhile are dropped)."
        self.n += 1
        self.ws.send(json.dumps({'id': self.n, 'method': method, 'params': params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get('id') == self.n:
                if 'error' in msg: raise RuntimeError(f"{method}: {msg['error']}")
                return msg['result']

    def eval(self, js):
        r = self.call('Runtime.evaluate', expression=js, awaitPromise=True, returnByValue=True)
        if 'exceptionDetails' in r: raise RuntimeError(f"page script failed: {r['exceptionDetails']}")
        return r['result'].get('value')

    def load(self, url, timeout=30):
        "Open `url` and wait for its load event."
        self.call('Page.navigate', url=url)
        t0 = time.time()
        while self.eval('document.readyState') != 'complete':
            if time.time() - t0 > timeout: raise TimeoutError(f'{url} did not load in {timeout} s')
            time.sleep(0.1)

    def screenshot(self, path, height, max_height=12000):
        "Save a PNG of the whole page (up to `max_height` CSS pixels)."
        h = max(self.height, min(height, max_height))
        self.call('Emulation.setDeviceMetricsOverride', width=self.width, height=h, deviceScaleFactor=1, mobile=False)
        png = self.call('Page.captureScreenshot', format='png', captureBeyondViewport=False)['data']
        self.call('Emulation.setDeviceMetricsOverride', width=self.width, height=self.height, deviceScaleFactor=1, mobile=False)
        Path(path).write_bytes(base64.b64decode(png))

    def close(self):
        try: self.ws.close()
        except Exception: pass
        if self.proc.poll() is None:
            self.proc.terminate()
            try: self.proc.wait(10)
            except subprocess.TimeoutExpired: self.proc.kill()
        shutil.rmtree(self.tmp, ignore_errors=True)


def pages_to_check(site):
    "The index, figures/README, every paper page and every library page of the site."
    site = Path(site)
    pages = [site/'index.html', site/'figures'/'README.html']
    pages += sorted((site/'paper').glob('*.html')) + sorted((site/'api').glob('*.html'))
    return [p for p in pages if p.exists()]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--site', default='_docs')
    ap.add_argument('--shots', default=None, help='folder for the PNGs (default: SITE/_shots)')
    ap.add_argument('--query', default='spectrogram', help='a word the search page must find')
    a = ap.parse_args(argv)
    site = Path(a.site).resolve()
    if not (site/'index.html').exists(): sys.exit(f'docs-check: {a.site}/index.html missing: run make docs first')
    exe = os.environ.get('CHROMIUM') or shutil.which('chromium') or shutil.which('chromium-browser')
    if not exe: sys.exit('docs-check: no chromium (apt-get install -y chromium, or set CHROMIUM=/path/to/chrome)')
    shots = Path(a.shots) if a.shots else site/'_shots'
    shots.mkdir(parents=True, exist_ok=True)
    problems, browser = [], Chromium(exe)
    try:
        for page in pages_to_check(site):
            rel = page.relative_to(site).as_posix()
            browser.load(page.as_uri())
            info = json.loads(browser.eval(_PAGE_JS))
            png = shots/(rel.replace('/', '__').removesuffix('.html') + '.png')
            browser.screenshot(png, info['height'])
            problems += [f'{rel}: image did not load: {src}' for src in info['broken']]
            print(f"{rel}: {info['n']} image(s), {len(info['broken'])} broken, {info['height']} px -> {png.relative_to(Path.cwd()) if png.is_relative_to(Path.cwd()) else png}")
        browser.load((site/'search.html').as_uri() + f'?q={a.query}')
        t0, found = time.time(), None
        while time.time() - t0 < 20 and (found := browser.eval(_SEARCH_JS)) is None: time.sleep(0.2)
        browser.screenshot(shots/'search.png', json.loads(browser.eval(_PAGE_JS))['height'], max_height=2000)
        print(f'search.html?q={a.query}: {found} result(s)')
        if not found: problems.append(f'search.html?q={a.query}: no result from file://')
    finally:
        browser.close()
    if problems: sys.exit('docs-check: ' + '\n  '.join(['problems:', *problems]))
    print(f'docs-check: every image loaded; screenshots in {shots}')


if __name__ == '__main__': main()
