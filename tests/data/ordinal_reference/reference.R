# Reference run for tests/test_measurement_ordinal.py (R 4.2.2, lavaan 0.6-14, psych 2.2.9, Debian bookworm).
# hs9_ordinal.csv: lavaan's documented lavCor example, HolzingerSwineford1939 x1..x9 cut into 3 classes
# (as.data.frame(lapply(HS9, cut, 3, labels = FALSE))), the data shipped with semopy:
#   hs <- read.csv("semopy/examples/holzinger_swineford39_data.csv")
#   write.csv(as.data.frame(lapply(hs[, paste0("x", 1:9)], cut, 3, labels = FALSE)), "hs9_ordinal.csv", row.names = FALSE)
# Run from this folder: Rscript reference.R > reference_output.txt
suppressMessages({library(lavaan); library(psych)})
HS9ord <- read.csv("hs9_ordinal.csv")
model <- 'visual =~ x1 + x2 + x3
textual =~ x4 + x5 + x6
speed =~ x7 + x8 + x9'
fit <- cfa(model, data = HS9ord, ordered = names(HS9ord), estimator = "WLSMV")
fm <- fitMeasures(fit, c("chisq", "df", "pvalue", "chisq.scaled", "df.scaled", "pvalue.scaled", "chisq.scaling.factor", "chisq.shift.parameters", "baseline.chisq", "baseline.df", "cfi", "tli", "cfi.scaled", "tli.scaled", "cfi.robust", "tli.robust", "rmsea", "rmsea.ci.lower", "rmsea.ci.upper", "rmsea.scaled", "rmsea.robust", "rmsea.ci.lower.robust", "rmsea.ci.upper.robust", "srmr", "srmr_bentler"))
print(round(unclass(fm), 7))
pe <- standardizedSolution(fit)
pe <- pe[pe$op %in% c("=~", "~~") & pe$lhs != pe$rhs | pe$op == "=~", ]
print(data.frame(lhs = pe$lhs, op = pe$op, rhs = pe$rhs, std = sprintf("%.7f", pe$est.std), se = sprintf("%.7f", pe$se)))
th <- lavInspect(fit, "sampstat")$th
print(sprintf("%.7f", th))
R <- unclass(lavInspect(fit, "sampstat")$cov)
print(sprintf("%.7f", R[lower.tri(R)]))
tab <- matrix(c(13,69,41,6,113,132,0,22,104), 3, 3)
idx <- which(tab > 0, arr.ind = TRUE)
xy <- idx[rep(seq_len(nrow(idx)), tab[idx]), ]
pc <- polychoric(as.data.frame(xy), correct = 0)
print(sprintf("%.7f", pc$rho[1, 2])); print(pc$tau)
om <- omega(Thurstone, plot = FALSE)
print(om)
cat(sprintf("omega_h %.7f alpha %.7f omega_t %.7f omega_lim %.7f\n", om$omega_h, om$alpha, om$omega.tot, om$omega.lim))

print(round(unclass(fitMeasures(fit, c('rmsea.ci.lower.scaled', 'rmsea.ci.upper.scaled'))), 7))
print(sprintf("%.6f", diag(lavInspect(fit, "gamma"))))
pc <- polychoric(HS9ord[, c("x4", "x5", "x6")], correct = 0)
cat(sprintf("ordinal alpha x4-x6 (psych::alpha of the polychoric matrix): %.7f\n", alpha(pc$rho)$total$raw_alpha))
