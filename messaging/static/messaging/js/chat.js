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
