"""drpm-tf: differentiable random partition models in TensorFlow Probability.

Two supported stacks (README, "Environment"):

* the core library (`drpm_tf`, its CLIs) on TensorFlow 2.15 with TFP 0.23, or
  on TensorFlow >= 2.16 with TFP >= 0.24 and Keras 3 or tf-keras, numpy 2
  (`pip install "drpm-tf[tf]"`);
* the disentanglement_lib integration (`disentanglement_ext`) on the pinned
  TensorFlow 2.15 stack only (`pip install "drpm-tf[dlib]"`, then
  `pip install --no-deps disentanglement-lib==1.5`).
"""
import os

import setuptools
from setuptools.command.build_py import build_py

# Lower bounds of the core: the core tests pass with exactly these versions
# (Python 3.11, tensorflow-cpu 2.15.1). TensorFlow itself is in the `tf` /
# `dlib` extras, as in TFP's own `tensorflow-probability[tf]`: it ships as
# `tensorflow`, `tensorflow-cpu`, ..., all installing the same `tensorflow`
# package, so requiring one here would install it over one already there.
CORE = [
    "tensorflow-probability>=0.23",  # >= 0.24 with TensorFlow >= 2.16
    "numpy>=1.23",
    "scipy>=1.10",
    "scikit-learn>=1.3",
    "matplotlib>=3.7",
    "gin-config>=0.5",
    "absl-py>=1.0",
    "tqdm>=4.60",
    # tf.summary (training scalars) lives in tensorboard, which TensorFlow
    # itself no longer installs since 2.21.
    "tensorboard>=2.15",
]

EXTRAS = {
    # The current stack (Keras 3). TFP >= 0.24 is the first that runs on it,
    # and it imports tf-keras.
    "tf": ["tensorflow>=2.16", "tensorflow-probability>=0.24",
           "tf-keras>=2.16"],
    # The disentanglement_lib integration: TensorFlow 2.15 still exports the
    # TF1 Hub modules dlib reads. disentanglement-lib 1.5 itself pins
    # tensorflow_probability==0.7, so it is installed with --no-deps after
    # these, its real runtime dependencies (`make venv` does both, with the
    # tensorflow-cpu wheel of the same version).
    "dlib": [
        "tensorflow==2.15.1",
        "tensorflow-probability==0.23.0",
        "tensorflow-hub==0.15.0",
        "gin-config==0.5.0",
        "numpy>=1.23,<2",
        "pandas>=1.5,<2.3",
        "simplejson",
        "six",
        "imageio",
        "seaborn",
        "future",
        "pillow",
    ],
    # setuptools: tests/test_setup.py builds the package.
    "test": ["pytest>=7.4", "packaging>=21", "setuptools>=64"],
}

# Put at the top of site-packages by every install (wheel, sdist, editable):
# registers disentanglement_ext.dlib_autoshim's import hook at interpreter start,
# so disentanglement_lib's own scripts (dlib_evaluate, ...) run on gin 0.5. The
# hook does nothing until a disentanglement_lib module is imported.
DLIB_SHIM_PTH = "drpm_tf_dlib_shim.pth"
# One line (site.py runs a .pth line that starts with "import"); exec for the
# try, so a .pth left behind without its package does nothing. Plain imports,
# not importlib.util: this runs at every interpreter start.
DLIB_SHIM_LINE = (
    "import sys; exec('try:\\n from disentanglement_ext import dlib_autoshim\\n"
    "except ImportError:\\n pass\\nelse:\\n dlib_autoshim.install()')\n")


class BuildPyWithShim(build_py):
  """build_py that also writes the dlib shim's .pth (see DLIB_SHIM_PTH)."""

  def run(self):
    super().run()
    if getattr(self, "editable_mode", False):
      # PEP 660: build_lib is discarded; editable_wheel packs what is under
      # the install command's install_lib into the editable wheel.
      target = self.get_finalized_command("install").install_lib
    else:
      target = self.build_lib
    path = os.path.join(target, DLIB_SHIM_PTH)
    self.mkpath(target)
    with open(path, "w") as f:
      f.write(DLIB_SHIM_LINE)


setuptools.setup(
    name="drpm-tf",
    version="0.1.0",
    description="Differentiable random partition models (DRPM) for TF2 / TFP, "
    "and their disentanglement_lib integration.",
    # benchmarks/ and tests/ are not installed.
    packages=setuptools.find_packages(include=["drpm_tf", "drpm_tf.*",
                                               "disentanglement_ext",
                                               "disentanglement_ext.*"]),
    # The gin files, found through their package (a wheel has them as a
    # checkout does).
    package_data={
        "drpm_tf.gin_configs.generative": ["*.gin"],
        **{"disentanglement_ext.gin_configs." + name: ["*.gin"]
           for name in ("table1", "weak", "evaluation")}},
    python_requires=">=3.10",
    install_requires=CORE,
    extras_require=EXTRAS,
    cmdclass={"build_py": BuildPyWithShim},
    entry_points={
        "console_scripts": [
            "drpm-demo=drpm_tf.bin.demo:main",
            "drpm-train-generative=drpm_tf.bin.train_generative:main",
            "drpm-evaluate-generative=drpm_tf.bin.evaluate_generative:main",
            "drpm-sample-partitions=drpm_tf.bin.sample_partitions:main",
            "drpm-generative-report=drpm_tf.bin.generative_report:main",
            "drpm-train-weak=disentanglement_ext.bin.train_weak:main",
            "drpm-dlib-evaluate=disentanglement_ext.bin.dlib_evaluate:main",
            "drpm-evaluate-weak=disentanglement_ext.bin.evaluate_weak:main",
            "drpm-visualize-dataset=disentanglement_ext.bin.visualize_dataset:main",
            "drpm-reproduce-table1=disentanglement_ext.bin.reproduce_table1:main",
            "drpm-table1-variants=disentanglement_ext.bin.table1_variants:main",
        ],
    },
)
