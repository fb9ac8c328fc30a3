# Per-replication scaled statistics of lavaan on the robust calibration's data sets (benchmarks/mlr_vs_lavaan.py).
# Usage: Rscript mlr_vs_lavaan.R DATA.csv OUT.csv [VARIANTS]   (DATA: columns rep, i1..i6; VARIANTS e.g. mlr,mlm)
# mlr: estimator = "MLR" (lavaan's defaults: Yuan-Bentler Mplus variant, observed information,
# observed.information = "hessian"); mlrexp: the same with information = "expected"; mlm:
# estimator = "MLM". lavaan 0.6-14 refuses information = "first.order" with a robust test, so
# the first-order variant is built from the MLR fit's own traces: with E = B0 (first-order
# information) tr(E^-1 B0) = npar, so c_fo = (trace.h1 - npar) / df.
suppressMessages(library(lavaan))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1])
model <- "f =~ i1 + i2 + i3 + i4 + i5 + i6"
variants <- list(mlr = list(estimator = "MLR"), mlrexp = list(estimator = "MLR", information = "expected"),
                 mlm = list(estimator = "MLM"))
if (length(args) > 2) variants <- variants[strsplit(args[3], ",")[[1]]]
rows <- list()
for (r in sort(unique(d$rep))) {
  x <- d[d$rep == r, paste0("i", 1:6)]
  row <- c(rep = r)
  for (v in names(variants)) {
    fit <- do.call("cfa", c(list(model = model, data = x), variants[[v]]))
    fm <- fitMeasures(fit, c("chisq", "df", "npar", "chisq.scaling.factor", "chisq.scaled", "pvalue.scaled"))
    row[paste0(v, c("_chisq", "_c", "_t", "_p"))] <- unclass(fm)[c(1, 4, 5, 6)]
    if (v == "mlr") {
      h1 <- attr(fit@test[[2]]$stat, "h1")
      c_fo <- (h1 - fm[["npar"]]) / fm[["df"]]
      row[c("mlr_trace_h1", "mlr_trace_h0", "mlrfo_c", "mlrfo_t", "mlrfo_p")] <-
        c(h1, attr(fit@test[[2]]$stat, "h0"), c_fo, fm[["chisq"]] / c_fo,
          pchisq(fm[["chisq"]] / c_fo, fm[["df"]], lower.tail = FALSE))
    }
  }
  rows[[length(rows) + 1]] <- row
}
out <- do.call(rbind, rows)
write.csv(out, args[2], row.names = FALSE)
cat(sprintf("lavaan %s, %d replications\n", as.character(packageVersion("lavaan")), nrow(out)))
