# Reference run for tests/test_measurement_fiml_robust.py (issue #15: robust CFI / TLI / RMSEA under FIML).
# R 4.2.2, lavaan 0.6-14 (installed on the build machine), Debian bookworm.
# Run from this folder: Rscript reference.R > reference_output.txt
#
# Two incomplete copies of lavaan's HolzingerSwineford1939 (id, school, x1..x9):
# * hs_mcar.csv, written here (MCAR): set.seed(2023); every answer x1..x9 of every row is
#   deleted independently with probability 0.15 (runif(301 * 9), column by column).
# * ../robust_reference/hs_mar.csv (MAR), written by ../robust_reference/reference.R: x1, x4, x7
#   always observed; x2, x3, x5, x6, x8, x9 deleted with probability plogis(-1.5 + 0.8 z), z the
#   standardised marker of the item's factor.
# lavaan's robust indices for missing = "ml" with a scaled test are Zhang & Savalei's (2023)
# FIML-corrected ones ("FIML-C", version V3): lav_fit_fiml_corrected(), called by
# lav_fit_cfi_lavobject() and lav_fit_rmsea_lavobject(); its parts are printed too.
# Every model is fitted twice: with lavaan's defaults (what a user gets; the EM estimates of
# the saturated model stop at em.h1.tol = 1e-5, which moves the FIML-corrected statistic by
# ~4e-5 relative) and with the saturated EM run to convergence ("tight": em.h1.tol = 1e-12).
suppressMessages(library(lavaan))
cat("lavaan", as.character(packageVersion("lavaan")), "\n")
options(width = 200)
HS <- HolzingerSwineford1939[, c("id", "school", paste0("x", 1:9))]
set.seed(2023)
mcar <- HS
for (j in 1:9) mcar[[paste0("x", j)]][runif(nrow(HS)) < 0.15] <- NA
write.csv(mcar, "hs_mcar.csv", row.names = FALSE, na = "")
cat("mcar missing answers", sum(is.na(mcar[, -(1:2)])), "complete rows", sum(complete.cases(mcar)),
    "empty rows", sum(rowSums(!is.na(mcar[, -(1:2)])) == 0), "\n")
mar <- read.csv("../robust_reference/hs_mar.csv")

model <- 'visual =~ x1 + x2 + x3
textual =~ x4 + x5 + x6
speed =~ x7 + x8 + x9'
idx <- c("ntotal", "chisq", "df", "chisq.scaled", "chisq.scaling.factor", "baseline.chisq", "baseline.df",
         "cfi", "tli", "rmsea", "cfi.robust", "tli.robust", "rmsea.robust", "rmsea.ci.lower.robust",
         "rmsea.ci.upper.robust")
show_fit <- function(label, fit) {
  cat("\n==", label, "\n")
  fm <- fitMeasures(fit, idx)
  cat(sprintf("%s %.8f\n", names(fm), unclass(fm)), sep = "")
  fc <- lavaan:::lav_fit_fiml_corrected(fit, version = "V3")
  cat(sprintf("fimlc.%s %.8f\n", names(fc), unlist(fc)), sep = "")
}
steps <- list(configural = "", metric = "loadings", scalar = c("loadings", "intercepts"))
for (tight in c(FALSE, TRUE)) {
  tol <- if (tight) 1e-12 else 1e-5
  tag <- if (tight) "tight" else "default"
  for (d in c("mcar", "mar")) {
    dat <- get(d)
    show_fit(paste(d, "single MLR", tag), cfa(model, data = dat, missing = "ml", estimator = "MLR",
                                              em.h1.tol = tol, em.h1.iter.max = 100000))
    for (s in names(steps)) {
      show_fit(paste(d, s, "MLR", tag), cfa(model, data = dat, missing = "ml", estimator = "MLR",
                                            group = "school", group.equal = steps[[s]],
                                            em.h1.tol = tol, em.h1.iter.max = 100000))
    }
  }
}
# complete data with missing = "ml": FIML-C is then Satorra-Bentler's scaling with the
# unstructured (sample-moment) weight matrix
show_fit("complete single MLR", cfa(model, data = HS, missing = "ml", estimator = "MLR"))
cat("\n== complete single MLM unstructured\n")
fm <- fitMeasures(cfa(model, data = HS, estimator = "MLM", h1.information = "unstructured", meanstructure = TRUE),
                  c("chisq.scaling.factor", "cfi.robust", "tli.robust", "rmsea.robust"))
cat(sprintf("%s %.8f\n", names(fm), unclass(fm)), sep = "")
cat("\n== MLM with missing = ml\n")
res <- try(cfa(model, data = mar, missing = "ml", estimator = "MLM"), silent = TRUE)
cat(if (inherits(res, "try-error")) as.character(res) else "fitted\n")
