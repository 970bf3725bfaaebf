// Setup progress: one line when a step starts and one when it ends, with its wall time, plus a
// throttled percentage for long byte-counting work. Plain text: this runs before any npm package.

const started = Date.now();

function stamp() {
  return `${((Date.now() - started) / 1000).toFixed(1).padStart(6)}s`;
}

export function say(message) {
  process.stdout.write(`[setup ${stamp()}] ${message}\n`);
}

/** A reporter that prints `label: 42% (210/491 MB)` at most every 2 s and at 100%. */
export function byteProgress(label) {
  let last = 0;
  return (done, total) => {
    const now = Date.now();
    if (done < total && now - last < 2000) return;
    last = now;
    const pct = total ? Math.floor((done / total) * 100) : 100;
    say(`  ${label}: ${pct}% (${(done / 1e6).toFixed(0)}/${(total / 1e6).toFixed(0)} MB)`);
  };
}
