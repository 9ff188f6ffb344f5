"""Churn risk (DESIGN §8): every scored customer, every day, a score from explainable signals.

- ``config``: the ``churn:`` section of daypulse.yml (its model and the section check the loader
  runs, every problem at its line);
- ``population``: who is scored on a day (the saas pack's ``active_subscribers``, or the
  project's metric of that name);
- ``signals``: one set-based query per signal source, for every customer and every day of a range;
- ``sources``: the tables and columns those queries read, checked against the live source;
- ``score``: risks, rescaled weights, points, the score, levels and the export record (pure);
- ``alerts``: which alerts open, stay open and clear, from consecutive days (pure);
- ``batch``: a range scored from the source, the seam the store, CLI and API build on.

Nothing here is imported at start-up: the modules that need Ibis import it themselves.
"""
