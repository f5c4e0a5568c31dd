// Calibration end to end: run a model's float plan with every value observed over some inputs,
// then derive its int8 parameters and plan.
import type { Backend, ExecutionPlan } from '../plan.js';
import type { CompileOptions, Model } from '../model.js';
import { compilePlan } from '../scratch.js';
import { ShapeError } from '../errors.js';
import { ActivationObserver, type ObserverKind } from './observers.js';
import { calibrateModel, type CalibrateOptions, type QuantizedModel } from './plan.js';
import { int8SourcePlan } from './model.js';

export interface CalibrationOptions extends CompileOptions, CalibrateOptions {
  /** how ranges are observed (observers.ts); default 'minmax' */
  readonly observer?: ObserverKind;
  /** for 'percentile': default 99.99 */
  readonly percentile?: number;
  /** called after each batch with how many were run */
  readonly onBatch?: (done: number) => void;
}

/**
 * Runs `batches` (NHWC float inputs of the plan's input size, batch `options.batch`) through the
 * model's float plan on `backend`, and returns the int8 parameters and the int8 plan.
 */
export async function calibrate(
  model: Model,
  backend: Backend,
  batches: Iterable<Float32Array> | AsyncIterable<Float32Array>,
  options: CalibrationOptions = {},
): Promise<{ parameters: QuantizedModel; plan: ExecutionPlan }> {
  const observed = int8SourcePlan(model, options, true);
  const observer = new ActivationObserver(observed, options.observer, options.percentile);
  const executable = await compilePlan(backend, observed);
  let done = 0;
  try {
    for await (const input of batches) {
      if (input.length !== observed.input.size) throw new ShapeError(`a calibration batch must hold ${observed.input.size} floats (NHWC [${observed.input.shape.join(', ')}]), got ${input.length}`);
      observer.observe(await executable.run(input));
      options.onBatch?.(++done);
    }
  } finally {
    executable.dispose();
  }
  const { model: parameters, plan } = calibrateModel(int8SourcePlan(model, options), observer.ranges(), options);
  return { parameters, plan };
}
