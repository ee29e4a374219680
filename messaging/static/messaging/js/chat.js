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
  source.addEventListener("status_update", onEvent);
}

document.addEventListener("DOMContentLoaded", liveUpdates);
