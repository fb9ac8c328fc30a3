"""Statistics shared by the analyses: one home for each estimator.

Modules (named after what they hold):

* :mod:`.proportions` -- the Wilson interval of a binomial proportion;
* :mod:`.means` -- t and normal intervals, Welch/z differences of two means with
  their relative difference, the delta-method ratio of means;
* :mod:`.multitest` -- multiplicity correction, one vocabulary
  (``holm``, ``fdr_bh``, ``bonferroni``, ``none``);
* :mod:`.survival` -- Kaplan-Meier, median survival, log-rank and Cox.

Nothing is re-exported here, so importing one module stays cheap:

>>> from engagement_kit.stats.multitest import METHODS
>>> METHODS
('holm', 'fdr_bh', 'bonferroni', 'none')
"""
