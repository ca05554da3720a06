"""Mean ± sample standard deviation over seeds, as every report states it.

One definition for all tables: the SAMPLE standard deviation (ddof = 1),
and 0 for a single value (one seed has no spread to report); values that are
None or NaN (a run without that score) are left out.
"""
import math

__all__ = ["mean_std", "format_mean_std"]


def mean_std(values):
  """(mean, sample std (ddof=1; 0 for one value), count), or None if empty.

  Args:
    values: numbers; None and NaN entries are skipped.
  """
  values = [float(v) for v in values
            if v is not None and not math.isnan(float(v))]
  if not values:
    return None
  mean = sum(values) / len(values)
  if len(values) < 2:
    return mean, 0., 1
  var = sum((v - mean) ** 2 for v in values) / (len(values) - 1)
  return mean, math.sqrt(var), len(values)


def format_mean_std(stat, digits=3):
  """`'mean ± std'` of a `mean_std` result with `digits` decimals; '-' for
  None."""
  if stat is None:
    return "-"
  return "{:.{d}f} ± {:.{d}f}".format(stat[0], stat[1], d=digits)
