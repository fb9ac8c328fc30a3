# Reference run for tests/test_measurement_lavaan.py (issue #15).
# R 4.2.2, lavaan 0.6-14 (the version installed on the build machine; the published figures in
# tests/test_measurement_robust.py are lavaan 0.6-17's), Debian bookworm.
# Run from this folder: Rscript reference.R > reference_output.txt
#
# hs_mar.csv: lavaan's HolzingerSwineford1939 (id, school, x1..x9) with a seeded MAR deletion
# pattern, written by this script so Python reads the exact same rows:
#   set.seed(15); x1, x4, x7 (and school) are always observed; every other item x_j of a
#   row is deleted with probability plogis(-1.5 + 0.8 * z), z the standardised always-observed
#   marker of its factor (x1 for x2, x3; x4 for x5, x6; x7 for x8, x9): missingness depends on
#   observed answers only (MAR), about 20 % of these answers go missing.
suppressMessages(library(lavaan))
cat("lavaan", as.character(packageVersion("lavaan")), "\n")
options(width = 200)
HS <- HolzingerSwineford1939[, c("id", "school", paste0("x", 1:9))]
set.seed(15)
mar <- HS
for (j in c(2, 3, 5, 6, 8, 9)) {
  marker <- HS[[paste0("x", 3 * ((j - 1) %/% 3) + 1)]]
  p <- plogis(-1.5 + 0.8 * as.numeric(scale(marker)))
  mar[[paste0("x", j)]][runif(nrow(HS)) < p] <- NA
}
write.csv(mar, "hs_mar.csv", row.names = FALSE, na = "")
cat("missing answers", sum(is.na(mar)), "complete rows", sum(complete.cases(mar)), "\n")

model <- 'visual =~ x1 + x2 + x3
textual =~ x4 + x5 + x6
speed =~ x7 + x8 + x9'
idx <- c("npar", "chisq", "df", "pvalue", "chisq.scaled", "df.scaled", "pvalue.scaled", "chisq.scaling.factor",
         "baseline.chisq", "baseline.df", "baseline.chisq.scaled", "baseline.chisq.scaling.factor",
         "cfi", "tli", "cfi.scaled", "tli.scaled", "cfi.robust", "tli.robust",
         "rmsea", "rmsea.ci.lower", "rmsea.ci.upper", "rmsea.scaled", "rmsea.ci.lower.scaled",
         "rmsea.ci.upper.scaled", "rmsea.robust", "rmsea.ci.lower.robust", "rmsea.ci.upper.robust", "srmr")
show_fit <- function(label, fit) {
  cat("\n==", label, "\n")
  fm <- fitMeasures(fit, idx)
  cat(sprintf("%s %.8f\n", names(fm), unclass(fm)), sep = "")
}
show_par <- function(label, fit) {
  cat("\n== parameters", label, "\n")
  pe <- parameterEstimates(fit)
  g <- if (is.null(pe$group)) 1 else pe$group
  cat(sprintf("%s %s %s %d %.8f %.8f\n", pe$lhs, pe$op, pe$rhs, g, pe$est, pe$se), sep = "")
}

# (a) robust indices, complete data, single group and by school (configural)
for (est in c("MLR", "MLM")) {
  show_fit(paste("single", est), cfa(model, data = HS, estimator = est))
  show_fit(paste("configural", est), cfa(model, data = HS, estimator = est, group = "school"))
}
show_par("single MLR", cfa(model, data = HS, estimator = "MLR"))

# (b) FIML, (c) MLR with FIML
fiml <- cfa(model, data = mar, missing = "ml")
show_fit("fiml ML", fiml)
show_par("fiml ML", fiml)
fimlr <- cfa(model, data = mar, missing = "ml", estimator = "MLR")
show_fit("fiml MLR", fimlr)
show_par("fiml MLR", fimlr)

# (d) modification indices under FIML (lavaan: observed information by default with missing = "ml")
cat("\n== modindices fiml ML\n")
mi <- modindices(fiml, sort. = TRUE)
cat(sprintf("%s %s %s %.8f %.8f %.8f\n", mi$lhs, mi$op, mi$rhs, mi$mi, mi$epc, mi$sepc.all), sep = "")
cat("\n== modindices fiml ML, expected information\n")
fimle <- cfa(model, data = mar, missing = "ml", information = "expected")
mi <- modindices(fimle, sort. = TRUE)
cat(sprintf("%s %s %s %.8f %.8f %.8f\n", mi$lhs, mi$op, mi$rhs, mi$mi, mi$epc, mi$sepc.all), sep = "")

# (e) partial invariance: scalar with the x3 intercept free, ML and MLR
for (est in c("ML", "MLR")) {
  pf <- cfa(model, data = HS, group = "school", estimator = est, group.equal = c("loadings", "intercepts"),
            group.partial = c("x3~1"))
  show_fit(paste("partial scalar", est), pf)
  if (est == "ML") { cat("\n== groups\n", lavInspect(pf, "group.label"), "\n"); show_par("partial scalar ML", pf) }
}
# score tests of the equality constraints of the scalar model (lavTestScore, univariate;
# expected information by default), complete data and FIML
show_score <- function(label, fit) {
  cat("\n== lavTestScore", label, "\n")
  pt <- parTable(fit)
  uni <- lavTestScore(fit)$uni
  name <- function(plabel) { i <- match(plabel, pt$plabel); paste0(pt$lhs[i], pt$op[i], pt$rhs[i]) }
  cat(sprintf("%s %d %.8f\n", name(uni$lhs), pt$group[match(uni$rhs, pt$plabel)], uni$X2), sep = "")
}
show_score("scalar ML", cfa(model, data = HS, group = "school", group.equal = c("loadings", "intercepts")))
show_score("scalar fiml ML", cfa(model, data = mar, group = "school", group.equal = c("loadings", "intercepts"),
                                 missing = "ml"))
