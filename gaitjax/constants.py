"""Conventions shared by every module: channel order, units, signs, rates.

Channels (F = 6) use OpenSim gait2392 names, in this order everywhere
(arrays are ``[..., T, F]``)::

    0 hip_flexion_r   1 knee_angle_r   2 ankle_angle_r
    3 hip_flexion_l   4 knee_angle_l   5 ankle_angle_l

Units are degrees. Signs are clinical: hip flexion +, knee flexion +, ankle
dorsiflexion + (plantarflexion -). Camargo 2021's ``knee_angle_*`` is
flexion-negative and its reader negates it. Speeds are in m/s. The model sees
30 s at 20 Hz, i.e. ``T = 600`` samples (paper II.A, II.C).
"""
from typing import Dict, Tuple

CHANNELS: Tuple[str, ...] = (
    "hip_flexion_r", "knee_angle_r", "ankle_angle_r",
    "hip_flexion_l", "knee_angle_l", "ankle_angle_l",
)
NUM_CHANNELS: int = len(CHANNELS)
JOINTS: Tuple[str, ...] = ("hip", "knee", "ankle")
SIDES: Tuple[str, ...] = ("right", "left")

# Channel indices by side and joint.
RIGHT: Tuple[int, int, int] = (0, 1, 2)
LEFT: Tuple[int, int, int] = (3, 4, 5)
SIDE_CHANNELS: Dict[str, Tuple[int, int, int]] = {"right": RIGHT, "left": LEFT}
HIP_CHANNELS: Tuple[int, int] = (0, 3)
KNEE_CHANNELS: Tuple[int, int] = (1, 4)
ANKLE_CHANNELS: Tuple[int, int] = (2, 5)
# Channel permutation that swaps right and left legs.
SWAP_SIDES: Tuple[int, ...] = (3, 4, 5, 0, 1, 2)

RATE_HZ: float = 20.0
SEQ_LEN: int = 600            # 30 s at 20 Hz
DURATION_S: float = SEQ_LEN / RATE_HZ
MIN_INPUT_RATE_HZ: float = 20.0

COHORTS: Tuple[str, ...] = ("able_bodied", "stroke")
PARETIC_SIDES: Tuple[str, ...] = ("left", "right")

# Plausible joint-angle ranges in degrees (clinical signs), used to refuse
# inputs in the wrong units or sign convention. Generous on purpose: stroke
# gait and marker offsets move curves by tens of degrees, radians or a flipped
# knee sign do not fit.
PLAUSIBLE_RANGE_DEG: Dict[str, Tuple[float, float]] = {
    "hip": (-60.0, 120.0),
    "knee": (-40.0, 150.0),
    "ankle": (-80.0, 70.0),
}
# Walking speeds an input may carry (m/s); training range checks are stricter
# and come from the checkpoint.
SPEED_LIMITS_MPS: Tuple[float, float] = (0.05, 4.0)


def joint_of(channel: int) -> str:
  """Joint name ('hip' | 'knee' | 'ankle') of a channel index."""
  return JOINTS[channel % 3]


def side_of(channel: int) -> str:
  """Side name ('right' | 'left') of a channel index."""
  return SIDES[channel // 3]
