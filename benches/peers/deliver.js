// The Node peer of the delivery benchmark: @parse/node-apn sending the same
// rendered payload to the same APNs stand-in as Tidings' client, with the
// same concurrency. Run by benches/delivery.sh, which starts the stand-in:
//
//   node deliver.js URL CA_FILE KEY_FILE TEAM_ID KEY_ID TOPIC TOKEN PAYLOAD_FILE CONCURRENCY COUNT
//
// Prints one JSON line: {"pushes", "delivered", "seconds", "p50_ms",
// "p99_ms", "cpu_seconds"}.
'use strict';

const fs = require('fs');
const apn = require('@parse/node-apn');

const [url, caFile, keyFile, teamId, keyId, topic, token, payloadFile, concurrencyArg, countArg] =
  process.argv.slice(2);
const concurrency = parseInt(concurrencyArg, 10);
const count = parseInt(countArg, 10);
const { hostname, port } = new URL(url);
// node-apn serialises rawPayload itself: parsed here, sent with the same keys in
// the same order (and so the same bytes for this payload).
const payload = JSON.parse(fs.readFileSync(payloadFile, 'utf8'));

const provider = new apn.Provider({
  token: { key: keyFile, keyId, teamId },
  address: hostname,
  port: parseInt(port, 10),
  ca: fs.readFileSync(caFile),
  production: false,
});

function note() {
  const n = new apn.Notification();
  n.rawPayload = payload;
  n.topic = topic;
  n.pushType = 'alert';
  n.priority = 10;
  return n;
}

async function main() {
  // One push first, as the Tidings side does: connection and token set up
  // before the clock starts.
  await provider.send(note(), token);
  const latencies = [];
  let delivered = 0;
  let next = 0;
  const cpuStart = process.cpuUsage();
  const start = process.hrtime.bigint();
  async function worker() {
    while (next < count) {
      next += 1;
      const t0 = process.hrtime.bigint();
      const result = await provider.send(note(), token);
      latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
      delivered += result.sent.length;
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const cpu = process.cpuUsage(cpuStart);
  latencies.sort((a, b) => a - b);
  const pick = (q) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))];
  console.log(
    JSON.stringify({
      pushes: count,
      delivered,
      seconds,
      p50_ms: pick(0.5),
      p99_ms: pick(0.99),
      cpu_seconds: (cpu.user + cpu.system) / 1e6,
    }),
  );
  provider.shutdown();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
