// One load-generator process: many real Socket.IO clients (socket.io-client@4 over
// WebSocket) driven by bench/loadgen.py through stdin/stdout, one JSON object a line.
//
//   BENCH_COOKIE=<Cookie header> node clients.js <server url>
//
// Every connection sends BENCH_COOKIE, if set: stage 07 lets in only a browser
// whose Flask session may see the chat (bench/loadgen.py signs in an attendant).
//
// Commands (stdin)                                    Answers (stdout)
//   {"cmd": "connect", "clients": [{key, chat_id, role}], "concurrency": n}
//                                                       {"ok": "connect", "connected": n, "failed": [...]}
//   {"cmd": "send", "senders": [{key, window, interval_ms}], "duration_ms": d}
//       each sender keeps `window` messages in flight (the next one goes when
//       its own copy comes back from the room), or, with interval_ms, sends one
//       message every interval_ms whatever comes back
//                                                       {"ok": "send", "sent": {...}}
//   {"cmd": "report"}   what arrived since the last report, once nothing has
//                       arrived for quiet_ms            {"ok": "report", ...}
//   {"cmd": "cpu"}      this process's CPU time          {"ok": "cpu", "cpu_us": n}
//   {"cmd": "close"}    disconnect everyone and exit
//
// A message's text is "<sender key> <seq> <send time in µs>"; the send time is
// process.hrtime (CLOCK_MONOTONIC on Linux), the same clock in every process
// on the machine, so a receiver in another process can compute the latency.
"use strict";

const readline = require("readline");
const { io } = require("socket.io-client");

const url = process.argv[2];
const cookie = process.env.BENCH_COOKIE;
const clients = new Map(); // key -> {socket, chat_id, role, joined}
let received = newTally();
let lastArrival = nowUs();

function nowUs() {
  return Number(process.hrtime.bigint() / 1000n);
}

function newTally() {
  // latency samples (µs) of messages from other clients, with the send time of
  // each, and how many copies of each message (sender:seq) arrived here
  // and how many arrived out of their sender's order (seq lower than one seen before)
  return { latency: [], sentAt: [], copies: {}, own: 0, errors: [], reordered: 0 };
}

function answer(object) {
  process.stdout.write(JSON.stringify(object) + "\n");
}

function connectOne(spec) {
  return new Promise((resolve) => {
    const socket = io(url, {
      transports: ["websocket"], reconnection: false, forceNew: true, timeout: 20000,
      extraHeaders: cookie ? { Cookie: cookie } : {},
    });
    const client = { socket, spec, joined: false, onOwn: null, lastSeq: {} };
    clients.set(spec.key, client);
    const fail = (why) => {
      if (!client.joined) {
        client.joined = null;
        resolve({ key: spec.key, error: String(why) });
      }
    };
    socket.on("connect", () => socket.emit("join", { chat_id: spec.chat_id, role: spec.role }));
    socket.on("history", () => {
      if (!client.joined) {
        client.joined = true;
        resolve(null);
      }
    });
    socket.on("chat_error", (data) => {
      received.errors.push(`${spec.key}: ${data && data.error}`);
      fail(data && data.error);
    });
    socket.on("connect_error", (error) => fail(error.message));
    socket.on("message", (data) => {
      const at = nowUs();
      lastArrival = at;
      const [sender, seq, sentAt] = String(data.text).split(" ");
      const id = `${sender}:${seq}`;
      received.copies[id] = (received.copies[id] || 0) + 1;
      if (Number(seq) < (client.lastSeq[sender] || 0)) received.reordered += 1;
      else client.lastSeq[sender] = Number(seq);
      if (sender === spec.key) {
        received.own += 1;
        if (client.onOwn) client.onOwn();
      } else {
        received.latency.push(at - Number(sentAt));
        received.sentAt.push(Number(sentAt));
      }
    });
  });
}

async function connectAll(specs, concurrency) {
  const failed = [];
  let next = 0;
  async function lane() {
    while (next < specs.length) {
      const problem = await connectOne(specs[next++]);
      if (problem) failed.push(problem);
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, lane));
  return { connected: specs.length - failed.length, failed };
}

function sendFor(senders, durationMs) {
  return new Promise((resolve) => {
    const sent = {}; // key -> [first seq, last seq, first send time, last send time]
    const timers = [];
    let stopped = false;
    function emit(client) {
      const key = client.spec.key;
      const seq = (client.seq = (client.seq || 0) + 1);
      const at = nowUs();
      if (!sent[key]) sent[key] = [seq, seq, at, at];
      sent[key][1] = seq;
      sent[key][3] = at;
      client.socket.emit("message", { text: `${key} ${seq} ${at}` });
    }
    for (const s of senders) {
      const client = clients.get(s.key);
      if (!client || !client.joined) continue;
      if (s.interval_ms) {
        // open loop: about one message every interval_ms, starting at a random moment
        const tick = () => {
          if (stopped) return;
          emit(client);
          timers.push(setTimeout(tick, s.interval_ms * (0.9 + 0.2 * Math.random())));
        };
        timers.push(setTimeout(tick, Math.random() * s.interval_ms));
      } else {
        // closed loop: `window` messages in flight; each copy coming back sends the next
        client.onOwn = () => {
          if (!stopped) emit(client);
        };
        for (let i = 0; i < (s.window || 1); i++) emit(client);
      }
    }
    setTimeout(() => {
      stopped = true;
      for (const t of timers) clearTimeout(t);
      for (const s of senders) {
        const client = clients.get(s.key);
        if (client) client.onOwn = null;
      }
      resolve(sent);
    }, durationMs);
  });
}

function whenQuiet(quietMs, capMs) {
  const started = Date.now();
  return new Promise((resolve) => {
    const check = () => {
      const idleFor = (nowUs() - lastArrival) / 1000;
      if (idleFor >= quietMs || Date.now() - started > capMs) resolve();
      else setTimeout(check, Math.max(10, quietMs - idleFor));
    };
    check();
  });
}

const input = readline.createInterface({ input: process.stdin });
input.on("line", async (line) => {
  const command = JSON.parse(line);
  switch (command.cmd) {
    case "connect": {
      const result = await connectAll(command.clients, command.concurrency || 50);
      answer({ ok: "connect", ...result });
      break;
    }
    case "send": {
      const sent = await sendFor(command.senders, command.duration_ms);
      answer({ ok: "send", sent });
      break;
    }
    case "report": {
      await whenQuiet(command.quiet_ms || 300, command.cap_ms || 15000);
      const tally = received;
      received = newTally();
      const disconnected = [...clients.values()].filter((c) => c.joined && !c.socket.connected).length;
      answer({ ok: "report", ...tally, disconnected });
      break;
    }
    case "cpu": {
      const usage = process.cpuUsage();
      answer({ ok: "cpu", cpu_us: usage.user + usage.system });
      break;
    }
    case "close": {
      for (const client of clients.values()) client.socket.disconnect();
      answer({ ok: "close" });
      setTimeout(() => process.exit(0), 50);
      break;
    }
    default:
      answer({ ok: "error", error: `unknown command ${command.cmd}` });
  }
});
input.on("close", () => process.exit(0));
