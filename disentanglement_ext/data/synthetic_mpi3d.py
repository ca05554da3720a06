"""`synthetic_mpi3d`: a procedural stand-in for mpi3d_toy (no download needed).

Same factor structure as the public mpi3d_toy.npz, [6, 6, 2, 3, 3, 40, 40]:

  0 object_color      white, green, red, blue, brown, olive
  1 object_shape      cone, cube, cylinder, hexagon, pyramid, sphere (2-D
                      silhouettes: tall triangle, square, tall rectangle,
                      hexagon, wide triangle, disc)
  2 object_size       small, large
  3 camera_height     low, middle, high: shifts the whole scene vertically and
                      changes how much arm depth projects onto the image's y axis
  4 background_color  purple, sea green, salmon (the wall; the floor is tinted)
  5 horizontal_axis   arm azimuth, 40 steps in [-60, 60] degrees: moves the
                      object left/right and in depth (perspective size)
  6 vertical_axis     arm elevation, 40 steps in [-35, 55] degrees: moves the
                      object up/down and in depth

A pillar stands on the floor; an arm of fixed length turns about its top (the
two DOFs) and carries the object at its tip, with a simple perspective: depth
scales the object and arm, and projects onto y depending on the camera height.
So the arm DOFs move and rescale the object, the camera height moves everything,
and object colour / shape / size only show on the object's pixels, which the
arm DOFs and camera height move around: no factor owns a fixed set of pixels
and none is a function of another's pixels.

Rendering is a pure, vectorized numpy function of the factors (no noise, no
per-image Python loop): `render(factors)` maps int `[B, 7]` to float32
`[B, 64, 64, 3]` in [0, 1].
"""
import hashlib
import inspect

import numpy as np

from disentanglement_ext.data import _factor_grid
from drpm_tf import errors

FACTOR_SIZES = (6, 6, 2, 3, 3, 40, 40)
FACTOR_NAMES = ("object_color", "object_shape", "object_size", "camera_height",
                "background_color", "horizontal_axis", "vertical_axis")
IMAGE_SIZE = 64

_OBJECT_COLORS = np.array([
    [0.93, 0.93, 0.90],  # white
    [0.15, 0.68, 0.22],  # green
    [0.86, 0.13, 0.10],  # red
    [0.13, 0.27, 0.88],  # blue
    [0.50, 0.29, 0.10],  # brown
    [0.58, 0.58, 0.08],  # olive
], np.float32)
_BACKGROUND_COLORS = np.array([
    [0.45, 0.30, 0.62],  # purple
    [0.22, 0.58, 0.52],  # sea green
    [0.95, 0.58, 0.48],  # salmon
], np.float32)
_ARM_COLOR = np.array([0.62, 0.62, 0.66], np.float32)

# Shapes as regular n-gons with a rotation and an x / y stretch of the unit
# polygon; n = 48 approximates a disc. Columns: n, rotation (rad), sx, sy.
_SHAPES = np.array([
    [3, 0.0, 0.75, 1.35],            # cone: tall triangle, apex up
    [4, np.pi / 4, 0.80, 0.80],      # cube: axis-aligned square
    [4, np.pi / 4, 0.60, 1.15],      # cylinder: tall rectangle
    [6, np.pi / 6, 1.0, 0.85],       # hexagon: flat top, squat
    [3, 0.0, 1.25, 0.85],            # pyramid: wide flat triangle
    [48, 0.0, 1.0, 1.0],             # sphere: disc
], np.float32)
_OBJECT_RADII = np.array([0.095, 0.14], np.float32)
_CAMERA_SHIFT = np.array([-0.09, 0.0, 0.09], np.float32)   # scene y shift
_CAMERA_TILT = np.array([0.05, 0.16, 0.27], np.float32)    # depth -> y
_AZIMUTH = np.deg2rad(np.linspace(-60., 60., 40)).astype(np.float32)
_ELEVATION = np.deg2rad(np.linspace(-35., 55., 40)).astype(np.float32)

_HORIZON = 0.56     # wall / floor boundary (before the camera shift)
_SHOULDER = (0.5, 0.48)
_PILLAR_FOOT_Y = 0.88
_ARM_LENGTH = 0.30
_FOCAL = 1.6        # perspective: scale = _FOCAL / (_FOCAL - depth)

# Pixel-centre coordinates in [0, 1], y pointing down.
_COORDS = ((np.arange(IMAGE_SIZE, dtype=np.float32) + 0.5) / IMAGE_SIZE)
_GRID_Y = _COORDS[None, :, None]   # [1, H, 1]
_GRID_X = _COORDS[None, None, :]   # [1, 1, W]


def _coverage(signed_distance):
  """Anti-aliased coverage in [0, 1] from a signed distance in image units."""
  # minimum/maximum: np.clip is ~2x slower on these sizes.
  return np.minimum(np.maximum(0.5 - signed_distance * IMAGE_SIZE, 0.), 1.)


def _norm(x, y):
  # np.hypot is ~20x slower than this on float32 and we never overflow.
  return np.sqrt(x * x + y * y)


def _segment_distance(ax, ay, bx, by):
  """Distance of every pixel to segments a->b.

  Args:
    ax, ay, bx, by: float32 `[B, 1, 1]` segment end points.

  Returns:
    float32 `[B, H, W]`.
  """
  ux, uy = bx - ax, by - ay
  inv_len2 = 1. / np.maximum(ux * ux + uy * uy, 1e-8)
  px, py = _GRID_X - ax, _GRID_Y - ay
  t = np.minimum(np.maximum((px * ux + py * uy) * inv_len2, 0.), 1.)
  return _norm(px - t * ux, py - t * uy)


def _polygon_distance(px, py, n, rotation):
  """Approximate signed distance to the unit regular n-gon (<0 inside).

  Args:
    px, py: float32 `[B, H, W]` pixel offsets from the polygon centre, in
      units of its circumradius.
    n, rotation: float32 `[B, 1, 1]` number of sides and rotation.

  Returns:
    float32 `[B, H, W]`, in units of the circumradius.
  """
  sector = (2 * np.pi) / n
  # Angle measured from the polygon's apex (pointing up for rotation 0).
  angle = (np.arctan2(px, -py) - rotation) / sector
  local = (angle - np.floor(angle) - 0.5) * sector   # np.mod is ~10x slower
  return _norm(px, py) * np.cos(local) - np.cos(0.5 * sector)


def _render_chunk(factors, out):
  """Renders int `[B, 7]` factors into float32 `out` `[B, H, W, 3]`."""
  b = factors.shape[0]
  col = lambda v: v.astype(np.float32).reshape(b, 1, 1)  # noqa: E731
  color, shape, size, camera, background, azimuth, elevation = factors.T

  shift = col(_CAMERA_SHIFT[camera])
  y = _GRID_Y - shift   # [B, H, 1] scene coordinates: the camera moves

  # Arm: azimuth / elevation of a unit direction, projected with perspective.
  az, el = _AZIMUTH[azimuth], _ELEVATION[elevation]
  depth = _ARM_LENGTH * np.cos(el) * np.cos(az)                # towards camera
  scale = _FOCAL / (_FOCAL - depth)
  sx, sy = _SHOULDER
  tip_x = sx + _ARM_LENGTH * np.cos(el) * np.sin(az) * scale
  tip_y = sy - _ARM_LENGTH * np.sin(el) * scale + _CAMERA_TILT[camera] * depth
  tip_x, tip_y, scale = col(tip_x), col(tip_y) + shift, col(scale)
  shoulder_y = sy + shift
  # The pillar is vertical: its distance separates into x and y parts.
  pillar_dy = np.maximum(np.maximum(shoulder_y - _GRID_Y,
                                    _GRID_Y - (_PILLAR_FOOT_Y + shift)), 0.)
  pillar = _coverage(_norm(_GRID_X - sx, pillar_dy) - 0.028)
  link = _coverage(_segment_distance(np.float32(sx), shoulder_y, tip_x, tip_y)
                   - 0.017 * scale)
  arm = np.maximum(pillar, link)                               # [B, H, W]

  # Object at the tip: a stretched, rotated regular polygon, lit from the top
  # left, whose size follows the perspective scale.
  n, rotation, stretch_x, stretch_y = (col(v) for v in _SHAPES[shape].T)
  radius = col(_OBJECT_RADII[size]) * scale
  px = (_GRID_X - tip_x) / (radius * stretch_x)
  py = (_GRID_Y - tip_y) / (radius * stretch_y)
  # Distances are in polygon units; the smaller stretch keeps edges <= 1 px.
  distance = _polygon_distance(px, py, n, rotation)
  alpha = _coverage(distance * radius * np.minimum(stretch_x, stretch_y))
  shade = np.minimum(np.maximum(1.0 - 0.22 * (px + py), 0.55), 1.25) * alpha

  # Background: a vertically shaded wall in the background colour over a floor
  # that gets lighter towards the camera and keeps a hint of the wall colour.
  is_floor = _coverage(_HORIZON - y)                           # [B, H, 1]
  wall_light = 0.72 + 0.5 * y
  floor_light = 0.30 + 0.55 * (y - _HORIZON)
  arm_light = 0.75 + 0.4 * (1. - y)  # keeps the arm apart from the floor
  # Channel by channel: broadcasting over a trailing axis of 3 is ~10x slower.
  for c in range(3):
    bg = col(_BACKGROUND_COLORS[background, c])
    wall = bg * wall_light
    floor = floor_light * (0.75 + 0.25 * bg)
    image = wall + (floor - wall) * is_floor                   # [B, H, 1]
    image = image + (_ARM_COLOR[c] * arm_light - image) * arm  # [B, H, W]
    rgb = col(_OBJECT_COLORS[color, c])
    image += rgb * shade - image * alpha
    out[..., c] = np.minimum(np.maximum(image, 0.), 1.)


def render(factors, chunk_size=32):
  """Renders observations from factors, deterministically.

  Args:
    factors: int array `[B, 7]`, factor values in `[0, FACTOR_SIZES[k])`.
    chunk_size: images rendered per vectorized step. Small chunks keep the
      temporaries in cache: 32 is ~2x faster than 256 on one core.

  Returns:
    float32 `[B, 64, 64, 3]` in [0, 1].
  """
  factors = np.asarray(factors, dtype=np.int64)
  if factors.ndim != 2 or factors.shape[1] != len(FACTOR_SIZES):
    raise errors.ConfigError(
        "factors must have shape [batch, {}], got {}.".format(
            len(FACTOR_SIZES), factors.shape))
  if np.any(factors < 0) or np.any(factors >= np.array(FACTOR_SIZES)):
    raise errors.ConfigError("factor values out of range {}.".format(
        FACTOR_SIZES))
  out = np.empty((factors.shape[0], IMAGE_SIZE, IMAGE_SIZE, 3), np.float32)
  for start in range(0, factors.shape[0], chunk_size):
    stop = start + chunk_size
    _render_chunk(factors[start:stop], out[start:stop])
  return out


_RENDER_FUNCTIONS = (_coverage, _norm, _segment_distance, _polygon_distance,
                     _render_chunk, render)


class SyntheticMPI3D(_factor_grid.FactorGridData):
  """Procedural mpi3d_toy look-alike (dlib `GroundTruthData`).

  Factor sizes [6, 6, 2, 3, 3, 40, 40], observations float32 `[64, 64, 3]`
  in [0, 1], deterministic given the factors (`random_state` is only used to
  sample factors).
  """

  factor_names = FACTOR_NAMES

  def __init__(self):
    self._set_factor_sizes(FACTOR_SIZES)

  def sample_observations_from_factors(self, factors, random_state):
    """Renders float32 `[num, 64, 64, 3]`; `random_state` is unused."""
    del random_state  # Deterministic renderer.
    return render(factors)

  def cache_fingerprint(self):
    """Changes whenever the renderer may render differently (image caches):
    a hash of the rendering functions' source and of every module constant
    they read."""
    digest = hashlib.sha256()
    for function in _RENDER_FUNCTIONS:
      digest.update(inspect.getsource(function).encode())
    for name, value in sorted(globals().items()):
      if name != "_RENDER_FUNCTIONS" and isinstance(
          value, (np.ndarray, float, int, tuple)) and (
              name.isupper() or name.startswith("_")):
        digest.update(name.encode() + repr(np.asarray(value).tolist()).encode())
    return digest.hexdigest()
