// Home page: re-render the top headlines when any story is updated.
(function () {
  "use strict";
  var list = document.getElementById("top-stories");
  if (!list || !window.EventSource) { return; }
  var pending = null;
  function refresh() {
    pending = null;
    var query = "?fragment=1&sort=" + encodeURIComponent(list.getAttribute("data-sort")) +
      "&page=" + encodeURIComponent(list.getAttribute("data-page"));
    fetch("/" + query).then(function (r) { return r.ok ? r.text() : null; }).then(function (html) {
      if (html === null) { return; }
      var doc = new DOMParser().parseFromString(html, "text/html");
      list.replaceChildren.apply(list, Array.prototype.map.call(doc.body.childNodes, function (n) {
        return document.importNode(n, true);
      }));
    }).catch(function () {});
  }
  var source = new EventSource("/api/updates");
  source.addEventListener("update", function () { if (!pending) { pending = setTimeout(refresh, 500); } });
})();
