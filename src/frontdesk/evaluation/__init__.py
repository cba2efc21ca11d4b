"""``frontdesk eval``: run labelled customer messages through the product and score them.

* :mod:`frontdesk.evaluation.helios` reads the benchmark files (customers, teams, labelled
  messages), checking every line;
* :mod:`frontdesk.evaluation.scoring` turns what happened to each message into the figures
  (pure functions);
* :mod:`frontdesk.evaluation.run` builds the workspace and drives the product.

See docs/evaluation.md.
"""
