"""Reproducing Table 1 and Figure 5 of the paper (docs/table1.md).

One module per step, as disentanglement_lib separates its studies, its
runner and `utils/aggregate_results.py`:

    presets.py    the sweep's definition: preset files, the gin values they
                  set (following `include`), sweep overrides
    runs.py       the runs of a sweep: enumeration, their commands, whether
                  they are finished, executing them (locked, resumable)
    results.py    what finished runs measured, mean ± sample std per cell
    report.py     Markdown and CSV in the paper's layout, with the plots of
    plots.py      Table 1, Figure 5 and the shared-dims curves
    reproduce.py  `drpm-reproduce-table1`: run / emit jobs / aggregate
    variants.py   `drpm-table1-variants`: variants on the validation pairs

The preset and method gin files are package data
(`disentanglement_ext/gin_configs/table1/`). Only `runs.export_loads` and
`results.read_shared_dims_curve` import TensorFlow; the rest runs the sweep
from a light parent process whose children train.
"""
