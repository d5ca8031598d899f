// The chat page's realtime half. The page says which session and role it is
// (<main id="chat" data-chat-id="..." data-role="...">); this script joins that
// session over Socket.IO, shows its history, then each message as it arrives.
"use strict";

const chat = document.getElementById("chat");
const list = document.getElementById("messages");
const form = document.getElementById("message-form");
const input = document.getElementById("text");
const sendButton = form.querySelector("button");
const endButton = document.getElementById("end-chat");
const presenceLine = document.getElementById("presence");
const endedLine = document.getElementById("ended");
const statusLine = document.getElementById("status");
const errorLine = document.getElementById("chat-error");

function showError(text) {
  errorLine.textContent = text;
  errorLine.hidden = false;
}

function clearError() {
  errorLine.textContent = "";
  errorLine.hidden = true;
}

// One <li> per message, made of elements and text nodes. A message is never
// parsed as HTML (no innerHTML): "<script>alert(1)</script>" shows as text.
function messageItem(message) {
  const item = document.createElement("li");
  item.className = message.role; // "user" or "attendant": the server checked it
  const time = document.createElement("time");
  time.dateTime = message.time;
  time.textContent = message.time;
  const role = document.createElement("strong");
  role.textContent = message.role;
  item.append(time, " ", role, ": " + message.text);
  return item;
}

function noticeItem(text) {
  const item = document.createElement("li");
  item.className = "notice";
  item.textContent = text;
  return item;
}

// An ended chat is read-only: the form goes, the "This chat has ended" line shows.
function showEnded() {
  form.hidden = true;
  endedLine.hidden = false;
}

function show(item) {
  list.append(item);
  list.scrollTop = list.scrollHeight;
}

if (typeof io === "undefined") {
  statusLine.textContent = "Not connected.";
  showError("The Socket.IO client (static/vendor/socket.io.min.js) is missing: see the lesson note.");
} else {
  // The server and origin this page came from, at the Socket.IO path the page names
  // (the app may be mounted under a prefix such as /course).
  const socket = io({ path: chat.dataset.socketioPath });
  let placeholder = null; // the "No messages yet." line, while there is one

  // On every connect, reconnects included: join the session again. The
  // server answers with the whole history, which replaces the list.
  socket.on("connect", () => {
    statusLine.textContent = `Connected (${socket.io.engine.transport.name}).`;
    socket.io.engine.once("upgrade", (transport) => {
      statusLine.textContent = `Connected (${transport.name}).`;
    });
    socket.emit("join", { chat_id: chat.dataset.chatId }); // the server knows our role
  });

  socket.on("history", (data) => {
    list.replaceChildren(...data.messages.map(messageItem));
    placeholder = data.messages.length ? null : noticeItem("No messages yet.");
    if (placeholder) list.append(placeholder);
    list.scrollTop = list.scrollHeight;
    sendButton.disabled = endButton.disabled = false;
    if (data.ended) showEnded();
  });

  socket.on("presence", (data) => {
    presenceLine.textContent = `In this chat now: ${data.present.join(" and ") || "nobody"}.`;
  });

  socket.on("ended", (notice) => {
    show(noticeItem(notice.text));
    showEnded();
  });

  socket.on("message", (message) => {
    if (placeholder) {
      placeholder.remove();
      placeholder = null;
    }
    show(messageItem(message));
  });

  socket.on("notice", (notice) => show(noticeItem(notice.text)));

  socket.on("chat_error", (data) => showError(data.error));

  // Until the next connect and join, sending would go nowhere.
  socket.on("disconnect", () => {
    statusLine.textContent = "Disconnected: reconnecting…";
    presenceLine.textContent = "";
    sendButton.disabled = endButton.disabled = true;
  });

  endButton.addEventListener("click", () => socket.emit("end"));

  form.addEventListener("submit", (event) => {
    event.preventDefault(); // no page load: the message goes over the socket
    const text = input.value;
    if (!text.trim()) {
      showError("Type a message first.");
      return;
    }
    clearError();
    socket.emit("message", { text });
    input.value = "";
    input.focus();
  });
}
