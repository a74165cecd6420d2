"""Notebook helpers, split by job; :mod:`glmv_ui.notebook` is the public entry point.

``render`` (the :class:`Reply` record and its HTML/Markdown) needs no widget library;
``widget`` holds the ipywidgets chat; ``helpers`` the one-call functions (``ask``, ``load``,
``open_app``); ``samples`` writes small example files. Importing this package imports nothing.
"""
