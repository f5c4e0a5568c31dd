// Learning-rate schedules as pure functions of the step, matching torch.optim.lr_scheduler.

export interface ScheduleValue {
  readonly lr: number;
  /** SGD momentum or Adam β₁, for schedules that cycle it */
  readonly momentum?: number;
}

export type Schedule = (step: number) => ScheduleValue;

/** StepLR: lr·gamma^floor(step / stepSize). */
export function stepSchedule(lr: number, stepSize: number, gamma = 0.1): Schedule {
  return (step) => ({ lr: lr * gamma ** Math.floor(step / stepSize) });
}

/** CosineAnnealingLR's closed form over `totalSteps`. */
export function cosineSchedule(lr: number, totalSteps: number, minLr = 0): Schedule {
  return (step) => ({ lr: minLr + ((lr - minLr) * (1 + Math.cos((Math.PI * Math.min(step, totalSteps)) / totalSteps))) / 2 });
}

export interface OneCycleOptions {
  maxLr: number;
  totalSteps: number;
  pctStart?: number;
  divFactor?: number;
  finalDivFactor?: number;
  /** cycle momentum/β₁ between these, inversely to the lr; default [0.85, 0.95], null to keep it fixed */
  momentum?: readonly [number, number] | null;
}

const cosAnneal = (start: number, end: number, pct: number) => end + ((start - end) / 2) * (Math.cos(Math.PI * pct) + 1);

/** OneCycleLR (two phases, cosine annealing), step counted from 0 as PyTorch's scheduler counts it. */
export function oneCycle(o: OneCycleOptions): Schedule {
  const pctStart = o.pctStart ?? 0.3;
  const initialLr = o.maxLr / (o.divFactor ?? 25);
  const minLr = initialLr / (o.finalDivFactor ?? 1e4);
  const [baseM, maxM] = o.momentum === undefined ? [0.85, 0.95] : (o.momentum ?? [NaN, NaN]);
  const cycle = o.momentum !== null;
  const end1 = pctStart * o.totalSteps - 1;
  const end2 = o.totalSteps - 1;
  return (step) => {
    if (step <= end1) {
      const pct = step / end1;
      return { lr: cosAnneal(initialLr, o.maxLr, pct), momentum: cycle ? cosAnneal(maxM, baseM, pct) : undefined };
    }
    const pct = (step - end1) / (end2 - end1);
    return { lr: cosAnneal(o.maxLr, minLr, pct), momentum: cycle ? cosAnneal(baseM, maxM, pct) : undefined };
  };
}
