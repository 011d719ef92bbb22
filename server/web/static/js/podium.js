/* Podium pages: local times, countdowns and the self-refreshing leaderboard.
 * No framework, no build step. User data is only ever written with textContent. */
(function () {
  "use strict";

  var localFormat = new Intl.DateTimeFormat(undefined, {
    year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit",
    timeZoneName: "short"
  });

  function plural(count, unit) {
    return count + " " + unit + (count === 1 ? "" : "s");
  }

  function timeLeft(deadline, now) {
    var seconds = Math.floor((deadline - now) / 1000);
    if (seconds <= 0) return "deadline passed";
    var days = Math.floor(seconds / 86400);
    var hours = Math.floor((seconds % 86400) / 3600);
    var minutes = Math.floor((seconds % 3600) / 60);
    if (days) return plural(days, "day") + " " + plural(hours, "hour") + " left";
    if (hours) return plural(hours, "hour") + " " + plural(minutes, "minute") + " left";
    if (minutes) return plural(minutes, "minute") + " left";
    return plural(seconds, "second") + " left";
  }

  function timeAgo(date, now) {
    var seconds = Math.floor((now - date) / 1000);
    if (seconds < 60) return "just now";
    if (seconds < 3600) return Math.floor(seconds / 60) + " min ago";
    if (seconds < 86400) return Math.floor(seconds / 3600) + " h ago";
    return plural(Math.floor(seconds / 86400), "day") + " ago";
  }

  function formatScore(value, digits) {
    if (value === null || value === undefined || isNaN(value)) return "–";
    return Number(value).toFixed(digits === undefined ? 5 : digits);
  }

  /* <time class="local-time"> keeps UTC as its text and gets the viewer's local time as a
   * tooltip; with class "with-local" the local time is also shown next to it. */
  function localizeTimes(root) {
    root.querySelectorAll("time.local-time, time.relative-time").forEach(function (el) {
      var date = new Date(el.getAttribute("datetime"));
      if (isNaN(date)) return;
      el.title = localFormat.format(date) + " (your time)";
      // Readers on UTC already see their time.
      if (el.classList.contains("with-local") && !el.dataset.localized && date.getTimezoneOffset() !== 0) {
        var local = document.createElement("span");
        local.className = "local muted";
        local.textContent = " · " + localFormat.format(date) + " your time";
        el.after(local);
        el.dataset.localized = "1";
      }
    });
  }

  function tick() {
    var now = Date.now();
    document.querySelectorAll("[data-deadline]").forEach(function (el) {
      var deadline = new Date(el.dataset.deadline);
      if (!isNaN(deadline)) el.textContent = timeLeft(deadline, now);
    });
    document.querySelectorAll("time.relative-time").forEach(function (el) {
      var date = new Date(el.getAttribute("datetime"));
      if (!isNaN(date)) el.textContent = timeAgo(date, now);
    });
  }

  function cell(row, text, className) {
    var td = document.createElement("td");
    td.textContent = text;
    if (className) td.className = className;
    row.appendChild(td);
    return td;
  }

  function moveCell(row, move) {
    if (move === null || move === undefined) return cell(row, "new", "num move same");
    if (move > 0) return cell(row, "▲ " + move, "num move up");
    if (move < 0) return cell(row, "▼ " + (-move), "num move down");
    return cell(row, "–", "num move same");
  }

  function LiveBoard(table) {
    this.table = table;
    this.body = table.tBodies[0];
    this.wrap = table.closest(".board-wrap");
    this.empty = this.wrap.querySelector(".board-empty");
    this.status = this.wrap.querySelector(".board-status");
    this.source = table.dataset.source;
    this.teamBase = table.dataset.teamBase;
    this.isPrivate = table.dataset.board === "private";
    this.efficiency = table.dataset.efficiency === "1";
    this.interval = Math.max(1, Number(table.dataset.refreshSeconds) || 5) * 1000;
    this.scores = this.currentScores();
    this.generatedAt = null;
  }

  LiveBoard.prototype.currentScores = function () {
    var scores = new Map();
    Array.prototype.forEach.call(this.body.rows, function (row) {
      var team = row.querySelector("td.team");
      var score = row.querySelector("td.score");
      if (team && score && score.firstChild) scores.set(team.textContent, score.firstChild.textContent);
    });
    return scores;
  };

  LiveBoard.prototype.render = function (board) {
    var self = this;
    var now = Date.now();
    var fresh = document.createDocumentFragment();
    var scores = new Map();
    // Baseline rows go just above the first team they beat (below the teams on a tie).
    var sign = board.greater_is_better === false ? -1 : 1;
    var pending = (board.baselines || []).slice().sort(function (a, b) { return sign * (b.score - a.score); });
    function baselineRow(baseline) {
      var row = document.createElement("tr");
      row.className = "baseline-row";
      cell(row, "–", "num rank").title = "Baselines are not ranked";
      if (self.isPrivate) cell(row, "", "num move");
      var name = cell(row, baseline.label, "team baseline");
      if (baseline.description) name.title = baseline.description;
      cell(row, formatScore(baseline.score), "num score");
      cell(row, "", "num hide-narrow");
      cell(row, "", "hide-narrow");
      if (self.efficiency) {
        cell(row, "", "num hide-narrow eff");
        cell(row, "", "num hide-narrow eff");
        cell(row, "", "num hide-narrow eff");
      }
      fresh.appendChild(row);
    }
    board.entries.forEach(function (entry) {
      while (pending.length && sign * pending[0].score > sign * entry.score) baselineRow(pending.shift());
      var row = document.createElement("tr");
      row.className = "rank-" + entry.rank;
      cell(row, String(entry.rank), "num rank");
      if (self.isPrivate) moveCell(row, entry.move);
      var team = cell(row, "", "team");
      var link = document.createElement("a");
      link.href = self.teamBase + encodeURIComponent(entry.team);
      link.textContent = entry.team;
      team.appendChild(link);
      var score = cell(row, formatScore(entry.score), "num score");
      if (entry.ci_halfwidth !== null && entry.ci_halfwidth !== undefined) {
        var ci = document.createElement("span");
        ci.className = "ci";
        ci.textContent = " ± " + formatScore(entry.ci_halfwidth, 4);
        score.appendChild(ci);
      }
      if (entry.tied_with_next) {
        var tie = document.createElement("span");
        tie.className = "tie";
        tie.title = "Not significantly ahead of the next team (95% paired bootstrap on the public rows)";
        tie.textContent = "≈";
        score.appendChild(tie);
      }
      (board.metrics || []).slice(1).forEach(function (metric) {
        var value = entry.extra_scores ? entry.extra_scores[metric] : null;
        cell(row, value === null || value === undefined ? "–" : formatScore(value), "num extra-metric");
      });
      cell(row, String(entry.submissions), "num hide-narrow");
      var last = cell(row, "", "hide-narrow");
      if (entry.last_submission_at) {
        var time = document.createElement("time");
        time.className = "relative-time";
        time.setAttribute("datetime", entry.last_submission_at);
        time.textContent = timeAgo(new Date(entry.last_submission_at), now);
        last.appendChild(time);
      }
      if (self.efficiency) {
        cell(row, entry.parameter_count === null ? "–" : entry.parameter_count.toLocaleString(), "num hide-narrow eff");
        cell(row, formatScore(entry.inference_seconds_per_1k, 3), "num hide-narrow eff");
        cell(row, formatScore(entry.peak_memory_mb, 1), "num hide-narrow eff");
      }
      var shown = formatScore(entry.score);
      if (self.scores.get(entry.team) !== shown) row.classList.add("changed");
      scores.set(entry.team, shown);
      fresh.appendChild(row);
    });
    pending.forEach(baselineRow);
    this.body.replaceChildren(fresh);
    this.scores = scores;
    this.empty.classList.toggle("hidden", board.entries.length + (board.baselines || []).length > 0);
    localizeTimes(this.body);
  };

  LiveBoard.prototype.poll = function () {
    var self = this;
    if (document.hidden) return self.schedule();
    fetch(self.source, { headers: { Accept: "application/json" }, credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (board) {
        if (board.generated_at !== self.generatedAt) {
          self.generatedAt = board.generated_at;
          self.render(board);
        }
        self.status.textContent = "Updated " + new Date().toLocaleTimeString() + "; refreshes every " + self.interval / 1000 + " s.";
        if (board.state === "finalized") {
          self.status.textContent = "Final results.";
          return;
        }
        self.schedule();
      })
      .catch(function () {
        self.status.textContent = "Offline? Retrying…";
        self.schedule();
      });
  };

  LiveBoard.prototype.schedule = function () {
    var self = this;
    window.setTimeout(function () { self.poll(); }, self.interval);
  };

  function start() {
    localizeTimes(document);
    tick();
    window.setInterval(tick, 1000);
    document.querySelectorAll("table.leaderboard[data-source]").forEach(function (table) {
      if (table.dataset.live !== "1") return;
      var board = new LiveBoard(table);
      table.podiumBoard = board;
      board.schedule();
    });
  }

  window.Podium = { formatScore: formatScore, timeAgo: timeAgo, timeLeft: timeLeft };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
