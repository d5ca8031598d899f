// The attendant's list of chat sessions, kept up to date over Socket.IO: on every
// connect it asks for the list ("watch"), then each "session" event adds a new
// session at the top or changes the status of one already listed.
"use strict";

const desk = document.getElementById("desk");
const sessionList = document.getElementById("sessions");
const noSessions = document.getElementById("no-sessions");

function showSession({ chat_id: chatId, status }) {
  let item = sessionList.querySelector(`li[data-chat-id="${CSS.escape(chatId)}"]`);
  if (!item) {
    item = document.createElement("li");
    item.dataset.chatId = chatId;
    const link = document.createElement("a");
    link.href = desk.dataset.chatUrl.replace("CHAT_ID", encodeURIComponent(chatId));
    link.textContent = chatId;
    const label = document.createElement("span");
    item.append(link, " ", label);
    sessionList.prepend(item); // the newest first
  }
  const label = item.querySelector("span");
  label.className = `status ${status}`;
  label.textContent = status;
  noSessions.hidden = true;
}

if (typeof io !== "undefined") {
  const socket = io({ path: desk.dataset.socketioPath });
  socket.on("connect", () => socket.emit("watch"));
  socket.on("sessions", (data) => {
    sessionList.replaceChildren();
    data.sessions.slice().reverse().forEach(showSession); // prepended one by one: oldest first
    noSessions.hidden = data.sessions.length > 0;
  });
  socket.on("session", showSession);
}
