"Sphinx configuration of the popnb site: `docs/build_site.py` stages the notebooks into `_proc/src/`, Sphinx renders them into `_docs/`."
from configparser import ConfigParser
from pathlib import Path

_cfg = ConfigParser(delimiters=['='])
_cfg.read(Path(__file__).parents[1]/'settings.ini', encoding='utf-8')
_cfg = _cfg['DEFAULT']

project = _cfg['lib_name']
author = _cfg['author']
copyright = _cfg['copyright']
release = version = _cfg['version']

extensions = ['myst_nb']
# notebooks are rendered as committed: nothing executes while the site builds
nb_execution_mode = 'off'
# show_doc and DataFrame.to_markdown outputs are markdown with tables: parse them as MyST, not bare CommonMark
nb_render_markdown_format = 'myst'
nb_output_stderr = 'show'
nb_merge_streams = True
myst_enable_extensions = ['colon_fence', 'attrs_inline', 'attrs_block', 'deflist']
myst_heading_anchors = 3
exclude_patterns = ['**/.ipynb_checkpoints', 'figures/tables/*.md']
suppress_warnings = []

html_theme = 'pydata_sphinx_theme'
html_title = f'{project} {version}'
html_static_path = ['_static']
html_css_files = ['popnb.css']
html_copy_source = False
html_show_sourcelink = False
html_last_updated_fmt = None
html_theme_options = {
    'navbar_align': 'left',
    'show_toc_level': 2,
    'navigation_with_keys': False,
    'header_links_before_dropdown': 6,
    'secondary_sidebar_items': ['page-toc'],
    'footer_start': ['copyright'],
    'footer_end': [],
    'icon_links': [],
}
html_sidebars = {'index': [], 'figures/README': [], 'contributing': []}
# a page read from file:// cannot fetch another page for a result's summary: list the matching pages only
html_show_search_summary = False
