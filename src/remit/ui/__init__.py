"""remit's pictures and pages: the provenance browser (`remit server`), call-graph drawings
(`remit viz`) and the time and cost report (`remit report`).

Installed with the ``ui`` extra (``pip install 'remit[ui]'``); ``import remit`` never imports
this package. Everything here reads the provenance store and never writes to it.
"""
