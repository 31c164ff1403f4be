// Progressive enhancement for /mitigations/: changing "Sort by" or "Per page" applies it at once.
// Without JavaScript the "Apply" button does the same.
document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
  select.addEventListener("change", function () {
    if (select.form) select.form.requestSubmit();
  });
});
