// workers.js: node worker_threads: four workers sum ranges and post the
// result; a SharedArrayBuffer counter updated with Atomics.add; a worker
// that waits with Atomics.wait (timing out, then notified); setTimeout
// ordering by delay (90 ms apart). Deterministic output; exit 0, or 1 with "FAIL ...".
'use strict';
const { Worker, isMainThread, parentPort, workerData } = require('node:worker_threads');

function fail(what) {
  console.error('FAIL ' + what);
  process.exit(1);
}

if (!isMainThread) {
  const { kind, lo, hi, sab } = workerData;
  if (kind === 'sum') {
    let s = 0;
    for (let i = lo; i < hi; i++) s += i;
    const counter = new Int32Array(sab);
    Atomics.add(counter, 0, 1);
    parentPort.postMessage(s);
  } else {
    const cell = new Int32Array(sab);
    const first = Atomics.wait(cell, 1, 0, 30); // nobody notifies: timed-out
    parentPort.postMessage(first);
    // main stores 1 and notifies when it has the first message: wait
    // until the store is seen (it may come before this thread waits).
    let second = 'not-equal';
    while (Atomics.load(cell, 2) === 0) second = Atomics.wait(cell, 2, 0, 5000);
    parentPort.postMessage(second === 'timed-out' ? 'timed-out' : 'ok');
  }
  return;
}

function run(data) {
  return new Promise((resolve, reject) => {
    const msgs = [];
    const w = new Worker(__filename, { workerData: data });
    w.on('message', (m) => {
      msgs.push(m);
      if (data.kind === 'wait' && msgs.length === 1) {
        const cell = new Int32Array(data.sab);
        Atomics.store(cell, 2, 1);
        Atomics.notify(cell, 2);
      }
    });
    w.on('error', reject);
    w.on('exit', (code) => (code === 0 ? resolve(msgs) : reject(new Error('worker exit ' + code))));
  });
}

async function main() {
  const sab = new SharedArrayBuffer(16);
  const parts = await Promise.all([0, 1, 2, 3].map((i) => run({ kind: 'sum', lo: i * 250000, hi: (i + 1) * 250000, sab })));
  const total = parts.reduce((a, m) => a + m[0], 0);
  if (total !== 499999500000 || new Int32Array(sab)[0] !== 4) fail('sum ' + total);
  console.log('workers: 4 sums, total=' + total + ', Atomics counter=4');

  const waited = await run({ kind: 'wait', sab });
  if (waited[0] !== 'timed-out' || waited[1] !== 'ok') fail('Atomics.wait ' + waited);
  console.log('Atomics.wait: ' + waited.join(', '));

  const order = [];
  await new Promise((resolve) => {
    // 90 ms apart: natively, a main thread held off the CPU for 10 ms
    // between two calls (a loaded machine) fired 30 before 20.
    setTimeout(() => order.push(200), 200);
    setTimeout(() => order.push(10), 10);
    setTimeout(() => order.push(100), 100);
    setTimeout(resolve, 260);
  });
  if (order.join() !== '10,100,200') fail('setTimeout order ' + order);
  console.log('setTimeout: fired in order ' + order.join(' '));
}

main().catch((e) => fail(e.stack));
