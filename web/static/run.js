// Live updates of a run page (orch web UI). While the run is going, polls
// /runs/{id}/live every second and swaps in what the server rendered: the status, the
// times, the Terminate/Re-execute buttons, the step timeline (SVG) and the new event-log rows. The server escapes all of it;
// this script builds nothing from data. Stops when the run has ended; backs off on errors.
(function () {
  'use strict';
  var root = document.getElementById('run');
  if (!root || root.dataset.live !== 'true') {
    return;
  }
  var runId = root.dataset.run;
  var tail = root.dataset.tail === 'true';
  // A page that does not end the log so far gets no rows appended (they belong to later pages).
  var after = tail ? root.dataset.after : '9223372036854775807';
  var status = document.getElementById('run-status');
  var timeline = document.getElementById('timeline-wrap');
  var rows = document.getElementById('event-rows');
  var duration = document.getElementById('run-duration');
  var started = document.getElementById('run-started');
  var ended = document.getElementById('run-ended');
  var actions = document.getElementById('run-actions');
  var delay = 1000;

  function finish() {
    root.dataset.live = 'false';
  }

  function poll() {
    var url = '/runs/' + encodeURIComponent(runId) + '/live?after=' + encodeURIComponent(after);
    fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/json' } })
      .then(function (response) {
        if (!response.ok) {
          throw new Error('HTTP ' + response.status);
        }
        return response.json();
      })
      .then(function (live) {
        status.textContent = live.status;
        status.setAttribute('data-status', live.status);
        status.className = 'status ' + live.status_class;
        duration.textContent = live.duration;
        started.textContent = live.started_at;
        ended.textContent = live.ended_at;
        actions.innerHTML = live.actions;
        timeline.innerHTML = live.timeline;
        if (tail) {
          rows.insertAdjacentHTML('beforeend', live.events);
          after = String(live.after);
        }
        delay = 1000;
        if (live.ended && !(tail && live.more)) {
          finish();
          return;
        }
        setTimeout(poll, tail && live.more ? 50 : delay);
      })
      .catch(function () {
        delay = Math.min(delay * 2, 15000);
        setTimeout(poll, delay);
      });
  }

  setTimeout(poll, delay);
})();

// The job page's "Materialize selected": a click on an asset of the graph adds it to (or
// removes it from) the selection field instead of opening the asset; Ctrl/Cmd-click still
// opens it.
(function () {
  'use strict';
  var form = document.getElementById('materialize-form');
  var field = document.getElementById('select');
  var graph = document.getElementById('asset-graph');
  if (!form || !field || !graph) {
    return;
  }
  function selected() {
    return field.value.split(',').map(function (s) { return s.trim(); }).filter(Boolean);
  }
  graph.addEventListener('click', function (event) {
    if (event.ctrlKey || event.metaKey) {
      return;
    }
    var node = event.target.closest('g[data-key]');
    if (!node) {
      return;
    }
    event.preventDefault();
    var key = node.getAttribute('data-key');
    var keys = selected();
    var at = keys.indexOf(key);
    if (at >= 0) {
      keys.splice(at, 1);
      node.classList.remove('node-selected');
    } else {
      keys.push(key);
      node.classList.add('node-selected');
    }
    field.value = keys.join(',');
  });
})();
