// Confidence weighting (inference_policy.yaml `reducer.confidence`): a vote counts with its expert's
// weight × the probability the model gave its own answer (inference/answer-confidence.ts), so an
// expert that guessed weighs less than one that was sure. The figure is a worker's claim: it is
// bounded to [MIN_CONFIDENCE, 1], so a worker that claims 1 (or sends none) counts with at most its
// expert's full weight — what it had without confidence weighting — and one that claims 0 still
// counts a little (a weight must stay positive for the reducer).
//
// The bounded figure is raised to `reducer.confidence_exponent` (1 by default, the calibrated policy's
// is measured by `ripple moe calibrate`: calibration.ts calibrateConfidenceExponent): above 1, one
// expert that is sure outweighs several that are not, which is what the models' confidences earn on
// the labelled sets (an unsure majority of near-duplicate experts is often wrong together). The
// factor stays within (0, 1]: a claim can still only lower a vote.
export const MIN_CONFIDENCE = 0.01;

/** What a vote's weight is multiplied by: 1 when no confidence came with it (the cloud tier). */
export function confidenceFactor(confidence: number | undefined, exponent = 1): number {
  if (confidence === undefined || Number.isNaN(confidence)) return 1;
  return Math.min(1, Math.max(MIN_CONFIDENCE, confidence)) ** exponent;
}
