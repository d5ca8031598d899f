// The attendant's list of chat sessions: on every connect it asks for them ("watch"),
// then each "session" event adds a new one at the top.
"use strict";

const desk = document.getElementById("desk");
const sessionList = document.getElementById("sessions");

function sessionItem({ chat_id: chatId }) {
  const item = document.createElement("li");
  const link = document.createElement("a");
  link.href = desk.dataset.chatUrl.replace("CHAT_ID", encodeURIComponent(chatId));
  link.textContent = chatId;
  item.append(link);
  return item;
}

const socket = io({ path: desk.dataset.socketioPath });
socket.on("connect", () => socket.emit("watch"));
socket.on("sessions", (data) => sessionList.replaceChildren(...data.sessions.map(sessionItem)));
socket.on("session", (session) => sessionList.prepend(sessionItem(session)));
