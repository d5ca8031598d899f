// The reference a reader would pick instead of Flask-SocketIO: the stage 07 chat
// on Node.js and socket.io@4, with the same events and the same session log.
//
//   node server.js --port 5000 --log-dir /tmp/logs
//
// Events (the stage 07 contract):
//   join {chat_id, role}  ->  history {chat_id, messages} to that client,
//                              notice {text} to the others ("The user joined.")
//   message {text}        ->  message {time, role, text} to the room, after one
//                              line is appended to chat_<id>.log
//   disconnect            ->  notice {text} to the room ("The attendant left.")
//   anything wrong        ->  chat_error {error} to that client
// It prints "Running on http://127.0.0.1:<port>" once it listens, like Flask.
"use strict";

const fs = require("fs");
const http = require("http");
const path = require("path");
const { Server } = require("socket.io");

const ROLES = new Set(["user", "attendant"]);
const CHAT_ID = /^\d{8}-\d{6}(-\d+)?$/;
const MAX_LENGTH = 500;

function option(name, fallback) {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 && at + 1 < process.argv.length ? process.argv[at + 1] : fallback;
}

const port = Number(option("port", process.env.PORT || 5000));
const logDir = option("log-dir", process.env.FLASK_LOG_DIR || path.join(__dirname, "logs"));
fs.mkdirSync(logDir, { recursive: true });

function logPath(chatId) {
  return path.join(logDir, `chat_${chatId}.log`);
}

// Same line format as app/chat_log.py: <time> <role> <text as a JSON string>.
// JSON.stringify escapes quotes and control characters; U+2028/2029 are escaped
// too, like the Python side does.
function timeNow() {
  const d = new Date();
  const two = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())}` +
    `T${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}

function appendLine(chatId, role, text) {
  const time = timeNow();
  const quoted = JSON.stringify(text).replace(/\u2028/g, "\\u2028").replace(/\u2029/g, "\\u2029")
    .replace(/\u0085/g, "\\u0085");
  // One synchronous append per message: open, write, close, like the Python app.
  fs.appendFileSync(logPath(chatId), `${time} ${role} ${quoted}\n`, "utf8");
  return { time, role, text };
}

function readHistory(chatId) {
  const messages = [];
  for (const line of fs.readFileSync(logPath(chatId), "utf8").split("\n")) {
    const first = line.indexOf(" ");
    const second = line.indexOf(" ", first + 1);
    if (first < 0 || second < 0) continue;
    try {
      messages.push({
        time: line.slice(0, first), role: line.slice(first + 1, second),
        text: JSON.parse(line.slice(second + 1)),
      });
    } catch (error) {
      // not a line this server wrote: skip it
    }
  }
  return messages;
}

const httpServer = http.createServer((request, response) => {
  response.writeHead(404, { "Content-Type": "text/plain" });
  response.end("Only Socket.IO is served here.\n");
});
const io = new Server(httpServer); // same-origin default, like the Flask app

io.on("connection", (socket) => {
  socket.on("join", (data) => {
    const chatId = data && data.chat_id;
    const role = data && data.role;
    if (typeof chatId !== "string" || !CHAT_ID.test(chatId) || !fs.existsSync(logPath(chatId))) {
      socket.emit("chat_error", { error: "There is no such chat." });
      return;
    }
    if (!ROLES.has(role)) {
      socket.emit("chat_error", { error: "The role must be user or attendant." });
      return;
    }
    leave(socket); // a window is in one session at a time
    socket.data.chatId = chatId;
    socket.data.role = role;
    // Node runs one callback at a time: joining, reading the history and
    // sending it cannot interleave with a message being appended.
    socket.join(chatId);
    socket.emit("history", { chat_id: chatId, messages: readHistory(chatId) });
    socket.to(chatId).emit("notice", { text: `The ${role} joined.` });
  });

  socket.on("message", (data) => {
    const { chatId, role } = socket.data;
    if (!chatId) {
      socket.emit("chat_error", { error: "Join a chat before sending messages." });
      return;
    }
    const text = data && typeof data.text === "string" ? data.text : "";
    if (!text.trim()) {
      socket.emit("chat_error", { error: "Type a message first." });
      return;
    }
    if (text.length > MAX_LENGTH) {
      socket.emit("chat_error", { error: `A message can be at most ${MAX_LENGTH} characters long.` });
      return;
    }
    io.to(chatId).emit("message", appendLine(chatId, role, text));
  });

  socket.on("disconnect", () => leave(socket));
});

function leave(socket) {
  const { chatId, role } = socket.data;
  if (!chatId) return;
  socket.leave(chatId);
  socket.data.chatId = null;
  io.to(chatId).emit("notice", { text: `The ${role} left.` });
}

httpServer.listen(port, "127.0.0.1", () => {
  console.log(`Running on http://127.0.0.1:${port}`);
});

for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => process.exit(0));
}
