// A background job's live progress: polls the job's JSON state each second, moves the bar
// and the count, and reloads the page (for the final report) once the job has finished.
(function () {
  "use strict";
  var section = document.querySelector("[data-progress-url]");
  if (!section || !window.fetch) return;
  var url = section.getAttribute("data-progress-url");
  var bar = section.querySelector("[data-job-bar]");
  var count = section.querySelector("[data-job-count]");
  var badge = document.querySelector("[data-job-status]");
  var format = new Intl.NumberFormat();

  function show(state) {
    if (state.total) {
      bar.max = state.total;
      bar.value = state.done;
      count.textContent = format.format(state.done) + " of " + format.format(state.total) +
        " " + state.unit + " done (" + state.percent + "%).";
    }
    if (badge) badge.textContent = state.status_label;
  }

  function poll() {
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) { return response.json(); })
      .then(function (state) {
        show(state);
        if (state.finished || state.stalled) {
          window.location.reload();
        } else {
          window.setTimeout(poll, 1000);
        }
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  }
  window.setTimeout(poll, 500);
})();
