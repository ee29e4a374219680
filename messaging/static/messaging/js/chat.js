// The conversation page: Enter sends, Shift+Enter adds a line; the composer clears after a send.
document.addEventListener("keydown", (event) => {
  const box = event.target;
  if (box.matches(".composer textarea") && event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    if (box.value.trim() || box.form.querySelector("input[type=file]").files.length) {
      box.form.requestSubmit();
    }
  }
});

document.addEventListener("htmx:beforeRequest", (event) => {
  const error = document.getElementById("composer-error");
  if (error && event.detail.elt.closest && event.detail.elt.closest("#composer")) error.textContent = "";
});

document.addEventListener("htmx:afterRequest", (event) => {
  const form = event.detail.elt.closest && event.detail.elt.closest("#composer");
  if (!form || !event.detail.successful) return;
  if (event.detail.target && event.detail.target.id === "thread") {
    form.querySelector("textarea").value = "";
    form.querySelector("input[type=file]").value = "";
    scrollThread();
  }
});

function scrollThread() {
  const thread = document.getElementById("thread");
  if (thread) thread.scrollTop = thread.scrollHeight;
}

document.addEventListener("DOMContentLoaded", scrollThread);

// Live updates: the server's event stream (it resumes from the last event after a dropped connection).
function liveUpdates() {
  const streamUrl = document.body.dataset.stream;
  if (!streamUrl || !window.EventSource) return;
  const source = new EventSource(streamUrl);
  const leadId = document.body.dataset.lead;
  const rows = document.querySelector("[data-live=inbox]");
  let inboxRefresh = null;

  function refreshInbox() {
    clearTimeout(inboxRefresh);
    inboxRefresh = setTimeout(() => {
      htmx.ajax("GET", window.location.pathname + window.location.search, { target: rows, swap: "innerHTML" });
    }, 150);
  }

  async function upsertBubble(messageId) {
    const url = document.body.dataset.bubbleUrl.replace("00000000-0000-0000-0000-000000000000", messageId);
    const response = await fetch(url, { headers: { "HX-Request": "true" } });
    if (!response.ok) return;
    const holder = document.createElement("template");
    holder.innerHTML = (await response.text()).trim();
    const fresh = holder.content.firstElementChild;
    const current = document.getElementById("message-" + messageId);
    if (current) current.replaceWith(fresh);
    else {
      document.getElementById("thread").appendChild(fresh);
      scrollThread();
    }
    htmx.process(fresh);
  }

  function onEvent(event) {
    const data = JSON.parse(event.data);
    if (rows) refreshInbox();
    if (leadId && data.lead_id === leadId) upsertBubble(data.message_id);
  }

  source.addEventListener("new_message", onEvent);
  source.addEventListener("new_message", onNewMessage);
  source.addEventListener("status_update", onEvent);
  source.addEventListener("read", () => {
    if (rows) refreshInbox();
    refreshUnreadTotal();
  });
}

document.addEventListener("DOMContentLoaded", liveUpdates);

// Notifications for messages from leads: a toast, a sound (can be muted), the browser's notification
// (permission asked on a click), and the unread total in the tab title. Each message notifies once,
// however many tabs are open: the first tab to take the message's lock does it; the others see the flag.
const notifyBase = document.title;

async function refreshUnreadTotal() {
  const url = document.body.dataset.unreadUrl;
  if (!url) return;
  const response = await fetch(url);
  if (!response.ok) return;
  const { total } = await response.json();
  document.title = total ? `(${total}) ${notifyBase}` : notifyBase;
}

function beep() {
  if (localStorage.getItem("happycrm:muted") === "1") return;
  const Context = window.AudioContext || window.webkitAudioContext;
  if (!Context) return;
  const audio = new Context();
  const tone = audio.createOscillator();
  const gain = audio.createGain();
  tone.frequency.value = 880;
  gain.gain.setValueAtTime(0.15, audio.currentTime);
  gain.gain.exponentialRampToValueAtTime(0.0001, audio.currentTime + 0.4);
  tone.connect(gain).connect(audio.destination);
  tone.start();
  tone.stop(audio.currentTime + 0.4);
}

function toast(data) {
  const box = document.getElementById("toasts");
  if (!box) return;
  const item = document.createElement("div");
  item.className = "toast";
  item.setAttribute("role", "status");
  const text = document.createElement("span");
  text.textContent = `${data.lead_name}: ${data.body}`;  // text, never HTML
  const view = document.createElement("a");
  view.href = data.url;
  view.textContent = box.dataset.view;
  item.append(text, view);
  box.appendChild(item);
  setTimeout(() => item.remove(), 8000);
}

async function notifyOnce(data) {
  const flag = `happycrm:notified:${data.message_id}`;
  const claim = () => {
    if (localStorage.getItem(flag)) return false;
    localStorage.setItem(flag, String(Date.now()));
    return true;
  };
  const first = navigator.locks
    ? await navigator.locks.request(flag, claim)
    : claim();
  if (!first) return;
  beep();
  if (window.Notification && Notification.permission === "granted" && document.visibilityState !== "visible") {
    const note = new Notification(data.lead_name, { body: data.body, tag: data.message_id });
    note.onclick = () => { window.focus(); window.location.href = data.url; };
  }
}

function onNewMessage(event) {
  const data = JSON.parse(event.data);
  refreshUnreadTotal();
  if (document.body.dataset.lead === data.lead_id && document.visibilityState === "visible") return;  // seen
  data.url = document.body.dataset.conversationUrl.replace("00000000-0000-0000-0000-000000000000", data.lead_id);
  if (document.visibilityState === "visible") toast(data);
  notifyOnce(data);
}

document.addEventListener("DOMContentLoaded", () => {
  refreshUnreadTotal();
  const enable = document.getElementById("enable-notifications");
  if (enable && window.Notification && Notification.permission === "default") {
    enable.hidden = false;
    enable.addEventListener("click", async () => {
      await Notification.requestPermission();
      enable.hidden = true;
    });
  }
  const mute = document.getElementById("mute");
  if (mute) {
    const show = () => { mute.setAttribute("aria-pressed", String(localStorage.getItem("happycrm:muted") === "1")); };
    show();
    mute.addEventListener("click", () => {
      localStorage.setItem("happycrm:muted", localStorage.getItem("happycrm:muted") === "1" ? "0" : "1");
      show();
    });
  }
});

// Older messages load when the agent scrolls to the top of the thread (the button stays for the keyboard);
// the view keeps its place while they are added above.
document.addEventListener("DOMContentLoaded", () => {
  const thread = document.getElementById("thread");
  if (!thread) return;
  let heightBefore = 0;
  thread.addEventListener("scroll", () => {
    const button = thread.querySelector(".older button");
    if (thread.scrollTop < 40 && button && !button.dataset.loading) {
      button.dataset.loading = "1";
      heightBefore = thread.scrollHeight;
      button.click();
    }
  });
  document.body.addEventListener("htmx:afterSettle", () => {
    if (heightBefore) {
      thread.scrollTop += thread.scrollHeight - heightBefore;
      heightBefore = 0;
    }
  });
});
