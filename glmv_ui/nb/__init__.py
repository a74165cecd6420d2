"""Notebook helpers, split by job; :mod:`glmv_ui.notebook` is the public entry point.

``render`` (the :class:`Reply` record and its HTML/Markdown) needs no widget library;
``widget`` holds the ipywidgets chat; ``helpers`` the one-call functions (``ask``, ``load``,
``open_app``); ``samples`` writes small example files; ``batch`` runs one prompt over many
files (resumable, exported with a run record), ``compare`` lays settings or models side by side,
``sent`` shows the prompt and media as the model gets them, ``metrics`` scores boxes against
ground truth. Importing this package imports nothing.
"""
