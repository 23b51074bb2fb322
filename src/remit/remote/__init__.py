"""What the scheduler side and the remote side of a job share: the scratch layout
(``scratch.py``), code tarballs (``packaging.py``) and running one task (``oneshot.py``).
"""
