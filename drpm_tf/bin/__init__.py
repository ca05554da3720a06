"""Console scripts of the core library (setup.py's entry points).

One module per command, as disentanglement_lib's `bin/`: absl flags, then one
call of one library function through `drpm_tf.cli.run` (bad input: one line,
exit status 2; `--verbose` shows the traceback). No logic lives here; each
runs as `python -m drpm_tf.bin.<module>` too.

    demo.py                 drpm-demo                 demo.run_demo
    train_generative.py     drpm-train-generative     training.train_with_gin
    evaluate_generative.py  drpm-evaluate-generative  training.print_evaluation
    sample_partitions.py    drpm-sample-partitions    generative_figures.sample_and_report
    generative_report.py    drpm-generative-report    generative_report.write_report

The weakly-supervised side's are in `disentanglement_ext.bin`.
"""
