// The Node peer of the apns_c2c_text benchmark: @parse/node-apn building the
// same notification (`new Notification()` + `compile()`), timed here.
//
//   cd benches/peers && npm install && node apn.js
//
// It prints the median ns per notification over BATCHES batches. If
// `cargo bench -p tidings-benches --bench compare` has run, the payload it
// rendered (target/tidings-benches/apns_c2c_text.json) is compared first,
// parsed, with this one: the content must be the same.
'use strict';

const fs = require('fs');
const path = require('path');
const apn = require('@parse/node-apn');

// The same inputs as benches/benches/compare.rs (C2C_INPUT).
const input = {
  from: 'ann',
  nick: 'Ann',
  text:
    'Are we still on for lunch at 12? I booked the "good" dumpling place on 5th street, table for four.',
  badge: 4,
  sound: 'ding.aiff',
  ext: '{"entity":{"version":1,"action":1,"chatType":1,"sender":"ann","msgId":"144115233455029521-1795235999-27731"}}',
};

function build(i) {
  const note = new apn.Notification();
  note.alert = `${i.nick}:${i.text}`;
  note.badge = i.badge + 1;
  note.sound = i.sound;
  note.threadId = `c2c:${i.from}`;
  note.payload = { ext: i.ext };
  return note.compile();
}

// Key order differs between libraries; content is compared, not bytes.
function canonical(value) {
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, canonical(value[k])]),
    );
  }
  return value;
}

const ours = build(input);
const rendered = path.join(__dirname, '..', '..', 'target', 'tidings-benches', 'apns_c2c_text.json');
if (fs.existsSync(rendered)) {
  const expected = JSON.stringify(canonical(JSON.parse(fs.readFileSync(rendered, 'utf8'))));
  const actual = JSON.stringify(canonical(JSON.parse(ours)));
  if (expected !== actual) {
    console.error(`content differs from tidings:\n  tidings: ${expected}\n  node-apn: ${actual}`);
    process.exit(1);
  }
  console.log('same content as the tidings payload: yes');
} else {
  console.log(`not compared: ${rendered} is missing (run the cargo bench first)`);
}

const BATCHES = 30;
const PER_BATCH = 100000;
let sink = 0;
function batch() {
  const start = process.hrtime.bigint();
  for (let n = 0; n < PER_BATCH; n++) {
    sink += build(input).length;
  }
  return Number(process.hrtime.bigint() - start) / PER_BATCH;
}

for (let w = 0; w < 5; w++) batch(); // warm-up: let V8 optimise build()
const times = [];
for (let b = 0; b < BATCHES; b++) times.push(batch());
times.sort((a, b) => a - b);
const median = (times[BATCHES / 2 - 1] + times[BATCHES / 2]) / 2;
const version = require('@parse/node-apn/package.json').version;
console.log(
  `apns_c2c_text @parse/node-apn ${version} (node ${process.version}): ` +
    `median ${median.toFixed(1)} ns/iter (${BATCHES} batches of ${PER_BATCH}; ` +
    `min ${times[0].toFixed(1)}, max ${times[BATCHES - 1].toFixed(1)}; ${ours.length} bytes)`,
);
if (sink === 0) console.log('');
