# Local cross-check of the published Mplus output (R 4.2.2, lavaan 0.6-14, Debian bookworm).
# Mplus User's Guide example 5.10 (threshold structure CFA for categorical factor indicators),
# data ex5.10.dat as in github.com/lucdw/lavaan-mplus (Categorical/ex5.10.dat), here ex5_10.csv.
# The model and the lavaan syntax are those of lucdw/lavaan-mplus Categorical/ex5.10.WLSMV.R.
# Run from this folder: Rscript reference.R > reference_output.txt
suppressMessages(library(lavaan))
Data <- read.csv("ex5_10.csv")
model <- '
f1 =~ u1a + 1*u1b + 1*u1c
f2 =~ u2a + 1*u2b + 1*u2c
u1a + u1b + u1c | a*t1
u2a + u2b + u2c | b*t1
'
for (mim in c("lavaan", "Mplus")) {
  fit <- sem(model, data = Data, estimator = "WLSMV", meanstructure = FALSE, ordered = names(Data), mimic = mim)
  cat("== mimic =", mim, "\n")
  print(round(unclass(fitMeasures(fit, c("chisq", "df", "pvalue", "chisq.scaled", "pvalue.scaled",
    "chisq.scaling.factor", "chisq.shift.parameters", "baseline.chisq", "baseline.df", "baseline.chisq.scaled",
    "cfi", "tli", "cfi.scaled", "tli.scaled", "rmsea", "rmsea.scaled", "rmsea.ci.lower.scaled",
    "rmsea.ci.upper.scaled", "srmr"))), 7))
  pe <- parameterEstimates(fit)
  pe <- pe[pe$op == "|" | (pe$op == "~~" & pe$lhs %in% c("f1", "f2")), ]
  print(data.frame(lhs = pe$lhs, op = pe$op, rhs = pe$rhs, est = sprintf("%.7f", pe$est), se = sprintf("%.7f", pe$se)))
  ss <- standardizedSolution(fit)
  ss <- ss[ss$op == "=~" | (ss$op == "~~" & ss$lhs == "f1" & ss$rhs == "f2"), ]
  print(data.frame(lhs = ss$lhs, op = ss$op, rhs = ss$rhs, std = sprintf("%.7f", ss$est.std), se = sprintf("%.7f", ss$se)))
}
