// Ops dashboard: polls /api/ops and draws inline SVG charts (no libraries, no build step).
(function () {
  "use strict";
  var SVG = "http://www.w3.org/2000/svg";
  var COLORS = ["#0b5cad", "#d1495b", "#edae49", "#00798c", "#66a182", "#8d6a9f", "#30638e"];
  var peaks = {};

  function el(name, attrs) {
    var node = document.createElementNS(SVG, name);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    return node;
  }

  function text(id, value) {
    var node = document.getElementById(id);
    if (node) { node.textContent = value; }
  }

  function fmt(v) {
    if (v >= 100) { return Math.round(v).toString(); }
    if (v >= 1) { return v.toFixed(1); }
    return v === 0 ? "0" : v.toFixed(2);
  }

  // lines: [{name, points: [[t, v], ...]}]
  function lineChart(svgId, legendId, lines) {
    var svg = document.getElementById(svgId);
    if (!svg) { return; }
    var w = 400, h = 170, left = 34, bottom = 18, top = 8;
    svg.replaceChildren();
    var t0 = Infinity, t1 = -Infinity, max = 0;
    lines.forEach(function (line) {
      line.points.forEach(function (p) {
        t0 = Math.min(t0, p[0]); t1 = Math.max(t1, p[0]); max = Math.max(max, p[1]);
      });
    });
    if (!isFinite(t0)) { t0 = 0; t1 = 1; }
    if (t1 === t0) { t1 = t0 + 1; }
    max = max > 0 ? max * 1.1 : 1;
    function x(t) { return left + (w - left - 4) * (t - t0) / (t1 - t0); }
    function y(v) { return top + (h - top - bottom) * (1 - v / max); }
    [0, 0.5, 1].forEach(function (f) {
      var yy = y(max * f);
      svg.appendChild(el("line", { x1: left, x2: w - 4, y1: yy, y2: yy, stroke: "#e3e6ea" }));
      var label = el("text", { x: 2, y: yy + 4, "font-size": 10, fill: "#5d6770" });
      label.textContent = fmt(max * f);
      svg.appendChild(label);
    });
    var span = el("text", { x: w - 4, y: h - 4, "font-size": 10, fill: "#5d6770", "text-anchor": "end" });
    span.textContent = "last " + Math.round(t1 - t0) + " s";
    svg.appendChild(span);
    var legend = legendId ? document.getElementById(legendId) : null;
    if (legend) { legend.replaceChildren(); }
    lines.forEach(function (line, i) {
      var color = COLORS[i % COLORS.length];
      if (line.points.length) {
        var d = line.points.map(function (p, j) {
          return (j ? "L" : "M") + x(p[0]).toFixed(1) + "," + y(p[1]).toFixed(1);
        }).join(" ");
        svg.appendChild(el("path", { d: d, fill: "none", stroke: color, "stroke-width": 1.8,
          "class": "series", "data-name": line.name }));
      }
      if (legend) {
        var item = document.createElement("span");
        var swatch = document.createElement("i");
        swatch.style.background = color;
        item.appendChild(swatch);
        item.appendChild(document.createTextNode(line.name));
        legend.appendChild(item);
      }
    });
  }

  function barChart(svgId, bars) {
    var svg = document.getElementById(svgId);
    if (!svg) { return; }
    svg.replaceChildren();
    var height = svg.viewBox.baseVal.height || 150;
    var rowH = Math.min(height / Math.max(bars.length, 1), 30);
    var max = Math.max.apply(null, bars.map(function (b) { return b.value; }).concat([1]));
    bars.forEach(function (b, i) {
      var yy = i * rowH;
      var label = el("text", { x: 0, y: yy + rowH * 0.65, "font-size": 11, fill: "#1d232a" });
      label.textContent = b.name;
      svg.appendChild(label);
      var width = 220 * b.value / max;
      svg.appendChild(el("rect", { x: 90, y: yy + rowH * 0.15, width: Math.max(width, 0.5),
        height: rowH * 0.7, fill: COLORS[i % COLORS.length] }));
      var value = el("text", { x: 95 + width, y: yy + rowH * 0.65, "font-size": 11, fill: "#5d6770" });
      value.textContent = b.label;
      svg.appendChild(value);
    });
  }

  function render(ops) {
    var names = Object.keys(ops.series).sort();
    lineChart("chart-throughput", "legend-throughput", names.map(function (n) {
      return { name: n, points: ops.series[n].map(function (p) { return [p.t, p.rate]; }) };
    }));
    lineChart("chart-latency", "legend-latency", names.map(function (n) {
      return { name: n, points: ops.series[n].map(function (p) { return [p.t, 1000 * p.seconds_per_message]; }) };
    }));
    var topics = Object.keys(ops.lag).sort();
    lineChart("chart-lag", "legend-lag", topics.map(function (topic) {
      return { name: topic, points: ops.lag_series.filter(function (s) { return topic in s; })
        .map(function (s) { return [s.t, s[topic]]; }) };
    }));
    var body = document.querySelector("#stage-table tbody");
    if (body) {
      body.replaceChildren();
      Object.keys(ops.totals).sort().forEach(function (name) {
        var series = ops.series[name] || [];
        var now = series.length ? series[series.length - 1].rate : 0;
        series.forEach(function (p) { peaks[name] = Math.max(peaks[name] || 0, p.rate); });
        var total = ops.totals[name];
        var row = document.createElement("tr");
        row.setAttribute("data-stage", name);
        [[name, ""], [String(Math.round(total.messages)), "total"], [fmt(now), "rate"],
         [fmt(peaks[name] || 0), "peak"],
         [fmt(total.messages ? 1000 * total.batch_seconds / total.messages : 0), "latency"]]
          .forEach(function (cell) {
            var td = document.createElement("td");
            td.textContent = cell[0];
            if (cell[1]) { td.className = cell[1]; }
            row.appendChild(td);
          });
        body.appendChild(row);
      });
    }
    text("story-updates", String(Math.round(ops.story_updates)));
    text("stories-active", String(ops.stories.active));
    text("stories-dormant", String(ops.stories.dormant));
    text("stories-merged", String(ops.stories.merged));
    text("read-model", ops.read_model.caught_up ? "current" : "catching up");
    barChart("chart-stories", [
      { name: "active", value: ops.stories.active, label: String(ops.stories.active) },
      { name: "dormant", value: ops.stories.dormant, label: String(ops.stories.dormant) }
    ]);
    var kinds = Object.keys(ops.duplicates.counts);
    barChart("chart-dups", kinds.map(function (k) {
      return { name: k, value: ops.duplicates.counts[k],
        label: ops.duplicates.counts[k] + " (" + (100 * ops.duplicates.rates[k]).toFixed(0) + "%)" };
    }));
    text("dups-total", String(ops.duplicates.total));
    text("dead-count", String(ops.dead_letters.count));
    var reasons = document.getElementById("dead-reasons");
    if (reasons) {
      reasons.replaceChildren();
      ops.dead_letters.latest.forEach(function (d) {
        var li = document.createElement("li");
        var stage = document.createElement("strong");
        stage.textContent = d.stage;
        li.appendChild(stage);
        li.appendChild(document.createTextNode(": " + d.reason));
        reasons.appendChild(li);
      });
      if (!ops.dead_letters.latest.length) {
        var none = document.createElement("li");
        none.className = "meta";
        none.textContent = "none";
        reasons.appendChild(none);
      }
    }
    if (ops.feeds) {
      var polls = ops.feeds.polls || {};
      text("feeds-count", String(ops.feeds.feeds));
      text("feeds-ok", String(polls.ok || 0));
      text("feeds-304", String(polls.not_modified || 0));
      text("feeds-errors", String(polls.error || 0));
      text("feeds-failing", String(ops.feeds.failing));
      text("feeds-p50", ops.feeds.fetch_seconds.p50 === null ? "–" : String(ops.feeds.fetch_seconds.p50));
      text("feeds-p95", ops.feeds.fetch_seconds.p95 === null ? "–" : String(ops.feeds.fetch_seconds.p95));
      var kindsList = document.getElementById("feeds-error-kinds");
      if (kindsList) {
        kindsList.replaceChildren();
        Object.keys(ops.feeds.errors).sort().forEach(function (k) {
          var li = document.createElement("li");
          var strong = document.createElement("strong");
          strong.textContent = k;
          li.appendChild(strong);
          li.appendChild(document.createTextNode(": " + ops.feeds.errors[k]));
          kindsList.appendChild(li);
        });
      }
    }
    document.body.setAttribute("data-ops-rendered", String(ops.now));
  }

  function poll() {
    fetch("/api/ops").then(function (r) { return r.json(); }).then(render)
      .catch(function () {}).then(function () { setTimeout(poll, 2000); });
  }
  poll();
})();
