// Story page: subscribe to this story's updates and swap in the re-rendered story, no reload.
(function () {
  "use strict";
  var main = document.getElementById("story");
  if (!main || !window.EventSource) { return; }
  var notice = document.getElementById("live-notice");
  var storyId = main.getAttribute("data-story");
  var pending = null;

  function show(text) {
    if (!notice) { return; }
    notice.textContent = text;
    notice.hidden = false;
    clearTimeout(show.timer);
    show.timer = setTimeout(function () { notice.hidden = true; }, 4000);
  }

  function refresh() {
    pending = null;
    fetch("/stories/" + encodeURIComponent(storyId) + "?fragment=1", { headers: { "Accept": "text/html" } })
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.text(); })
      .then(function (html) {
        // An inert document: nothing in it loads or runs (the server escaped it anyway).
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.querySelector("article.story");
        if (!fresh) { return; }
        var old = main.querySelector("article.story");
        if (old && Number(old.getAttribute("data-version")) >= Number(fresh.getAttribute("data-version"))) { return; }
        main.replaceChildren(document.importNode(fresh, true));
        main.setAttribute("data-version", fresh.getAttribute("data-version"));
        var headline = fresh.querySelector(".headline");
        if (headline) { document.title = headline.textContent + " · storystream"; }
        var status = fresh.querySelector("#status-line");
        show(status ? status.textContent : "Story updated");
      })
      .catch(function () { /* the next event or reconnect retries */ });
  }

  var source = new EventSource("/api/updates?story=" + encodeURIComponent(storyId));
  source.addEventListener("update", function (event) {
    try {
      var update = JSON.parse(event.data);
      if (update.merged_into && update.story_id === storyId) {
        storyId = update.merged_into;
      } else if (update.story_id === storyId &&
                 update.version <= Number(main.getAttribute("data-version"))) {
        return;  // the page already shows this version
      }
    } catch (e) { /* refresh anyway */ }
    if (!pending) { pending = setTimeout(refresh, 150); }
  });
})();
