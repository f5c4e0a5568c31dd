// Turns vitest's JSON report and exit status into the counts of the closing line, so that no
// kind of failure can hide behind "0 failed". Kept apart from test.mjs so a test can feed it
// real reports.

/**
 * @param {any} report vitest's JSON report (undefined when vitest wrote none)
 * @param {number} status vitest's exit status
 * @returns {{ passed: number, failed: number, reasons: string[] }}
 */
export function countOutcome(report, status) {
  const reasons = [];
  if (report === undefined) {
    reasons.push(`vitest wrote no report (exit status ${status})`);
    return { passed: 0, failed: 1, reasons };
  }
  let failed = report.numFailedTests ?? 0;
  // A file that failed without a failed test in it did not load, or a hook or the file's own code
  // threw: each such file counts once.
  for (const file of report.testResults ?? []) {
    const failedTests = (file.assertionResults ?? []).filter((a) => a.status === 'failed').length;
    if (file.status === 'failed' && failedTests === 0) {
      failed += 1;
      reasons.push(`${file.name}: ${firstLine(file.message) || 'the file failed outside its tests'}`);
    }
  }
  if (failed === 0 && report.success === false) {
    failed += 1;
    reasons.push('vitest reported an unsuccessful run (an unhandled error or rejection)');
  }
  if (failed === 0 && status !== 0) {
    failed += 1;
    reasons.push(`vitest exited with status ${status}`);
  }
  if ((report.numTotalTests ?? 0) === 0) {
    failed += 1;
    reasons.push('no test ran');
  }
  return { passed: report.numPassedTests ?? 0, failed, reasons };
}

function firstLine(text) {
  return typeof text === 'string' ? text.split('\n').find((l) => l.trim() !== '')?.trim() ?? '' : '';
}
