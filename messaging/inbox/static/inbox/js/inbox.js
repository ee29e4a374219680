// The conversation page: Enter sends, Shift+Enter adds a line; the composer clears after a send. While the
// canned replies' list is open, Enter takes the chosen one instead.
document.addEventListener("keydown", (event) => {
  const box = event.target;
  if (!box.matches(".composer textarea")) return;
  if (box.matches("#composer textarea") && pickerKey(replyPicker(), event, replyPickerTake)) return;
  if (box.matches("#note-form textarea") && pickerKey(mentionPicker(), event, mentionTake)) return;
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    const file = box.form.querySelector("input[type=file]");
    if (box.value.trim() || (file && file.files.length)) box.form.requestSubmit();
  }
});

document.addEventListener("htmx:beforeRequest", (event) => {
  const form = event.detail.elt.closest && event.detail.elt.closest("#composer, #note-form");
  if (form) form.querySelector(".error[role=alert]").textContent = "";
});

// A note was added: the note composer empties (a refused one keeps its text, the reason above it).
document.addEventListener("htmx:afterRequest", (event) => {
  const form = event.detail.elt.closest && event.detail.elt.closest("#note-form");
  if (!form || !event.detail.successful || !event.detail.target || event.detail.target.id !== "thread") return;
  form.querySelector("textarea").value = "";
  scrollThread();
});

document.addEventListener("htmx:afterRequest", (event) => {
  const form = event.detail.elt.closest && event.detail.elt.closest("#composer");
  if (!form || !event.detail.successful || !event.detail.target) return;
  if (event.detail.target.id === "thread") {
    composerReset(form);
    scrollThread();
  } else if (event.detail.target.id === "composer-error") {
    attachmentClear(form);  // a refused file is not kept for the next send; the text is
  }
});

// After a send the composer starts again: no text, no file, no template, values or preview.
function composerReset(form) {
  form.querySelector("textarea").value = "";
  form.querySelector("select[name=template]").value = "";
  document.getElementById("template-values").replaceChildren();
  document.getElementById("template-preview").replaceChildren();
  const details = form.querySelector("details.templates");
  if (!form.querySelector("textarea").disabled) details.open = false;
  attachmentClear(form);
  counterUpdate(form.querySelector("textarea"));
}

// The chosen file is shown by name, with a button that takes it off.
function attachmentShow(form) {
  const file = form.querySelector("input[type=file]").files[0];
  const box = document.getElementById("attachment");
  box.querySelector(".attachment-name").textContent = file ? file.name : "";
  box.hidden = !file;
}

function attachmentClear(form) {
  form.querySelector("input[type=file]").value = "";
  attachmentShow(form);
}

document.addEventListener("change", (event) => {
  if (event.target.matches("#composer input[type=file]")) attachmentShow(event.target.form);
});

document.addEventListener("click", (event) => {
  const remove = event.target.closest("#attachment-remove");
  if (remove) {
    const form = remove.closest("form");
    attachmentClear(form);
    form.querySelector("textarea").focus();
  }
});

// Characters typed against the channel's limit (the textarea's data-max-length), loud once over it.
function counterUpdate(box) {
  const counter = document.getElementById("body-counter");
  const max = Number(box.dataset.maxLength);
  if (!counter || !max) return;
  const length = [...box.value].length;  // characters, not UTF-16 units: an emoji counts once
  const over = length > max;
  counter.hidden = length === 0;
  counter.textContent = over ? `${length} / ${max} · ${counter.dataset.tooLong}` : `${length} / ${max}`;
  counter.classList.toggle("over", over);
  box.setAttribute("aria-invalid", String(over));
}

document.addEventListener("input", (event) => {
  if (event.target.matches("#composer textarea")) counterUpdate(event.target);
});

function scrollThread() {
  const thread = document.getElementById("thread");
  if (thread) thread.scrollTop = thread.scrollHeight;
}

// The conversation open in the pane (none on the list alone): the split view changes it without a page load.
function openConversation() {
  return document.getElementById("conversation");
}

function openLeadId() {
  const open = openConversation();
  return open ? open.dataset.lead : "";
}

// The open conversation's messages as the server has them now (after a gap the stream cannot fill); the
// composer is left alone, so what the agent is typing is kept.
async function threadReload() {
  const thread = document.getElementById("thread");
  if (!thread) return;
  const response = await fetch(window.location.href);
  if (!response.ok) return;
  const fresh = new DOMParser().parseFromString(await response.text(), "text/html").getElementById("thread");
  if (!fresh) return;
  thread.replaceChildren(...fresh.childNodes);
  htmx.process(thread);
  scrollThread();
}

// Live updates: the server's event stream (it resumes from the last event after a dropped connection).
// EventSource retries by itself only after a dropped connection; after a refusal (any answer but 200) it gives
// up. Then the events feed says why: 410, the events after our last one were pruned (retention), so the page
// reloads its list and conversation and listens from now; 401/403, the session ended; anything else (a proxy's
// 502 during a deploy) resumes from the last event after a pause.
function liveUpdates() {
  const streamUrl = document.body.dataset.stream;
  if (!streamUrl || !window.EventSource) return;
  const eventsUrl = document.body.dataset.eventsUrl;
  let source = null;
  let lastEventId = "";
  let pause = 2000;
  const listeners = [];

  function on(type, handler) {
    listeners.push([type, handler]);
  }

  function connect(cursor) {
    source = new EventSource(cursor ? `${streamUrl}?cursor=${encodeURIComponent(cursor)}` : streamUrl);
    source.addEventListener("open", () => {
      document.body.dataset.live = "open";
      pause = 2000;
    });
    source.addEventListener("error", () => {
      document.body.dataset.live = "reconnecting";
      if (source.readyState === EventSource.CLOSED) setTimeout(resume, pause);
    });
    for (const [type, handler] of listeners) {
      source.addEventListener(type, (event) => {
        if (event.lastEventId) lastEventId = event.lastEventId;
        handler(event);
      });
    }
  }

  async function resume() {
    let status = 0;
    if (lastEventId && eventsUrl) {
      try {
        status = (await fetch(`${eventsUrl}?cursor=${encodeURIComponent(lastEventId)}`)).status;
      } catch {
        status = 0;  // offline: try again later
      }
    }
    if (status === 401 || status === 403) {
      document.body.dataset.live = "closed";
      return;
    }
    if (status === 200) {
      connect(lastEventId);  // nothing was lost: carry on from the last event
      return;
    }
    if (status === 0 && lastEventId) {
      pause = Math.min(pause * 2, 60000);
      setTimeout(resume, pause);
      return;
    }
    // 410 (or no event seen yet): what the page shows is reloaded, and it listens from now.
    pause = Math.min(pause * 2, 60000);
    lastEventId = "";
    connect("");
    source.addEventListener("open", reloadFromNow, { once: true });
  }

  function reloadFromNow() {
    if (rows) refreshInbox();
    if (openLeadId()) {
      threadReload();
      conversationStateRefresh();
    }
    refreshUnreadTotal();
    document.body.dataset.resumed = "from-now";
  }

  const rows = document.querySelector("[data-live=inbox]");
  let inboxRefresh = null;

  // The list as its filters ask (the query string, whichever conversation is open), ticked rows kept ticked.
  function refreshInbox() {
    clearTimeout(inboxRefresh);
    inboxRefresh = setTimeout(() => {
      const ticked = [...rows.querySelectorAll("input[name=lead]:checked")].map((box) => box.value);
      htmx.ajax("GET", document.body.dataset.inboxUrl + listQuery(), { target: rows, swap: "innerHTML" })
        .then(() => {
          for (const value of ticked) {
            const box = rows.querySelector(`input[name=lead][value="${value}"]`);
            if (box) box.checked = true;
          }
        });
    }, 150);
  }

  // A message (or a note: kind "note") of the open conversation, fetched as it shows now: replaced where it is,
  // else added at the end.
  async function upsertBubble(id, kind = "bubble") {
    const open = openConversation();
    if (!open) return;
    const url = open.dataset[`${kind}Url`].replace("00000000-0000-0000-0000-000000000000", id);
    const response = await fetch(url, { headers: { "HX-Request": "true" } });
    if (!response.ok) return;
    const holder = document.createElement("template");
    holder.innerHTML = (await response.text()).trim();
    const fresh = holder.content.firstElementChild;
    const current = document.getElementById((kind === "note" ? "note-" : "message-") + id);
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
    if (data.lead_id === openLeadId()) upsertBubble(data.message_id);
  }

  // A message from the lead (it opens the window, or says STOP or START) or a change to the lead: the open
  // conversation re-reads its state.
  function onLeadEvent(event) {
    const data = JSON.parse(event.data);
    if (data.lead_id === openLeadId()) conversationStateRefresh();
  }

  on("new_message", onEvent);
  on("new_message", onNewMessage);
  on("new_message", onLeadEvent);
  on("message_sent", onEvent);
  on("status_update", onEvent);
  on("lead_changed", onLeadEvent);
  on("presence", onPresence);
  // A private note: shown in its open conversation; an agent it mentions is told, and their Mentions count grows.
  on("note_added", (event) => {
    const data = JSON.parse(event.data);
    if (data.lead_id === openLeadId()) upsertBubble(data.note_id, "note");
    onMention(data);
    if (rows && data.mentioned.map(String).includes(document.body.dataset.userId)) refreshInbox();
  });
  on("lead_changed", () => { if (rows) refreshInbox(); });
  on("read", () => {
    if (rows) refreshInbox();
    refreshUnreadTotal();
  });
  // Taken, assigned, resolved, snoozed, woken up: the list (and its counts) and the open conversation's controls.
  on("conversation_changed", (event) => {
    if (rows) refreshInbox();
    onLeadEvent(event);
  });
  connect("");
}

document.addEventListener("DOMContentLoaded", liveUpdates);

// The open conversation's state (heading, notices, what the composer allows) as the server says it now:
// re-read on the lead's events, when the 24-hour window closes, and after the agent saves the lead's details.
// The composer itself stays, so what the agent is typing is kept.
let stateRefresh = null;
let windowTimer = null;

function conversationStateRefresh() {
  clearTimeout(stateRefresh);
  stateRefresh = setTimeout(async () => {
    const head = document.getElementById("conversation-head");
    if (!head) return;
    const picker = document.getElementById("channel-picker");
    const url = picker ? `${head.dataset.stateUrl}?via=${encodeURIComponent(picker.value)}` : head.dataset.stateUrl;
    const response = await fetch(url, { headers: { "HX-Request": "true" } });
    if (response.ok) conversationPartsReplace(await response.text());
  }, 100);
}

// The parts of the open conversation the server drew again (each by its id), then what they allow applied.
function conversationPartsReplace(html) {
  const holder = document.createElement("template");
  holder.innerHTML = html;
  for (const part of [...holder.content.children]) {
    const current = part.id && document.getElementById(part.id);
    if (current) {
      current.replaceWith(part);
      htmx.process(part);
    }
  }
  conversationStateApply();
}

// The channel picker: the choice is remembered for the conversation, and the composer follows it (WhatsApp's
// window, the templates of that channel).
document.addEventListener("change", async (event) => {
  const picker = event.target.closest("#channel-picker");
  if (!picker) return;
  const body = new FormData();
  body.append("channel", picker.value);
  const response = await fetch(picker.dataset.url, {
    method: "POST", body, headers: { "HX-Request": "true", "X-CSRFToken": csrfToken() },
  });
  if (response.ok) conversationPartsReplace(await response.text());
});

function conversationStateApply() {
  countdownsUpdate();
  const head = document.getElementById("conversation-head");
  const form = document.getElementById("composer");
  if (!head || !form) return;
  const canSend = head.dataset.canSend === "true";
  const canType = head.dataset.canType === "true";
  form.querySelector(".compose-row").hidden = !canSend;
  const templates = form.querySelector("details.templates");
  templates.hidden = !canSend;
  const picker = form.querySelector(".channel-picker");
  if (picker) picker.hidden = !canSend;
  if (canSend && !canType) templates.open = true;
  for (const control of form.querySelectorAll(".compose-row textarea, .compose-row input, .compose-row button")) {
    control.disabled = !canType;
  }
  if (!canType) attachmentClear(form);
  notifyBase = head.dataset.title;
  refreshUnreadTotal();
  clearTimeout(windowTimer);
  if (head.dataset.windowCloses) {
    const wait = Date.parse(head.dataset.windowCloses) - Date.now();
    // Past already by this clock but not by the server's: ask again a little later.
    windowTimer = setTimeout(conversationStateRefresh, wait > 0 ? wait + 500 : 30000);
  }
}

document.addEventListener("DOMContentLoaded", () => {
  document.body.addEventListener("conversation-changed", conversationStateRefresh);
});

// Notifications for messages from leads: a toast, a sound (can be muted), the browser's notification
// (permission asked on a click), and the unread total in the tab title. Each message notifies once,
// however many tabs are open: the first tab to take the message's lock does it; the others see the flag.
let notifyBase = document.title;

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
  const key = data.message_id || `note-${data.note_id}`;
  const flag = `happycrm:notified:${key}`;
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
    const note = new Notification(data.lead_name, { body: data.body, tag: key });
    note.onclick = () => { window.focus(); window.location.href = data.url; };
  }
}

// A lead's message notifies its conversation's assignee, or everyone while nobody has it.
function onNewMessage(event) {
  const data = JSON.parse(event.data);
  refreshUnreadTotal();
  if (data.assignee_id != null && String(data.assignee_id) !== document.body.dataset.userId) return;
  if (openLeadId() === data.lead_id && document.visibilityState === "visible") return;  // seen
  data.url = document.body.dataset.conversationUrl.replace("00000000-0000-0000-0000-000000000000", data.lead_id);
  if (document.visibilityState === "visible") toast(data);
  notifyOnce(data);
}

// A note that mentions this agent notifies them like a message would, wherever they are (but where they wrote it).
function onMention(data) {
  const me = document.body.dataset.userId;
  if (!data.mentioned.map(String).includes(me) || String(data.author_id) === me) return;
  data.url = document.body.dataset.conversationUrl.replace("00000000-0000-0000-0000-000000000000", data.lead_id);
  const phrase = document.getElementById("toasts")?.dataset.mentioned || "%(author)s:";
  data.body = `${phrase.replace("%(author)s", data.author)} ${data.excerpt}`;
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
let olderHeightBefore = 0;

function threadLoadsOlder(thread) {
  thread.addEventListener("scroll", () => {
    const button = thread.querySelector(".older button");
    if (thread.scrollTop < 40 && button && !button.dataset.loading) {
      button.dataset.loading = "1";
      olderHeightBefore = thread.scrollHeight;
      button.click();
    }
  });
}

document.addEventListener("htmx:afterSettle", () => {
  const thread = document.getElementById("thread");
  if (thread && olderHeightBefore) {
    thread.scrollTop += thread.scrollHeight - olderHeightBefore;
    olderHeightBefore = 0;
  }
});

// Day separators ("Today", "Yesterday", a date) before each day's first message, in the site's time zone,
// recomputed whenever the thread changes (older pages above, live and sent messages below). A message that
// arrived twice (the send's answer and the live event) is shown once.
function threadDays(thread) {
  const zone = thread.dataset.timeZone || undefined;
  const dayOf = (date) => {
    const parts = new Intl.DateTimeFormat("en-US", { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit" })
      .formatToParts(date);
    const part = (type) => parts.find((item) => item.type === type).value;
    return `${part("year")}-${part("month")}-${part("day")}`;
  };
  const label = new Intl.DateTimeFormat(document.documentElement.lang || undefined, {
    timeZone: zone, weekday: "long", day: "numeric", month: "long", year: "numeric",
  });
  const today = dayOf(new Date());
  const before = new Date(`${today}T12:00:00Z`);
  before.setUTCDate(before.getUTCDate() - 1);
  const yesterday = before.toISOString().slice(0, 10);

  const seen = new Set();
  for (const bubble of [...thread.querySelectorAll(":scope > li.bubble")].reverse()) {
    if (seen.has(bubble.id)) bubble.remove();
    else seen.add(bubble.id);
  }
  for (const old of thread.querySelectorAll(":scope > li.day")) old.remove();
  let previous = null;
  for (const bubble of thread.querySelectorAll(":scope > li.bubble")) {
    const time = bubble.querySelector("time[datetime]");
    if (!time) continue;
    const when = new Date(time.dateTime);
    const day = dayOf(when);
    if (day === previous) continue;
    previous = day;
    const separator = document.createElement("li");
    separator.className = "day";
    separator.textContent = day === today ? thread.dataset.today : day === yesterday ? thread.dataset.yesterday : label.format(when);
    bubble.before(separator);
  }
}

function threadKeepsDays(thread) {
  const observer = new MutationObserver(() => {
    observer.disconnect();
    threadDays(thread);
    observer.observe(thread, { childList: true });
  });
  threadDays(thread);
  observer.observe(thread, { childList: true });
}

// What an open conversation needs once it is on the page (loaded with it, or put in the pane from the list).
function paneInit() {
  const thread = document.getElementById("thread");
  if (!thread) return;
  threadLoadsOlder(thread);
  threadKeepsDays(thread);
  scrollThread();
  conversationStateApply();
  presenceFollow();
}

document.addEventListener("DOMContentLoaded", paneInit);

// Collision: who else has this conversation open, and who is typing a reply in it, so two agents do not answer
// one lead at once. The page says "viewing" when it opens a conversation and every heartbeat after, "typing" (at
// most every few seconds) while the agent types, "left" when it closes it; the server tells the other pages at
// once and answers with who is there now. Someone not heard of for a while has gone (a closed laptop).
const TYPING_EVERY = 3000;
const TYPING_SHOWN = 6000;
const VIEWER_EXPIRES = 45000;
let presenceLead = null;
let presenceUrl = null;
let presenceTimer = null;
let typingSentAt = 0;
const viewers = new Map();  // user id → { name, seen, typingUntil }

function csrfToken() {
  try {
    return JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"];
  } catch {
    return "";
  }
}

async function presenceSend(state, url = presenceUrl) {
  if (!url) return;
  const body = new FormData();
  body.append("state", state);
  body.append("csrfmiddlewaretoken", csrfToken());
  if (state === "left") {
    navigator.sendBeacon(url, body);  // also while the page is going away
    return;
  }
  try {
    const response = await fetch(url, { method: "POST", body, headers: { "X-CSRFToken": csrfToken() } });
    if (!response.ok || url !== presenceUrl) return;
    const now = Date.now();
    for (const viewer of (await response.json()).viewers) {
      const known = viewers.get(String(viewer.user_id));
      viewers.set(String(viewer.user_id), { name: viewer.name, seen: now, typingUntil: known ? known.typingUntil : 0 });
    }
    presenceShow();
  } catch {
    // offline: the next heartbeat tries again
  }
}

// The open conversation changed (opened, another one, closed): the one before is left, the new one announced.
function presenceFollow() {
  const lead = openLeadId();
  if (lead === presenceLead) return;
  if (presenceLead) presenceSend("left");
  clearInterval(presenceTimer);
  viewers.clear();
  typingSentAt = 0;
  presenceLead = lead;
  const box = document.getElementById("presence");
  presenceUrl = lead && box ? box.dataset.url : null;
  if (!presenceUrl) return;
  presenceSend("viewing");
  presenceTimer = setInterval(() => {
    presenceSend("viewing");
    presenceShow();
  }, Number(box.dataset.heartbeat || 20) * 1000);
}

function presenceShow() {
  const box = document.getElementById("presence");
  if (!box) return;
  const now = Date.now();
  for (const [id, viewer] of viewers) if (now - viewer.seen > VIEWER_EXPIRES) viewers.delete(id);
  const here = [...viewers.values()];
  const typing = here.filter((viewer) => viewer.typingUntil > now);
  const idle = here.filter((viewer) => viewer.typingUntil <= now);
  const parts = typing.map((viewer) => box.dataset.typing.replace("%(name)s", viewer.name));
  if (idle.length) parts.push(`${box.dataset.also} ${idle.map((viewer) => viewer.name).join(", ")}`);
  box.textContent = parts.join(" · ");  // names as text, never HTML
  box.classList.toggle("typing", typing.length > 0);
  box.hidden = !here.length;
  if (typing.length) setTimeout(presenceShow, TYPING_SHOWN + 100);
}

function onPresence(event) {
  const data = JSON.parse(event.data);
  if (data.lead_id !== openLeadId() || String(data.user_id) === document.body.dataset.userId) return;
  const id = String(data.user_id);
  if (data.state === "left") viewers.delete(id);
  else {
    const now = Date.now();
    const known = viewers.get(id);
    viewers.set(id, {
      name: data.name,
      seen: now,
      typingUntil: data.state === "typing" ? now + TYPING_SHOWN : known ? known.typingUntil : 0,
    });
  }
  presenceShow();
}

document.addEventListener("input", (event) => {
  if (!event.target.matches("#composer textarea") || !presenceUrl) return;
  if (Date.now() - typingSentAt < TYPING_EVERY) return;
  typingSentAt = Date.now();
  presenceSend("typing");
});

window.addEventListener("pagehide", () => {
  if (presenceLead) presenceSend("left");
});
window.addEventListener("pageshow", (event) => {
  if (event.persisted && presenceLead) presenceSend("viewing");  // back from the browser's page cache
});

// The split view: a conversation chosen in the list opens in the pane beside it (the list keeps its filters,
// scroll and live updates); the address follows the open conversation, and back and forward go through the
// conversations opened. On a phone the same page shows one column: the list, or the open conversation.
function listMarkOpen() {
  const lead = openLeadId();
  for (const row of document.querySelectorAll(".conversations .conversation")) {
    row.classList.toggle("active", row.dataset.lead === lead);
  }
  const split = document.getElementById("inbox-split");
  if (split) split.classList.toggle("has-conversation", Boolean(lead || document.getElementById("start-view")));
}

// However the list was drawn again (a live update, a filter, a bulk action), its open row is marked once it is in.
document.addEventListener("htmx:afterSettle", (event) => {
  if (event.detail.target && event.detail.target.id === "inbox-list") listMarkOpen();
});

async function paneOpen(url, { push = true } = {}) {
  const pane = document.getElementById("pane");
  const response = await fetch(url, { headers: { "HX-Request": "true", "HX-Target": "pane" } });
  if (!response.ok) {
    window.location.href = url;  // a conversation gone or not allowed: the server's own page says so
    return;
  }
  pane.innerHTML = await response.text();
  htmx.process(pane);
  if (push) history.pushState({ pane: true }, "", url);
  const shown = openConversation() || document.getElementById("start-view");
  if (shown) document.title = shown.dataset.title;
  notifyBase = document.title;
  listMarkOpen();
  paneInit();
  refreshUnreadTotal();
}

function paneClose() {
  const pane = document.getElementById("pane");
  const empty = document.getElementById("pane-empty");
  if (pane && empty) pane.replaceChildren(empty.content.cloneNode(true));
  listMarkOpen();
  presenceFollow();
}

document.addEventListener("click", (event) => {
  const link = event.target.closest("a[data-pane-link]");
  if (!link || !document.getElementById("pane") || event.button !== 0) return;
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;  // a new tab, as asked
  event.preventDefault();
  paneOpen(link.href);
});

document.addEventListener("click", (event) => {
  const back = event.target.closest("a[data-pane-back]");
  if (!back || !document.getElementById("pane") || event.button !== 0) return;
  event.preventDefault();
  history.pushState({ pane: true }, "", back.href);
  paneClose();
});

window.addEventListener("popstate", () => {
  if (!document.getElementById("pane")) return;
  const inboxPath = new URL(document.body.dataset.inboxUrl, window.location.href).pathname;
  if (window.location.pathname === inboxPath) paneClose();
  else paneOpen(window.location.href, { push: false });
});

// The list's query as the filters say it now (the address follows them only once their request answers), with the
// page the address holds.
function filtersQuery(form) {
  const query = new URLSearchParams(new FormData(form));
  for (const [key, value] of [...query.entries()]) if (!value) query.delete(key);
  return query;
}

function listQuery() {
  const form = document.getElementById("filters");
  if (!form) return window.location.search;
  const query = filtersQuery(form);
  const page = new URLSearchParams(window.location.search).get("page");
  if (page) query.set("page", page);
  return `?${query}`;
}

// The filters change the list in place; the address keeps them (with the open conversation's path), so a reload
// or a link shows the same list.
document.addEventListener("htmx:afterRequest", (event) => {
  const form = event.detail.elt;
  if (!form || form.id !== "filters" || !event.detail.successful) return;
  history.replaceState(history.state, "", `${window.location.pathname}?${filtersQuery(form)}`);
});

// Keyboard: j / k the next or previous conversation, r the composer, e resolve, a take it (assign to me),
// ? the list of keys. Not while typing, and not with a modifier (the browser's own keys).
const SHORTCUTS = {
  j: () => listStep(1),
  k: () => listStep(-1),
  r: () => composeTab("reply") ?? document.querySelector("#composer textarea:not(:disabled)")?.focus(),
  n: () => composeTab("note"),
  e: () => document.getElementById("resolve")?.click(),
  a: () => document.getElementById("take")?.click(),
  "?": () => {
    const help = document.getElementById("shortcuts");
    if (help) (help.open ? help.close() : help.showModal());
  },
};

function listStep(step) {
  const links = [...document.querySelectorAll(".conversations a[data-pane-link]")];
  if (!links.length) return;
  const current = links.findIndex((link) => link.closest(".conversation").classList.contains("active"));
  const next = links[Math.min(Math.max(current + step, 0), links.length - 1)];
  if (current === -1 || next !== links[current]) {
    next.focus();
    next.click();
  }
}

document.addEventListener("keydown", (event) => {
  if (event.ctrlKey || event.metaKey || event.altKey || event.isComposing) return;
  const target = event.target;
  if (target.closest("input, textarea, select, [contenteditable]")) return;
  const action = SHORTCUTS[event.key];
  if (!action || !document.getElementById("inbox-split")) return;
  event.preventDefault();
  action();
});

// The phone layout's menu: the top bar stays one line, the links open below it.
document.addEventListener("DOMContentLoaded", () => {
  const toggle = document.querySelector(".topbar .menu-toggle");
  const nav = document.getElementById("topnav");
  if (!toggle || !nav) return;
  toggle.closest(".topbar").classList.add("menu-ready");
  toggle.addEventListener("click", () => {
    const open = nav.classList.toggle("open");
    toggle.setAttribute("aria-expanded", String(open));
  });
});

// Pickers under a composer (canned replies, agents to mention): arrows choose, Enter or a click takes the chosen
// one, Escape closes the list; the composer keeps the focus throughout.
function pickerClose(picker, box) {
  if (!picker) return;
  picker.hidden = true;
  picker.replaceChildren();
  box.setAttribute("aria-expanded", "false");
  box.removeAttribute("aria-activedescendant");
}

function pickerShow(picker, box) {
  picker.hidden = false;
  box.setAttribute("aria-expanded", "true");
  pickerMark(picker, box, picker.querySelector(".reply-option"));
}

function pickerMark(picker, box, option) {
  for (const item of picker.querySelectorAll(".reply-option")) {
    item.classList.toggle("chosen", item === option);
    item.setAttribute("aria-selected", String(item === option));
  }
  if (option) {
    box.setAttribute("aria-activedescendant", option.id);
    option.scrollIntoView({ block: "nearest" });
  }
}

function pickerKey(picker, event, take) {
  if (!picker || picker.hidden) return false;
  const box = event.target;
  const options = [...picker.querySelectorAll(".reply-option")];
  const current = options.findIndex((item) => item.classList.contains("chosen"));
  if ((event.key === "ArrowDown" || event.key === "ArrowUp") && options.length) {
    event.preventDefault();
    const step = event.key === "ArrowDown" ? 1 : -1;
    pickerMark(picker, box, options[(current + step + options.length) % options.length]);
    return true;
  }
  if ((event.key === "Enter" || event.key === "Tab") && !event.shiftKey && current !== -1) {
    event.preventDefault();
    take(box, options[current]);
    return true;
  }
  if (event.key === "Escape") {
    event.preventDefault();
    pickerClose(picker, box);
    return true;
  }
  return false;
}

// Canned replies: "/" and the start of a shortcut in an otherwise empty composer lists the matching replies,
// filled for this lead; the one taken replaces the text (to read and send as any text, so WhatsApp's window
// still decides).
let pickerRequest = 0;

function replyPicker() {
  return document.getElementById("reply-picker");
}

async function replyPickerUpdate(box) {
  const picker = replyPicker();
  const match = /^\/([\p{L}\p{N}_-]*)$/u.exec(box.value);
  if (!picker || !match) {
    pickerClose(picker, box);
    return;
  }
  const ticket = ++pickerRequest;
  const response = await fetch(`${box.dataset.repliesUrl}?q=${encodeURIComponent(match[1])}`, { headers: { "HX-Request": "true" } });
  if (!response.ok || ticket !== pickerRequest) return;
  picker.innerHTML = await response.text();
  pickerShow(picker, box);
}

function replyPickerTake(box, option) {
  box.value = option.dataset.text;
  pickerClose(replyPicker(), box);
  box.focus();
  counterUpdate(box);
}

// Mentions: "@" and the start of a name (an agent's username or full name) in a note lists the team's agents;
// the one taken replaces what was typed after the "@" with their username.
function mentionPicker() {
  return document.getElementById("mention-picker");
}

function mentionQuery(box) {
  return /(?:^|\s)@([\p{L}\p{N}._+-]*)$/u.exec(box.value.slice(0, box.selectionStart));
}

function mentionUpdate(box) {
  const picker = mentionPicker();
  const agents = document.getElementById("mention-agents");
  const match = mentionQuery(box);
  if (!picker || !agents || !match) {
    pickerClose(picker, box);
    return;
  }
  const query = match[1].toLocaleLowerCase();
  const found = [...agents.content.querySelectorAll(".reply-option")]
    .filter((option) => option.dataset.search.split(/\s+/).some((word) => word.startsWith(query)))
    .slice(0, 8)
    .map((option) => option.cloneNode(true));
  if (!found.length) {
    pickerClose(picker, box);
    return;
  }
  picker.replaceChildren(...found);
  pickerShow(picker, box);
}

function mentionTake(box, option) {
  const match = mentionQuery(box);
  const end = box.selectionStart;
  const start = end - match[1].length - 1;
  box.value = `${box.value.slice(0, start)}${option.dataset.text} ${box.value.slice(end)}`;
  box.selectionStart = box.selectionEnd = start + option.dataset.text.length + 1;
  pickerClose(mentionPicker(), box);
  box.focus();
}

document.addEventListener("input", (event) => {
  if (event.target.matches("#composer textarea")) replyPickerUpdate(event.target);
  if (event.target.matches("#note-form textarea")) mentionUpdate(event.target);
});

document.addEventListener("mousedown", (event) => {
  const option = event.target.closest("#reply-picker .reply-option, #mention-picker .reply-option");
  if (!option) return;
  event.preventDefault();  // the composer keeps the focus
  if (option.closest("#reply-picker")) replyPickerTake(document.querySelector("#composer textarea"), option);
  else mentionTake(document.querySelector("#note-form textarea"), option);
});

// Reply or private note: the tabs above the composer show one form or the other (a note can be written whatever
// the lead can receive); n opens the note.
function composeTab(which) {
  const note = which === "note";
  const tabs = { reply: document.getElementById("tab-reply"), note: document.getElementById("tab-note") };
  const forms = { reply: document.getElementById("composer"), note: document.getElementById("note-form") };
  if (!tabs.note || !forms.note) return;
  tabs.reply.setAttribute("aria-selected", String(!note));
  tabs.note.setAttribute("aria-selected", String(note));
  forms.reply.hidden = note;
  forms.note.hidden = !note;
  const box = forms[note ? "note" : "reply"].querySelector("textarea:not(:disabled)");
  if (box) box.focus();
}

document.addEventListener("click", (event) => {
  const tab = event.target.closest("#tab-reply, #tab-note");
  if (tab) composeTab(tab.id === "tab-note" ? "note" : "reply");
});

// WhatsApp's window as a countdown: the time left, every half minute (the state is re-read when it reaches 0).
function countdownsUpdate() {
  for (const clock of document.querySelectorAll("time.countdown")) {
    const left = Math.max(0, Date.parse(clock.dateTime) - Date.now());
    const hours = Math.floor(left / 3600000);
    const minutes = Math.floor((left % 3600000) / 60000);
    clock.textContent = clock.dataset.format.replace("%(hours)s", hours).replace("%(minutes)s", minutes);
    clock.closest(".window-open")?.classList.toggle("closing", left < 3600000);
  }
}
document.addEventListener("DOMContentLoaded", () => {
  countdownsUpdate();
  setInterval(countdownsUpdate, 30000);
});
document.addEventListener("htmx:afterSettle", countdownsUpdate);

// When only a template may be sent: one click chooses the best one, and its values and preview come filled in.
document.addEventListener("click", (event) => {
  const button = event.target.closest("#use-best-template");
  if (!button) return;
  const select = document.querySelector("#composer select[name=template]");
  select.value = button.dataset.template;
  select.dispatchEvent(new Event("change", { bubbles: true }));
});

// Mark unread: done, the conversation closes here (opening it would read it again) and the list shows it bold.
document.addEventListener("htmx:afterRequest", (event) => {
  const form = event.detail.elt;
  if (!form.matches || !form.matches("form.mark-unread") || !event.detail.successful) return;
  const back = document.querySelector("#conversation a[data-pane-back]");
  if (back && document.getElementById("pane")) {
    history.pushState({ pane: true }, "", back.href);
    paneClose();
  }
});

// A quote's link: the quoted message is scrolled to and marked, older pages loaded until it is there.
const QUOTE_PAGES = 20;

function nextSettle() {
  return new Promise((resolve) => document.addEventListener("htmx:afterSettle", resolve, { once: true }));
}

document.addEventListener("click", async (event) => {
  const link = event.target.closest && event.target.closest("a[data-quoted]");
  if (!link) return;
  event.preventDefault();
  const id = link.dataset.quoted;
  for (let page = 0; page < QUOTE_PAGES && !document.getElementById(id); page++) {
    const button = document.querySelector("#thread .older button");
    if (!button) break;
    const settled = nextSettle();
    button.click();
    await settled;
  }
  const target = document.getElementById(id);
  if (!target) return;
  target.scrollIntoView({ block: "center" });
  target.classList.add("quoted-target");
  setTimeout(() => target.classList.remove("quoted-target"), 2000);
});

// The list is drawn by several requests (a filter changed, a live update, a bulk action) that may answer out of
// order: only the newest one's answer is put in, so a slow answer to an older list never replaces a newer one.
let listTicket = 0;
document.addEventListener("htmx:beforeRequest", (event) => {
  if (event.detail.target && event.detail.target.id === "inbox-list") event.detail.xhr.listTicket = ++listTicket;
});
document.addEventListener("htmx:beforeSwap", (event) => {
  const ticket = event.detail.xhr && event.detail.xhr.listTicket;
  if (ticket && ticket !== listTicket) event.detail.shouldSwap = false;
});
