"""Issue 10: how much of a synthetic subject's knowable speed response does
ONE recording reveal?

``bound_recording`` is given each subject's exact traits (its joint gains)
and E[speed multiplier | gain]. A predictor of a recording sees the gain
only through the recording: its amplitude against the population's. This
prints, per joint and source speed, over N fresh subjects:
  r(measured amplitude, true gain), r(measured amplitude, speed multiplier)
  and r(true gain, speed multiplier)
(squared, the fraction of the multiplier's variance each can explain).

  PYTHONPATH=. python docs/experiments/trait_visibility.py
"""
import numpy as np

from gaitjax.data import preprocess, reference, synthetic

N = 80
SEED = 5


def main():
  subjects = [synthetic.subject(f"AB{i + 1:02d}", seed=SEED)
              for i in range(N)]
  for v in (0.7, 1.2, 1.6):
    trials = synthetic.make_able_bodied_cohort(seed=SEED, num_subjects=N,
                                               speeds=(v,), rate_hz=100.0)
    means = np.array([reference.cycle_info(preprocess.to_model_input(t)).mean
                      for t in trials])                     # [N, 6, 101]
    pop = means.mean(axis=0)
    for j, joint in enumerate(("hip", "knee", "ankle")):
      sides = [j, j + 3]
      amplitude = np.log(means[:, sides].std(-1) / pop[sides].std(-1)
                         ).mean(axis=1)
      gain = np.log([s.joint_gain[j] for s in subjects])
      mult = np.array([s.speed_mult[j] for s in subjects])
      r = lambda a, b: np.corrcoef(a, b)[0, 1]
      print(f"{v:4.2f} m/s {joint:5s}  r(amp, gain) {r(amplitude, gain):5.2f}"
            f"  r(amp, mult) {r(amplitude, mult):5.2f}"
            f"  r(gain, mult) {r(gain, mult):5.2f}")


if __name__ == "__main__":
  main()
