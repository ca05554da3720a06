"""The Table 1 figures: Table 1 and Figure 5 as grouped bars, and the
estimated number of shared dims during training."""
from disentanglement_ext.table1 import presets
from disentanglement_ext.table1 import results


def _pyplot():
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use("Agg")  # Headless: no display on CI machines.
  from matplotlib import pyplot  # pylint: disable=g-import-not-at-top
  return pyplot


def _grouped_bars(ax, groups, methods, stats, ylabel):
  import numpy as np  # pylint: disable=g-import-not-at-top
  width = 0.8 / max(len(methods), 1)
  x = np.arange(len(groups))
  for i, method in enumerate(methods):
    means = [s[0] if s else np.nan for s in stats[method]]
    stds = [s[1] if s else 0. for s in stats[method]]
    ax.bar(x + (i - (len(methods) - 1) / 2.) * width, means, width,
           yerr=stds, capsize=3, label=presets.METHOD_LABELS[method])
  ax.set_xticks(x)
  ax.set_xticklabels(groups)
  ax.set_ylabel(ylabel)
  ax.legend(fontsize="small")
  ax.grid(axis="y", alpha=0.3)


def plot_table1(path, table, methods, n_s_values, title):
  plt = _pyplot()
  columns = results.table1_columns(n_s_values)
  fig, ax = plt.subplots(figsize=(max(6., 1.3 * len(columns) + 2), 4))
  _grouped_bars(ax, ["n_s={}\n{}".format(k, c) for k, c in columns], methods,
                {m: [table[m, k][c] for k, c in columns] for m in methods},
                "adjusted balanced accuracy")
  ax.set_title(title)
  fig.tight_layout()
  fig.savefig(path, dpi=100)
  plt.close(fig)


def plot_figure5(path, table, methods, n_s_values, title):
  plt = _pyplot()
  fig, ax = plt.subplots(figsize=(6, 4))
  _grouped_bars(ax, ["n_s={}".format(k) for k in n_s_values], methods,
                {m: [table[m, k]["mse"] for k in n_s_values] for m in methods},
                "MSE(estimated shared dims, n_s)")
  ax.set_title(title)
  fig.tight_layout()
  fig.savefig(path, dpi=100)
  plt.close(fig)


def plot_shared_dims_curves(path, runs, methods, n_s_values, title):
  """Estimated shared dims vs training step, one panel per n_s (mean over
  seeds, band = min..max over seeds), a line per method; dashed: true n_s."""
  import numpy as np  # pylint: disable=g-import-not-at-top
  plt = _pyplot()
  fig, axes = plt.subplots(1, len(n_s_values),
                           figsize=(4 * len(n_s_values), 3.4), sharey=True,
                           squeeze=False)
  for ax, n_s in zip(axes[0], n_s_values):
    for method in methods:
      curves = [dict(results.read_shared_dims_curve(r.model_dir)) for r in runs
                if r.method == method and r.n_s == n_s]
      curves = [c for c in curves if c]
      if not curves:
        continue
      steps = sorted(set.intersection(*(set(c) for c in curves)))
      values = np.array([[c[s] for s in steps] for c in curves])
      line, = ax.plot(steps, values.mean(0), label="{} ({} seeds)".format(
          presets.METHOD_LABELS.get(method, method), len(curves)))
      ax.fill_between(steps, values.min(0), values.max(0), alpha=0.15,
                      color=line.get_color())
    ax.axhline(n_s, color="black", linestyle="--", linewidth=1)
    ax.set_title("n_s = {}".format(n_s))
    ax.set_xlabel("training step")
    ax.grid(alpha=0.3)
  axes[0][0].set_ylabel("estimated shared dims")
  axes[0][-1].legend(fontsize="small")
  fig.suptitle(title)
  fig.tight_layout()
  fig.savefig(path, dpi=100)
  plt.close(fig)
