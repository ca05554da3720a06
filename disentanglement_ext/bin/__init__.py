"""Console scripts of the weakly-supervised side (setup.py's entry points).

One module per command, as disentanglement_lib's `bin/`: absl flags, then one
call of one library function through `drpm_tf.cli.run` (bad input: one line,
exit status 2; `--verbose` shows the traceback). No logic lives here; each
runs as `python -m disentanglement_ext.bin.<module>` too.

    train_weak.py         drpm-train-weak         train.train_or_export
    evaluate_weak.py      drpm-evaluate-weak      evaluate.evaluate_weak
    dlib_evaluate.py      drpm-dlib-evaluate      evaluate.dlib_evaluate
    reproduce_table1.py   drpm-reproduce-table1   table1.reproduce.reproduce
    table1_variants.py    drpm-table1-variants    table1.variants.run_stage
    visualize_dataset.py  drpm-visualize-dataset  data.traversals.write_traversals
"""
