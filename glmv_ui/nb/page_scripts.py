"""The notebook chat's two page scripts: Enter sends, and the transcript follows its end."""

from __future__ import annotations

__all__ = ["ENTER_SENDS_JS", "SCROLL_JS", "SUBMIT"]

# Enter in the message box sends; Shift+Enter is a newline. The key marks the box's own value
# with SUBMIT (an invisible separator nobody types) instead of clicking Send: the front end
# syncs a widget's value in order but may hold it back while the kernel is busy, and a click
# could overtake the last keystrokes. One listener per page, installed by the first chat shown.
SUBMIT = "\u2063"
ENTER_SENDS_JS = """
if (!window.__glmvEnterSends) {
  window.__glmvEnterSends = true;
  document.addEventListener("keydown", (e) => {
    const box = e.target;
    if (e.key !== "Enter" || e.shiftKey || e.isComposing || !box || box.tagName !== "TEXTAREA"
        || !box.closest(".glmv-chat-input")) return;
    e.preventDefault();
    const send = box.closest(".glmv-chat")?.querySelector("button.glmv-send");
    if (!send || send.disabled) return;
    box.value = box.value + "\\u2063";
    box.dispatchEvent(new Event("input", {bubbles: true}));
  }, true);
}
"""
# Scroll the transcript to its end after each redraw (the box keeps its bounded height).
SCROLL_JS = """
if (!window.__glmvScroll) {
  window.__glmvScroll = new MutationObserver((records) => {
    for (const r of records) {
      const t = r.target instanceof Element ? r.target.closest(".glmv-transcript") : null;
      if (t) t.scrollTop = t.scrollHeight;
    }
  });
  window.__glmvScroll.observe(document.body, {childList: true, subtree: true});
}
"""
