// The chat page's realtime half: it joins the session its page names (<main data-chat-id
// data-role>) over Socket.IO, shows its history, then each message as it arrives.
"use strict";

const chat = document.getElementById("chat");
const list = document.getElementById("messages");
const form = document.getElementById("message-form");
const input = document.getElementById("text");
const sendButton = form.querySelector("[type=submit]");
const statusLine = document.getElementById("status");
const errorLine = document.getElementById("chat-error");

// One <li> per message, made of elements and text nodes. A message is never
// parsed as HTML (no innerHTML): "<script>alert(1)</script>" shows as text.
function messageItem(message) {
  const item = document.createElement("li");
  item.className = message.role; // "user" or "attendant": the server checked it
  const time = document.createElement("time");
  time.dateTime = message.time;
  time.textContent = message.time.slice(0, 16).replace("T", " "); // as a person reads it
  const role = document.createElement("strong");
  role.textContent = message.role;
  item.append(time, " ", role, ": " + message.text);
  return item;
}

// The server this page came from, at the path the page names (the app may be under /course).
const socket = io({ path: chat.dataset.socketioPath });

// On every connect, reconnects included, join the session again: the server
// answers with the whole history, which replaces the list.
socket.on("connect", () => {
  statusLine.textContent = "Connected.";
  socket.emit("join", { chat_id: chat.dataset.chatId, role: chat.dataset.role });
});

socket.on("history", (data) => {
  list.replaceChildren(...data.messages.map(messageItem));
  list.scrollTop = list.scrollHeight;
  sendButton.disabled = false;
});

socket.on("message", (message) => {
  list.querySelector(".notice")?.remove(); // "No messages yet."
  list.append(messageItem(message));
  list.scrollTop = list.scrollHeight;
});

socket.on("chat_error", (data) => {
  errorLine.textContent = data.error;
  errorLine.hidden = false;
});

// Until the next connect and join, sending would go nowhere.
socket.on("disconnect", () => {
  statusLine.textContent = "Disconnected: reconnecting…";
  sendButton.disabled = true;
});

form.addEventListener("submit", (event) => {
  event.preventDefault(); // no page load: the message goes over the socket
  errorLine.hidden = true;
  socket.emit("message", { text: input.value });
  input.value = "";
  input.focus();
});
