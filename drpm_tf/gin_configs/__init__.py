"""The gin files of the generative DRPM-VAE, shipped with the package.

    generative/mnist.gin         the paper's settings (Appendix C.3) on MNIST
    generative/mnist_quick.gin   mnist.gin on a 20-minute CPU schedule
    generative/digits_quick.gin  mnist.gin on scikit-learn's bundled 8x8
                                 digits, minutes on a CPU (`make demo`)

They are package data, found through the package, so they work from an
installed wheel as from a checkout: `path('generative', 'mnist.gin')` is the
file, and `name('generative', 'mnist.gin')` =
'drpm_tf/gin_configs/generative/mnist.gin' is how a command line or a gin
`include` names it from any directory (`drpm_tf.gin_config` says how gin
finds it). The quick files include mnist.gin and bind only what differs.
"""
import os

DIRECTORY = os.path.dirname(os.path.abspath(__file__))
GENERATIVE = os.path.join(DIRECTORY, "generative")
# How gin names this directory from anywhere (a package path).
PACKAGE_PATH = "drpm_tf/gin_configs"


def path(*parts):
  """The packaged file `parts`, e.g. `path('generative', 'mnist.gin')`."""
  return os.path.join(DIRECTORY, *parts)


def name(*parts):
  """The name gin resolves to the packaged file `parts` from anywhere."""
  return "/".join((PACKAGE_PATH,) + parts)
