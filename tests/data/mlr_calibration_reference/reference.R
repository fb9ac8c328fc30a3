# Reference run for tests/test_measurement_mlr_calibration.py (issue #15: is the MLR rejection
# rate of the robust calibration ours or the method's?).
# R 4.2.2, lavaan 0.6-14, Debian bookworm. Run from this folder:
#   Rscript reference.R > reference_output.txt
#
# calibration_reps.csv: the first 5 data sets of the calibration in
# benchmarks/bench_measurement_robust.py (engagement_kit.measurement.calibration
# .simulate_skewed_ordinal, n = 400, six 7-point items, numpy default_rng(20261201)), written by
# Python; the test regenerates them and checks they are these rows. A true one-factor model,
# lavaan's defaults for each estimator (MLR: Yuan-Bentler Mplus variant, observed information,
# observed.information = "hessian"), plus MLR with information = "expected".
suppressMessages(library(lavaan))
cat("lavaan", as.character(packageVersion("lavaan")), "\n")
d <- read.csv("calibration_reps.csv")
model <- "f =~ i1 + i2 + i3 + i4 + i5 + i6"
variants <- list(MLR = list(estimator = "MLR"), MLR_expected = list(estimator = "MLR", information = "expected"),
                 MLM = list(estimator = "MLM"))
cat("rep variant chisq df chisq.scaling.factor chisq.scaled pvalue.scaled\n")
for (r in sort(unique(d$rep))) {
  x <- d[d$rep == r, paste0("i", 1:6)]
  for (v in names(variants)) {
    fit <- do.call("cfa", c(list(model = model, data = x), variants[[v]]))
    fm <- fitMeasures(fit, c("chisq", "df", "chisq.scaling.factor", "chisq.scaled", "pvalue.scaled"))
    cat(sprintf("%d %s %.10g %d %.10g %.10g %.10g\n", r, v, fm[["chisq"]], as.integer(fm[["df"]]),
                fm[["chisq.scaling.factor"]], fm[["chisq.scaled"]], fm[["pvalue.scaled"]]))
  }
}
