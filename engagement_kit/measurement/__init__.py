"""Measuring engagement dimensions: scale scores, reliability, factor structure, invariance.

The entry point is :func:`dimensions` (:mod:`.analysis`): one call returns a frozen
:class:`DimensionsResult` with ``tables()``, ``write(folder)`` and ``conclusions()``.
Building blocks: :mod:`.scales` (scoring, validation), :mod:`.reliability` (alpha, omega,
item statistics, omega hierarchical), :mod:`.ordinal` (polychoric correlations, ordinal alpha,
DWLS/WLSMV CFA of ordinal items), :mod:`.factors` (CFA fit, loadings, validity, EFA), :mod:`.invariance`
(configural / metric / scalar, partial invariance), :mod:`.sem` (the multi-group ML / FIML
estimator), :mod:`.robust` (MLM / MLR scaled tests and robust indices), :mod:`.modification`
(modification indices), :mod:`.missing` (missing-data patterns). The survey
joined to outcomes is loaded with :func:`engagement_kit.io.load_analysis_table` (``base="survey"``).

CSV outputs of ``DimensionsResult.write`` (the column names are an interface)
-------------------------------------------------------------------------
* ``reliability.csv``: ``scale, n_items, n, alpha, alpha_ci_low, alpha_ci_high, omega,
  ordinal_alpha`` (n = complete rows of the scale; alpha CI by Feldt; omega from a one-factor
  ML model, NaN with a warning for two-item scales; ordinal alpha for scales of ordinal items).
* ``item_statistics.csv``: ``scale, item, mean, sd, item_total_r, alpha_if_deleted``.
* ``cfa_fit.csv``: ``n, chi2, df, p_value, cfi, tli, rmsea, rmsea_ci_low, rmsea_ci_high, srmr``
  (lavaan conventions, see :mod:`.factors`), then ``chi2_scaled, df_scaled, scaling_factor,
  cfi_robust, tli_robust, rmsea_robust, rmsea_robust_ci_low, rmsea_robust_ci_high, estimator,
  missing`` (NaN for plain ML; MLM / MLR: :mod:`.robust`, with FIML Zhang & Savalei's
  FIML-corrected robust indices; WLSMV for ordinal items: :mod:`.ordinal`).
* ``thresholds.csv``: ``item, threshold, estimate, se, n, suppressed`` (WLSMV only).
* ``omega.csv``: ``n, n_items, n_factors, omega_h, omega_h_asymptotic, omega_total, alpha`` (the
  instrument, as ``psych::omega``; with three scales or more).
* ``loadings.csv``: ``scale, item, loading, std_loading, std_se, ci_low, ci_high, residual_var``
  (unstandardised loading with the first item of each scale fixed to 1; standardised
  loading with a delta-method CI; residual variance of the item).
* ``validity.csv``: ``scale, composite_reliability, ave, sqrt_ave, max_factor_correlation,
  fornell_larcker_ok, max_htmt, htmt_ok``.
* ``invariance.csv``: ``model, n, n_groups, chi2, df, p_value, cfi, tli, rmsea, rmsea_ci_low,
  rmsea_ci_high, srmr, delta_chi2, delta_df, delta_p_value, delta_cfi, delta_rmsea, holds, verdict``,
  then the robust columns of ``cfa_fit.csv``, ``chi2_diff_scaled, p_value_scaled`` (Satorra-Bentler
  2001 scaled difference) and ``freed`` (parameters left free across groups).
* ``modification_indices.csv``: ``lhs, op, rhs, group, kind, mi, epc, sepc_all, p_value`` (the 20
  largest, lavaan's ``modindices`` conventions).
* ``missing_patterns.csv``: ``pattern, n_missing_items, n, share`` (rare patterns pooled).
* ``scale_means.csv``: ``group, scale, n, mean, sd`` (scale scores by group).
* ``hypotheses.csv``: ``id, statement, model, outcome, predictor, term, expected, n, estimate, se,
  ci_low, ci_high, p_value, p_adjusted, std_effect, vif, verdict`` (see :mod:`engagement_kit.hypotheses`).
* ``mediation.csv``: ``treatment, mediator, outcome, n, a, b, c, c_prime, indirect, indirect_se,
  indirect_ci_low, indirect_ci_high, proportion_mediated, a_p_value, b_p_value, c_p_value,
  c_prime_p_value, n_boot``.
* ``efa.csv``: ``kmo, bartlett_chi2, bartlett_p, n_factors``; ``efa_loadings.csv``: ``item, kmo,
  factor_1 .. factor_k``.

Tables with a count (``invariance, scale_means, hypotheses, mediation, missing_patterns``) append ``suppressed``:
a row describing fewer than ``min_cell_size`` respondents keeps only its labels.
"""

from ..io import add_promoter
from .analysis import DimensionsResult, dimensions
from .factors import (
    CFAResult,
    EFAResult,
    cfa,
    efa,
    fit_indices,
    htmt,
    parallel_analysis,
    rmsea_ci,
    srmr,
    validity,
)
from .invariance import (
    INVARIANCE_COLUMNS,
    INVARIANCE_ROBUST_COLUMNS,
    measurement_invariance,
)
from .missing import missing_patterns
from .modification import modification_indices
from .ordinal import cfa_ordinal, ordinal_alpha, polychoric_matrix, polychoric_table
from .reliability import cronbach_alpha, item_statistics, omega_hierarchical, omega_total, reliability
from .scales import (
    MeasurementWarning,
    answer_shares,
    check_scales,
    prepare_items,
    reverse_score,
    scale_means,
    score_scales,
)
from .sem import NotIdentifiedError

__all__ = [
    "dimensions", "DimensionsResult", "answer_shares", "add_promoter", "CFAResult", "EFAResult", "cfa", "efa",
    "fit_indices", "htmt", "parallel_analysis", "rmsea_ci", "srmr", "validity", "INVARIANCE_COLUMNS", "INVARIANCE_ROBUST_COLUMNS", "measurement_invariance",
    "missing_patterns", "modification_indices",
    "cronbach_alpha", "item_statistics", "omega_total", "omega_hierarchical", "reliability", "cfa_ordinal",
    "ordinal_alpha", "polychoric_matrix", "polychoric_table", "MeasurementWarning", "check_scales",
    "prepare_items", "reverse_score", "scale_means", "score_scales", "NotIdentifiedError",
]
