"""drpm-tf: differentiable random partition models in TensorFlow Probability."""
import setuptools

setuptools.setup(
    name="drpm-tf",
    version="0.1.0",
    description="Differentiable random partition models (DRPM) for TF2 / TFP, "
    "and their disentanglement_lib integration.",
    packages=setuptools.find_packages(include=["drpm_tf", "drpm_tf.*",
                                               "disentanglement_ext",
                                               "disentanglement_ext.*",
                                               "scripts"]),
    python_requires=">=3.10",
    install_requires=[
        "tensorflow-probability==0.23.0",
        "numpy<2",
        "scipy",
        "scikit-learn",
        "matplotlib",
        "gin-config==0.5.0",
        "absl-py",
        "tqdm",
    ],
    entry_points={
        "console_scripts": [
            "drpm-demo=scripts.demo:main",
            "drpm-train-generative=scripts.train_generative:main",
            "drpm-evaluate-generative=scripts.evaluate_generative:main",
            "drpm-sample-partitions=scripts.sample_partitions:main",
            "drpm-train-weak=scripts.train_weak:main",
            "drpm-dlib-evaluate=scripts.dlib_evaluate:main",
            "drpm-evaluate-weak=scripts.evaluate_weak:main",
            "drpm-visualize-dataset=scripts.visualize_dataset:main",
            "drpm-reproduce-table1=scripts.reproduce_table1:main",
            "drpm-table1-variants=scripts.table1_variants:main",
        ],
    },
)
