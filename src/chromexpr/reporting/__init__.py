"""The report core, which knows no experiment: the one Jinja2 environment and the shared macros
(``environment``, ``templates/macros.html.j2``), the page that holds every section (``page``, ``templates/
page.html.j2``), provenance, the files a section writes (``files``), how numbers are shown (``formatting``),
the notes above numbers that cannot mean what the paper's mean (``notes``), figure file names (``manifest``).

Each experiment's section is built by its package (``chromexpr.experiments.<name>.report``).
"""
